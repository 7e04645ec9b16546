// @tenzro/crypto — pure, IO-free building blocks. Runs in Node and in browsers: no `node:` imports.
export * from './encoding.js';
export * from './jcs.js';
export * from './hash.js';
export * from './random.js';
export * from './secret.js';
export * from './commitment.js';
export * from './signature.js';
export * from './hpke.js';
export * from './envelope.js';
export * from './merkle.js';
export * from './merkle-log.js';
export * from './cbor.js';
export * from './cose.js';
export * from './dp/index.js';
