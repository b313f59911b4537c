/** A small seeded PRNG (mulberry32, by Tommy Ettinger), so every simulator run can be replayed. */
export type Random = () => number;

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

/** A fixed value, or an integer drawn uniformly from the inclusive range. */
export function draw(value: number | readonly [number, number], random: Random): number {
  if (typeof value === 'number') return value;
  const [min, max] = value;
  return min + Math.floor(random() * (max - min + 1));
}
