/**
 * Durations as scenarios write them: `500ms`, `30s`, `5m`, `1h` (a space may
 * stand before the unit), or a bare number of seconds.
 */

/** A duration written with its unit. The scenario's JSON Schema carries this pattern as it is. */
export const DURATION_PATTERN = /^\d+(\.\d+)?\s*(ms|s|m|h)$/;

const MS_PER_UNIT = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A duration in milliseconds: text with its unit, or a number of seconds. Throws on text that is not a duration. */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  const match = DURATION_PATTERN.exec(value);
  if (!match) throw new Error(`"${value}" is not a duration such as "500ms", "30s" or "5m"`);
  return Number.parseFloat(value) * MS_PER_UNIT[match[2] as keyof typeof MS_PER_UNIT];
}
