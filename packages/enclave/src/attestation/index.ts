// The enclave's attestation providers (DESIGN §5.8).
export type { AttestationIssuer, IssueAttestationRequest } from './issuer.js';
export { SIMULATED_CA_FILE, SIMULATED_MODULE_ID, SIMULATED_ROOT_SUBJECT, SimulatedNsm, SimulatedNsmError } from './simulated-nsm.js';
export type { SimulatedNsmErrorCode, SimulatedNsmOptions } from './simulated-nsm.js';
