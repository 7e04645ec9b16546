// Gaussian noise for DP mechanisms: Box–Muller on uniforms in (0, 1) drawn from a caller-supplied source.
// The source decides the security: pass a CSPRNG-backed one (crypto.getRandomValues) for real releases.
import { requireNonNegative } from './args.js';

/** A source of uniform floats in [0, 1). */
export interface UniformSource {
  nextFloat(): number;
}

function requireSource(rng: unknown): UniformSource {
  if (typeof rng !== 'object' || rng === null || typeof (rng as UniformSource).nextFloat !== 'function') {
    throw new TypeError('rng must have a nextFloat() method');
  }
  return rng as UniformSource;
}

/** A uniform in the open interval (0, 1): draws from [0, 1) and redraws 0. */
function openUniform(rng: UniformSource): number {
  for (;;) {
    const u = rng.nextFloat();
    if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new RangeError('rng.nextFloat() must return a number in [0, 1)');
    if (u > 0) return u;
  }
}

/** One draw from N(0, sigma^2) (Box–Muller; the sine half is discarded). */
export function sampleGaussian(rng: UniformSource, sigma: number): number {
  const source = requireSource(rng);
  const s = requireNonNegative(sigma, 'sigma');
  const u1 = openUniform(source);
  const u2 = openUniform(source);
  return s * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** `length` independent draws from N(0, sigma^2), using both Box–Muller outputs. */
export function sampleGaussianVector(rng: UniformSource, sigma: number, length: number): Float64Array {
  const source = requireSource(rng);
  const s = requireNonNegative(sigma, 'sigma');
  if (!Number.isInteger(length) || length < 0) throw new RangeError('length must be a non-negative integer');
  const out = new Float64Array(length);
  for (let i = 0; i < length; i += 2) {
    const r = s * Math.sqrt(-2 * Math.log(openUniform(source)));
    const theta = 2 * Math.PI * openUniform(source);
    out[i] = r * Math.cos(theta);
    if (i + 1 < length) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
