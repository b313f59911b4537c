/**
 * SLO verdicts (METRICS.md, goodput): per request, did it meet every bound a
 * single request can meet; per cell, did the percentiles and the error rate
 * stay within their bounds.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { MetricName, RequestRecord, SloBound } from '../types.js';
import { METRICS } from './catalog.js';
import { extremesOf, METRIC_UNITS, percentileOf } from './histograms.js';
import { roundTo } from '../util/format.js';

const within = (value: number, bound: SloBound): boolean => (bound.direction === 'max' ? value <= bound.bound : value >= bound.bound);

/**
 * Whether one request met the SLO: it succeeded, and each bound on a metric it
 * has holds for its own value (`ttft_p95_ms: 500` → its TTFT ≤ 500 ms, as
 * vLLM's goodput reads it). A metric the request lacks (no TPOT for a
 * one-token reply) does not count against it.
 */
export function requestMeetsSlo(record: RequestRecord, slo: readonly SloBound[]): boolean {
  if (record.outcome !== 'ok') return false;
  for (const bound of slo) {
    if (bound.metric === 'error_rate') continue;
    const value = METRICS[bound.metric].value?.(record);
    if (value !== undefined && !within(value, bound)) return false;
  }
  return true;
}

/** One bound checked against a cell. */
export interface SloCheck {
  key: string;
  bound: number;
  direction: 'max' | 'min';
  /** The cell's value; undefined when it had no samples (which fails the check). */
  measured?: number;
  ok: boolean;
}

export interface SloVerdict {
  /** Every bound held. */
  met: boolean;
  checks: SloCheck[];
}

/** A statistic of a histogram: a percentile (0–100) or a summary value. */
export type HistogramStat = number | 'mean' | 'min' | 'max' | 'stdev' | 'count';

/** The cell's value of a statistic, from its histogram, in the metric's unit; undefined without samples. */
export function cellValue(histogram: Histogram, metric: MetricName, stat: HistogramStat | undefined): number | undefined {
  if (histogram.totalCount === 0) return undefined;
  const scale = METRIC_UNITS[metric].scale;
  switch (stat) {
    case 'count':
      return histogram.totalCount;
    case 'stdev':
      return histogram.stdDeviation / scale;
    case 'mean':
      return histogram.mean / scale;
    case 'min':
      return extremesOf(histogram, scale).min;
    case 'max':
      return extremesOf(histogram, scale).max;
    default:
      return percentileOf(histogram, scale, stat ?? 50);
  }
}

/** What besides the bounds decides a cell's verdict: the load it did not take, and whether it is valid. */
export interface CellLoadFacts {
  errorRate: number;
  /** Open-loop arrivals dropped at maxInFlight: load the deployment did not take. */
  dropped: number;
  /** Set when the cell is invalid: each value that broke its bound (metrics/client-health.ts), as a failed check. */
  invalidChecks?: readonly { check: string; measured: number; bound: number }[];
}

/**
 * Checks every bound against one cell's histograms and error rate. A cell
 * that dropped arrivals, or whose numbers describe the client (invalid), does
 * not meet the SLO either: those show as failed checks of their own.
 */
export function cellSloVerdict(slo: readonly SloBound[], histograms: Record<MetricName, Histogram>, facts: CellLoadFacts): SloVerdict {
  const checks = slo.map((bound): SloCheck => {
    const measured = bound.metric === 'error_rate' ? facts.errorRate : cellValue(histograms[bound.metric], bound.metric, bound.stat);
    return { key: bound.key, bound: bound.bound, direction: bound.direction, ...(measured !== undefined ? { measured } : {}), ok: measured !== undefined && within(measured, bound) };
  });
  if (facts.dropped > 0) checks.push({ key: 'dropped', bound: 0, direction: 'max', measured: facts.dropped, ok: false });
  for (const invalid of facts.invalidChecks ?? []) {
    checks.push({ key: invalid.check, bound: invalid.bound, direction: 'max', measured: invalid.measured, ok: false });
  }
  return { met: checks.every((check) => check.ok), checks };
}

/** "ttft_p95_ms 612.3 > 500" for the checks that failed. */
export function describeFailures(verdict: SloVerdict): string {
  return verdict.checks
    .filter((check) => !check.ok)
    .map((check) =>
      check.measured === undefined
        ? `${check.key}: no samples`
        : `${check.key} ${roundTo(check.measured)} ${check.direction === 'max' ? '>' : '<'} ${check.bound}`,
    )
    .join(', ');
}
