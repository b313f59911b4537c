/**
 * SLO keys: `METRIC_STAT[_ms]: bound`, e.g. `ttft_p95_ms: 500`,
 * `decode_tokens_per_s_p5: 20`, `error_rate: 0.01`.
 *
 *   key    := "error_rate" | metric "_" stat unit
 *   metric := any of METRIC_NAMES (ttft, tpot, itl, e2e, scheduled_ttft, …)
 *   stat   := "p" digits | "mean" | "min" | "max"   (p95 → 95, p999 → 99.9, p9999 → 99.99)
 *   unit   := "_ms" for times, nothing for token counts and rates
 *
 * A bound is a ceiling (value ≤ bound) where the catalog says lower is
 * better (times, token counts) and a floor (value ≥ bound) where higher is
 * (rates: `*_per_s`), so `decode_tokens_per_s_p5: 20` reads "95% of requests
 * decode at 20 tokens/s or faster".
 */
import { fieldName, METRIC_NAMES, METRICS, type MetricName } from '../metrics/catalog.js';
import type { SloBound } from '../types.js';

/** `p95` → 95, `p999` and `p99.9` → 99.9, `p5` → 5; undefined unless it is a percentile strictly between 0 and 100. */
export function parsePercentile(stat: string): number | undefined {
  const match = /^p(\d+)(\.\d+)?$/.exec(stat);
  if (!match) return undefined;
  const digits = match[1]!;
  if (match[2] !== undefined) {
    const value = Number(digits + match[2]);
    return value > 0 && value < 100 ? value : undefined;
  }
  // p100, p950: a trailing zero after the first two digits is a typo, not a decimal (p999 = 99.9).
  if (digits.length > 2 && digits.endsWith('0')) return undefined;
  const value = digits.length <= 2 ? Number(digits) : Number(`${digits.slice(0, 2)}.${digits.slice(2)}`);
  return value > 0 && value < 100 ? value : undefined;
}

/** Parses one SLO entry; a string is the problem with it. */
export function parseSloKey(key: string, bound: number): SloBound | string {
  if (key === 'error_rate') {
    return bound <= 1 ? { key, metric: 'error_rate', bound, direction: 'max' } : 'error_rate is a share from 0 to 1 (0.01 = 1%)';
  }
  const match = /^(.+)_(p\d+|mean|min|max)(_ms)?$/.exec(key);
  const metric = match?.[1] as MetricName | undefined;
  if (!match || metric === undefined || !METRIC_NAMES.includes(metric)) {
    return `unknown SLO key; write METRIC_STAT[_ms] (e.g. ttft_p95_ms, tpot_p99_ms, decode_tokens_per_s_p5) with METRIC one of ${METRIC_NAMES.join(', ')}, or error_rate`;
  }
  const statText = match[2]!;
  const stat = statText.startsWith('p') ? parsePercentile(statText) : (statText as 'mean' | 'min' | 'max');
  if (stat === undefined) return `${statText} is not a percentile between 0 and 100 (p50, p95, p99, p999 = 99.9)`;
  const { unit, better } = METRICS[metric];
  if (unit === 'ms' && match[3] === undefined) return `${metric} is a time: write ${fieldName(metric, statText)}`;
  if (unit !== 'ms' && match[3] !== undefined) return `${metric} is in ${unit}, not ms: write ${fieldName(metric, statText)}`;
  return { key, metric, stat, bound, direction: better === 'higher' ? 'min' : 'max' };
}
