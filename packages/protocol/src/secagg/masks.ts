// The masks of Bonawitz et al. CCS 2017 §4 (Figure 4, MaskedInputCollection):
//   y_u = x_u + PRG(b_u) + Σ_{v ∈ U2, v ≠ u} γ_uv · PRG(s_uv)   over Z_{2^32},
// with γ_uv = +1 if index(u) > index(v), −1 if index(u) < index(v), so every pairwise mask cancels in the
// sum; s_uv = KA.agree(s_u^SK, s_v^PK) bound to session and pair (pairwiseSeed, purpose "mask").
// SecAgg+ (Bell et al. CCS 2020) keeps the formula with the sum over v ∈ N(u) ∩ U2, the neighbours of u in
// its Harary graph (neighbours.ts); the masks still cancel edge by edge.

import { expandMask, pairwiseSeed, type SecretBytes } from '@tenzro/crypto';

export const SELF_MASK_DOMAIN = 'tenzro.secagg.self-mask/v1';
export const PAIRWISE_MASK_DOMAIN = 'tenzro.secagg.pairwise-mask/v1';

/** PRG(b_u): the self mask of `partyId`. */
export function selfMask(bSeed: Uint8Array, sessionId: string, partyId: string, length: number): Uint32Array {
  return expandMask(bSeed, length, `${SELF_MASK_DOMAIN}|${sessionId}|${partyId}`);
}

/** s_uv from u's s^SK and v's s^PK. */
export function maskSeed(sPrivateKey: Uint8Array | SecretBytes, peerSPublicKey: Uint8Array, sessionId: string, self: string, peer: string): Uint8Array {
  return pairwiseSeed(sPrivateKey, peerSPublicKey, { sessionId, parties: [self, peer], purpose: 'mask' });
}

/** PRG(s_uv): the pairwise mask (the same for both parties of the pair). */
export function pairwiseMask(seed: Uint8Array, length: number): Uint32Array {
  return expandMask(seed, length, PAIRWISE_MASK_DOMAIN);
}

/** γ_uv: +1 if u's index is above v's, else −1. */
export function maskSign(selfIndex: number, peerIndex: number): 1 | -1 {
  return selfIndex > peerIndex ? 1 : -1;
}

/** acc ← acc + sign · mask (mod 2^32), in place. */
export function accumulate(acc: Uint32Array, mask: Uint32Array, sign: 1 | -1): void {
  if (sign === 1) for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + mask[i]!;
  else for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! - mask[i]!;
}
