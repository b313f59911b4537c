/**
 * The one histogram factory (STYLE.md): HdrHistogram, 3 significant digits,
 * integer values in a fixed base unit per metric (microseconds for times).
 * Histograms leave a process only in HdrHistogram's compressed base64 form,
 * so runs and shards merge exactly.
 */
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

import { HISTOGRAM_METRICS, METRIC_NAMES, type MetricName } from './catalog.js';

export { METRIC_NAMES, type MetricName };

export interface MetricUnit {
  /** Unit of the values reported (ms, tokens, tokens/s). */
  unit: string;
  /** Recorded integer = reported value × scale (ms → µs is 1000). */
  scale: number;
}

/** Each metric's unit and scale, from the catalog. */
export const METRIC_UNITS = Object.fromEntries(
  HISTOGRAM_METRICS.map((metric): [MetricName, MetricUnit] => [metric.name, { unit: metric.unit, scale: metric.scale }]),
) as Record<MetricName, MetricUnit>;

export function createHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000, // one hour in µs; auto-resizes beyond
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false,
  });
}

/** Records a value given in the metric's reported unit. */
export function recordValue(histogram: Histogram, metric: MetricName, value: number, count = 1): void {
  const scaled = Math.max(0, Math.round(value * METRIC_UNITS[metric].scale));
  if (count === 1) histogram.recordValue(scaled);
  else histogram.recordValueWithCount(scaled, count);
}

export const encodeHistogram = (histogram: Histogram): string => hdr.encodeIntoCompressedBase64(histogram);
export const decodeHistogram = (encoded: string): Histogram => hdr.decodeFromCompressedBase64(encoded, 32, false);

/** The percentiles every summary reports (METRICS.md). */
export interface Stats {
  count: number;
  min: number;
  mean: number;
  stdev: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export function statsOf(histogram: Histogram, metric: MetricName): Stats | undefined {
  if (histogram.totalCount === 0) return undefined;
  const scale = METRIC_UNITS[metric].scale;
  const extremes = extremesOf(histogram, scale);
  const { min, max } = extremes;
  // The extremes once for all five percentiles: finding the min walks the histogram's buckets.
  const at = (percentile: number): number => percentileOf(histogram, scale, percentile, extremes);
  return {
    count: histogram.totalCount,
    min,
    mean: histogram.mean / scale,
    stdev: histogram.stdDeviation / scale,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max,
  };
}

/** The smallest and largest recorded values, exact (HdrHistogram tracks them apart from its buckets), in units of `scale`. */
export function extremesOf(histogram: Histogram, scale: number): { min: number; max: number } {
  const max = histogram.maxValue / scale;
  const min = histogram.getValueAtPercentile(0) === 0 ? 0 : Math.min(histogram.minNonZeroValue / scale, max);
  return { min, max };
}

/**
 * A percentile in units of `scale`. HdrHistogram gives the top of the value's
 * bucket (5 → 5.003 at 3 significant digits), which can lie beyond what was
 * recorded: it is clamped to [min, max], so no p99 ever exceeds the max.
 */
export function percentileOf(
  histogram: Histogram,
  scale: number,
  percentile: number,
  { min, max }: { min: number; max: number } = extremesOf(histogram, scale),
): number {
  return Math.min(max, Math.max(min, histogram.getValueAtPercentile(percentile) / scale));
}

/** One row of HdrHistogram's percentile distribution, in the metric's unit. */
export interface PercentileRow {
  value: number;
  percentile: number;
  totalCount: number;
  /** 1 / (1 - percentile); Infinity at the last row. */
  inversePercentile: number;
}

/** HdrHistogram's own percentile distribution (5 ticks per half distance), parsed from its CSV form. */
export function percentileDistribution(histogram: Histogram, metric: MetricName): PercentileRow[] {
  if (histogram.totalCount === 0) return [];
  const csv = histogram.outputPercentileDistribution(5, METRIC_UNITS[metric].scale, true as false);
  return csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [value, percentile, totalCount, inverse] = line.split(',');
      return {
        value: Number(value),
        percentile: Number(percentile),
        totalCount: Number(totalCount),
        inversePercentile: inverse === 'Infinity' ? Infinity : Number(inverse),
      };
    });
}
