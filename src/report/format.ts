/** How numbers read in tables: shared by the report, the side-by-side tables and the CI verdicts. */

/** Numbers in tables: HdrHistogram keeps 3 significant digits, so 4 shown are faithful; no float noise. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  return String(Number(value.toPrecision(4)));
}

/** A relative change with its sign: `+12.3%`, `-4.0%`. */
export const signedPercent = (share: number): string => `${share >= 0 ? '+' : ''}${(share * 100).toFixed(1)}%`;
