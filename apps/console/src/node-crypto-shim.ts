// @hpke/common falls back to `await import("crypto")` (Node) when globalThis.crypto is missing. In the
// browser WebCrypto is always there; this stands in for that import so no Node module enters the bundle.
export const webcrypto = globalThis.crypto;
export default { webcrypto };
