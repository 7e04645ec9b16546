// @tenzro/protocol — this product's statements and wire formats. Pure: runs in Node and in browsers.
export * from './errors.js';
export * from './ids.js';
export * from './primitives.js';
export * from './terms.js';
export * from './consent.js';
export * from './report.js';
export * from './framing.js';
export * from './channel.js';
export * from './session-state.js';
export * from './api.js';
export * from './attestation/index.js';
export * from './audit.js';
export * from './session-key.js';
export * from './catalogue.js';
export * from './secagg/index.js';
export * from './mpc/index.js';
export * from './events.js';
