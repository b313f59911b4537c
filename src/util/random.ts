/**
 * Seeded randomness, so a seed replays the same run: synthetic prompts and
 * poisson arrivals (load), bootstrap resamples (check), and the simulator's
 * replies (sim) all draw from here.
 */

/** Uniform draws in [0, 1). */
export type Random = () => number;

/** mulberry32, by Tommy Ettinger: a 32-bit state, fast, and plenty for lengths, word choices and resamples. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for one independent stream of a run (`deriveSeed(seed, 2, i)`), so
 * streams do not shift each other: each part is folded in with MurmurHash3's
 * 32-bit finalizer (fmix32, by Austin Appleby).
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let hash = fmix32(seed >>> 0);
  for (const part of parts) hash = fmix32((hash ^ Math.imul(part >>> 0, 0x9e3779b1)) >>> 0);
  return hash;
}

/** A fixed value as it is, or an integer drawn uniformly from the inclusive range `[min, max]` (one draw). */
export function drawInteger(value: number | readonly [number, number], random: Random): number {
  if (typeof value === 'number') return value;
  const [min, max] = value;
  return min + Math.floor(random() * (max - min + 1));
}

/** The items in an order shuffled from `random` (Fisher–Yates, Durstenfeld's in-place form); `items` is left as it is. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const order = [...items];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A standard normal draw (Box–Muller, one of the pair): two uniform draws. */
export function drawNormal(random: Random): number {
  // 1 - u is in (0, 1], so the log is finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * A draw from Gamma(shape, 1) (mean `shape`), shape > 0: Marsaglia and Tsang's
 * squeeze-and-reject method ("A simple method for generating gamma variables",
 * ACM TOMS 26(3), 2000); for shape < 1, their boost: Gamma(shape + 1) · u^(1/shape).
 */
export function drawGamma(shape: number, random: Random): number {
  if (shape < 1) return drawGamma(shape + 1, random) * (1 - random()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = drawNormal(random);
    const cube = 1 + c * x;
    if (cube <= 0) continue;
    const v = cube ** 3;
    const u = 1 - random();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}
