// Field-choice micro-benchmark for the `mpc` method (run by hand: `node packages/crypto/src/mpc/field-choice.bench.mjs`).
// Not part of npm test. Measures element-wise add and multiply mod p over vectors of 100,000 elements for
// the candidates of issue 5, and the cost of one multiplication in a residue number system (RNS) of L
// small primes with as many bits as GF(2^127 − 1) or more. Results are quoted in field.ts.
const N = 100_000;
const REPS = 30;

function time(label, fn) {
  for (let i = 0; i < 5; i++) fn(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < REPS; i++) fn();
  const ns = ((performance.now() - t0) * 1e6) / (REPS * N);
  return { label, ns };
}

function randU32(n) {
  const out = new Uint32Array(n);
  for (let o = 0; o < n; o += 16384) crypto.getRandomValues(out.subarray(o, Math.min(n, o + 16384)));
  return out;
}

const results = [];

// 1. GF(2^61 − 1), BigInt in BigUint64Array.
{
  const P = (1n << 61n) - 1n;
  const a = new BigUint64Array(N), b = new BigUint64Array(N), c = new BigUint64Array(N);
  const r = randU32(4 * N);
  for (let i = 0; i < N; i++) { a[i] = ((BigInt(r[2 * i]) << 32n) | BigInt(r[2 * i + 1])) % P; b[i] = ((BigInt(r[2 * N + 2 * i]) << 32n) | BigInt(r[2 * N + 2 * i + 1])) % P; }
  results.push(time('GF(2^61−1) BigInt/BigUint64Array add', () => { for (let i = 0; i < N; i++) { const s = a[i] + b[i]; c[i] = s >= P ? s - P : s; } }));
  results.push(time('GF(2^61−1) BigInt/BigUint64Array mul', () => { for (let i = 0; i < N; i++) { const x = a[i] * b[i]; const y = (x & P) + (x >> 61n); c[i] = y >= P ? y - P : y; } }));
}

// 2. GF(2^127 − 1), BigInt in a plain Array, and as lo/hi BigUint64Array pairs.
{
  const P = (1n << 127n) - 1n;
  const a = new Array(N), b = new Array(N), c = new Array(N);
  const r = randU32(8 * N);
  const big = (o) => ((BigInt(r[o]) << 96n) | (BigInt(r[o + 1]) << 64n) | (BigInt(r[o + 2]) << 32n) | BigInt(r[o + 3])) % P;
  for (let i = 0; i < N; i++) { a[i] = big(4 * i); b[i] = big(4 * N + 4 * i); c[i] = 0n; }
  results.push(time('GF(2^127−1) BigInt/Array add', () => { for (let i = 0; i < N; i++) { const s = a[i] + b[i]; c[i] = s >= P ? s - P : s; } }));
  results.push(time('GF(2^127−1) BigInt/Array mul', () => { for (let i = 0; i < N; i++) { const x = a[i] * b[i]; const y = (x & P) + (x >> 127n); c[i] = y >= P ? y - P : y; } }));
  const M64 = (1n << 64n) - 1n;
  const alo = new BigUint64Array(N), ahi = new BigUint64Array(N), blo = new BigUint64Array(N), bhi = new BigUint64Array(N), clo = new BigUint64Array(N), chi = new BigUint64Array(N);
  for (let i = 0; i < N; i++) { alo[i] = a[i] & M64; ahi[i] = a[i] >> 64n; blo[i] = b[i] & M64; bhi[i] = b[i] >> 64n; }
  results.push(time('GF(2^127−1) BigInt/BigUint64Array-pair mul', () => {
    for (let i = 0; i < N; i++) {
      const x = ((ahi[i] << 64n) | alo[i]) * ((bhi[i] << 64n) | blo[i]);
      let y = (x & P) + (x >> 127n); if (y >= P) y -= P;
      clo[i] = y & M64; chi[i] = y >> 64n;
    }
  }));
}

// 3. GF(2^31 − 1), Numbers in Uint32Array, product by 16-bit splitting (every intermediate < 2^53).
{
  const P = 2147483647;
  const a = randU32(N).map((v) => v % P), b = randU32(N).map((v) => v % P), c = new Uint32Array(N);
  results.push(time('GF(2^31−1) Number add', () => { for (let i = 0; i < N; i++) { const s = a[i] + b[i]; c[i] = s >= P ? s - P : s; } }));
  results.push(time('GF(2^31−1) Number mul (16-bit split, %)', () => {
    for (let i = 0; i < N; i++) { const x = a[i], y = b[i]; const hi = ((x >>> 16) * y) % P; c[i] = (hi * 65536 + (x & 0xffff) * y) % P; }
  }));
  // Mersenne folding instead of %: x·y = hi·2^16 + lo·y; fold with 2^31 ≡ 1.
  results.push(time('GF(2^31−1) Number mul (16-bit split, Mersenne fold)', () => {
    for (let i = 0; i < N; i++) {
      const x = a[i], y = b[i];
      const t = (x >>> 16) * y; // < 2^46
      let h = (t % 2147483648) + Math.floor(t / 2147483648); // < 2^31 + 2^15
      h = h * 65536 + (x & 0xffff) * y; // < 2^48
      let z = (h % 2147483648) + Math.floor(h / 2147483648);
      if (z >= P) z -= P;
      c[i] = z;
    }
  }));
}

// 4. A prime below 2^26 (67108859), Numbers: a·b < 2^52 is exact, q = floor(a·b · (1/p)) is off by at most one.
for (const [label, Arr] of [['Uint32Array', Uint32Array], ['Float64Array', Float64Array]]) {
  const P = 67108859; const INV = 1 / P;
  const a = Arr.from(randU32(N), (v) => v % P), b = Arr.from(randU32(N), (v) => v % P), c = new Arr(N);
  results.push(time(`GF(67108859 < 2^26) Number/${label} add`, () => { for (let i = 0; i < N; i++) { const s = a[i] + b[i]; c[i] = s >= P ? s - P : s; } }));
  results.push(time(`GF(67108859 < 2^26) Number/${label} mul (float floor)`, () => {
    for (let i = 0; i < N; i++) { const x = a[i] * b[i]; let r = x - Math.floor(x * INV) * P; if (r < 0) r += P; else if (r >= P) r -= P; c[i] = r; }
  }));
}

for (const { label, ns } of results) console.log(`${label.padEnd(62)} ${ns.toFixed(2).padStart(8)} ns/element`);
const get = (l) => results.find((r) => r.label.startsWith(l)).ns;
console.log('\nPer 127+-bit element (RNS cost = L × one prime):');
console.log(`  GF(2^127−1) BigInt mul:          ${get('GF(2^127−1) BigInt/Array mul').toFixed(2)} ns  (127 bits)`);
console.log(`  RNS 5 × 31-bit primes, mul:      ${(5 * get('GF(2^31−1) Number mul (16-bit split, %)')).toFixed(2)} ns  (155 bits)`);
console.log(`  RNS 6 × 26-bit primes, mul:      ${(6 * get('GF(67108859 < 2^26) Number/Uint32Array mul')).toFixed(2)} ns  (156 bits)`);
