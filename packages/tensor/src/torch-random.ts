/**
 * PyTorch's CPU random numbers, bit for bit: the MT19937 engine behind `torch.Generator()` and the `torch.randperm`
 * algorithm run on it. Methods whose saved files omit random choices (WaveFT saves its coefficients but not where
 * they sit: PEFT redraws the locations from `random_loc_seed` on load) need exactly torch's draws to load a file.
 *
 * This is not the library's own generator (see `random.ts`), which is counter-based so that CPU and GPU agree.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/**
 * The 32-bit Mersenne Twister as PyTorch's `at::mt19937` runs it: seeded like `init_genrand` with the low 32 bits of
 * the seed (`torch.Generator().manual_seed(seed)`), standard tempering.
 */
export class MT19937 {
  private readonly state = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`MT19937: seed must be a safe integer, got ${seed}`);
    // torch takes the seed as uint64 and keeps its low 32 bits (for a negative seed: its two's complement).
    const s = this.state;
    s[0] = Number(BigInt.asUintN(32, BigInt(seed)));
    for (let j = 1; j < N; j++) {
      const prev = s[j - 1] ^ (s[j - 1] >>> 30);
      s[j] = (Math.imul(1812433253, prev) + j) >>> 0;
    }
  }

  private twist(): void {
    const s = this.state;
    let k = 0;
    for (; k < N - M; k++) {
      const y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK);
      s[k] = s[k + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; k < N - 1; k++) {
      const y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK);
      s[k] = s[k + M - N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (s[N - 1] & UPPER_MASK) | (s[0] & LOWER_MASK);
    s[N - 1] = s[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.index = 0;
  }

  /** The next 32-bit output (torch's `CPUGeneratorImpl::random()`), as a number in [0, 2^32). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * torch's `random64()`: two consecutive outputs, the first as the high word, reduced modulo `m` (< 2^31) without
   * leaving exact double arithmetic.
   */
  nextUint64Mod(m: number): number {
    const hi = this.nextUint32();
    const lo = this.nextUint32();
    // Below 2^26 the product of two residues stays under 2^53, so it is exact as it is.
    const h = m < 67108864 ? ((hi % m) * (4294967296 % m)) % m : mulMod(hi % m, 4294967296 % m, m);
    return (h + (lo % m)) % m;
  }
}

/** a·b mod m for a, b < m < 2^31, exact in doubles (split a into 16-bit halves). */
function mulMod(a: number, b: number, m: number): number {
  const aHi = Math.floor(a / 65536);
  const aLo = a % 65536;
  return (((aHi * b) % m) * 65536 + aLo * b) % m;
}

/** torch's CPU randperm switches algorithm at this size (`n < UINT32_MAX / 20`). */
export const RANDPERM_SMALL_LIMIT = Math.floor(4294967295 / 20);

/**
 * `torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:count]` on CPU, exactly.
 *
 * For n below {@link RANDPERM_SMALL_LIMIT} torch swaps `r[i]` with `r[i + random() % (n - i)]` for i = 0 … n − 2;
 * from it on it runs the inside-out Fisher–Yates shuffle with `random64() % (i + 1)`. Only the first `count`
 * entries are computed and kept (the first `count` swaps settle them; later steps of the inside-out shuffle only
 * write positions below `count` through values), so the cost is O(count) memory.
 */
export function torchRandperm(n: number, seed: number, count = n): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(`torchRandperm: n must be an integer in [0, 2^31), got ${n}`);
  }
  if (!Number.isInteger(count) || count < 0 || count > n) {
    throw new RangeError(`torchRandperm: count must be an integer in [0, n = ${n}], got ${count}`);
  }
  const gen = new MT19937(seed);
  const head = new Int32Array(count);
  if (n < RANDPERM_SMALL_LIMIT) {
    for (let j = 0; j < count; j++) head[j] = j;
    // Positions at or beyond `count` that a swap has touched (the others still hold their own index).
    const tail = new Map<number, number>();
    const steps = Math.min(count, n - 1);
    for (let i = 0; i < steps; i++) {
      const j = i + (gen.nextUint32() % (n - i));
      if (j === i) continue;
      const vi = head[i];
      if (j < count) {
        head[i] = head[j];
        head[j] = vi;
      } else {
        head[i] = tail.get(j) ?? j;
        tail.set(j, vi);
      }
    }
    return head;
  }
  for (let i = 0; i < n; i++) {
    const z = gen.nextUint64Mod(i + 1);
    if (i < count) {
      head[i] = head[z];
      head[z] = i;
    } else if (z < count) {
      head[z] = i;
    }
  }
  return head;
}
