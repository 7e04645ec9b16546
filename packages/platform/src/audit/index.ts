// platform.audit: the verifiable audit trail, seen from a party (issue 3).
export { AuditClient, LOG_KEY_PATH } from './client.js';
export type { AuditClientContext, VerifySessionOptions } from './client.js';
export { AuditLogError } from './errors.js';
export type { AuditLogErrorCode } from './errors.js';
export { AUDIT_STORE_METHODS, AuditStoreError, FileAuditStore, MemoryAuditStore } from './store.js';
export type { AuditStore, SessionMemory } from './store.js';
export { compareTreeHeads, isConsistent, verifyTreeHeadSignature } from './tree-head.js';
export type { TreeHeadComparison } from './tree-head.js';
export { DELETION_GRACE_MS, termsHash, verifySessionEvidence } from './verify-session.js';
export type { EvidenceTrust, SessionEvidence } from './verify-session.js';
