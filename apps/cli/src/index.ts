// The CLI's commands as functions, for tests and scripts.
export { auditVerify, auditWatch, defaultAuditStorePath } from './commands/audit.js';
export { agent, defaultSecAggStateDir, type AgentOptions } from './commands/agent.js';
export { DEMO_METHODS, demo, type DemoMethod, type DemoOptions } from './commands/demo.js';
export { FileSecAggStateStore } from './secagg-store.js';
export { keygen } from './commands/keygen.js';
export { measure } from './commands/measure.js';
export { readDevCredentials, credentialsPath, type DevCredentials, type DevParty } from './credentials.js';
