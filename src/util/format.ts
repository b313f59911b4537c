/**
 * How numbers read in every output: CSV and JSON cells, the tables of the
 * report, the terminal and the CI verdicts. One place, so the same value
 * reads the same everywhere.
 */

import type { LoadIdentity } from './load-level.js';

/** `value` rounded to `decimals` places (3 by default: µs for ms values), without float noise such as 0.30000000000000004. */
export function roundTo(value: number, decimals = 3): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** `roundTo` as text: `612.345`, `0.1`, `2`. */
export function roundedText(value: number, decimals = 3): string {
  return String(roundTo(value, decimals));
}

/** A CSV cell: `roundedText`, or empty where there is no finite value. */
export function csvNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  return roundedText(value);
}

/** A JSON value: `roundTo`, or null where there is no value. */
export function jsonNumber(value: number | undefined): number | null {
  return value === undefined ? null : roundTo(value);
}

/** Numbers in report tables: HdrHistogram keeps 3 significant digits, so 4 shown are faithful; `—` where there is none. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  return String(Number(value.toPrecision(4)));
}

/** Fixed decimals for the terminal's columns (`612.3`), `-` where there is no value. */
export function fixedOrDash(value: number | undefined, digits = 1): string {
  return value === undefined ? '-' : value.toFixed(digits);
}

/** A share as a percentage: `12.3%`. */
export function percent(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`;
}

/** A relative change with its sign: `+12.3%`, `-4.0%`. */
export function signedPercent(share: number, digits = 1): string {
  return `${share >= 0 ? '+' : ''}${percent(share, digits)}`;
}

/** A difference of two proportions in percentage points, with its sign: `+1.6pp`. */
export function signedPoints(share: number): string {
  return `${share >= 0 ? '+' : ''}${(share * 100).toFixed(1)}pp`;
}

/**
 * How a load level reads in tables and charts: `c=8` for closed-loop concurrency, `4 req/s` for an
 * open-loop rate, `1→20 req/s over 60s` for a ramp, `trace ×2 (3.1 req/s)` for a replayed trace.
 */
export function loadLabel(load: LoadIdentity): string {
  if (load.kind === 'concurrency') return `c=${load.value}`;
  if (load.ramp) return `${load.value}→${load.ramp.toRate} req/s over ${roundedText(load.ramp.overMs / 1000)}s`;
  if (load.trace) return `trace ×${load.trace.speedup} (${formatNumber(load.value)} req/s)`;
  return `${load.value} req/s`;
}

/** How the report and the terminal name a cell: `model @ c=8`, with `#2` for a repeat. */
export function cellName(cell: { model: string; load: LoadIdentity; repeat?: number | undefined }): string {
  return `${cell.model} @ ${loadLabel(cell.load)}${cell.repeat !== undefined ? ` #${cell.repeat}` : ''}`;
}
