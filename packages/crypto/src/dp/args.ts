// Argument checks shared by the DP entry points: TypeError for a wrong type, RangeError for a value
// out of range, the argument's name first in the message.

export function requireObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an options object`);
  }
  return value as Record<string, unknown>;
}

export function requireNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name} must be a number`);
  return value;
}

export function requireFinite(value: unknown, name: string): number {
  const n = requireNumber(value, name);
  if (!Number.isFinite(n)) throw new RangeError(`${name} must be finite`);
  return n;
}

/** A number in the closed interval [lo, hi]. */
export function requireInRange(value: unknown, name: string, lo: number, hi: number): number {
  const n = requireFinite(value, name);
  if (n < lo || n > hi) throw new RangeError(`${name} must be in [${lo}, ${hi}]`);
  return n;
}

export function requirePositive(value: unknown, name: string): number {
  const n = requireFinite(value, name);
  if (!(n > 0)) throw new RangeError(`${name} must be > 0`);
  return n;
}

export function requireNonNegative(value: unknown, name: string): number {
  const n = requireFinite(value, name);
  if (n < 0) throw new RangeError(`${name} must be >= 0`);
  return n;
}

export function requireNonNegativeInteger(value: unknown, name: string): number {
  const n = requireFinite(value, name);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return n;
}

export function requirePositiveInteger(value: unknown, name: string): number {
  const n = requireFinite(value, name);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}

/** A non-empty array of RDP orders, each >= 1 (Infinity allowed). */
export function requireOrders(value: unknown, name: string): readonly number[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of numbers`);
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  for (const [i, order] of value.entries()) {
    if (typeof order !== 'number' || Number.isNaN(order)) throw new TypeError(`${name}[${i}] must be a number`);
    if (order < 1) throw new RangeError(`${name}[${i}] must be >= 1`);
  }
  return value as readonly number[];
}

export function requireOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new TypeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}
