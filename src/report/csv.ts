/** CSV renderers: pure functions of the cell summaries. */
import { stringify } from 'csv-stringify/sync';
import { SPREAD_METRICS, type CellSummary } from '../metrics/cell-summary.js';
import { METRIC_NAMES, METRIC_UNITS, percentileDistribution, type MetricName, type Stats } from '../metrics/histograms.js';
import { describeFailures } from '../metrics/slo.js';
import { csvNumber } from '../util/format.js';

const SUMMARY_METRICS: readonly MetricName[] = ['ttft', 'tpot', 'itl', 'e2e'];
const SUMMARY_STATS: readonly (keyof Stats)[] = ['p50', 'p90', 'p95', 'p99', 'mean', 'max'];
/** The rest of METRICS.md's percentiles, after the columns the issue fixed. */
const EXTRA_STATS: readonly (keyof Stats)[] = ['p999', 'min', 'stdev'];

/** summary.csv: one row per cell. */
export function renderSummaryCsv(cells: readonly CellSummary[]): string {
  const header = [
    'model',
    'concurrency',
    'requests',
    'ok',
    'errors',
    'output_tokens_per_s',
    'requests_per_s',
    ...SUMMARY_METRICS.flatMap((metric) => SUMMARY_STATS.map((stat) => `${metric}_${stat}_ms`)),
    'interrupted',
    'error_rate',
    'window_s',
    'tokens_per_chunk_mean',
    'tokens_per_chunk_max',
    'ttfb_p50_ms',
    'tokenizer',
    'token_sources',
    'usage_mismatch_rate',
    'usage_mismatch_mean',
    'errors_by_class',
    ...SUMMARY_METRICS.flatMap((metric) => EXTRA_STATS.map((stat) => `${metric}_${stat}_ms`)),
    'schedule_lag_p99_ms',
    'ttfo_p50_ms',
    'ttfo_p95_ms',
    'reasoning_tokens_mean',
    'server_ttft_p50_ms',
    'ttft_minus_server_p50_ms',
    'server_e2e_p50_ms',
    'e2e_minus_server_p50_ms',
    'rate_rps',
    'dropped',
    'good_requests',
    'goodput_rps',
    'slo_met',
    'slo_failures',
    'valid',
    'invalid_reason',
    'scheduled_ttft_p95_ms',
    'scheduled_e2e_p95_ms',
    'repeat',
    ...SPREAD_METRICS.flatMap((metric) => [`${metric}_repeat_min`, `${metric}_repeat_max`, `${metric}_repeat_cv`]),
  ];
  const rows = cells.map((cell) => [
    cell.model,
    cell.load.kind === 'concurrency' ? cell.load.value : '',
    cell.requests,
    cell.ok,
    cell.errors,
    csvNumber(cell.outputTokensPerS),
    csvNumber(cell.requestsPerS),
    ...SUMMARY_METRICS.flatMap((metric) => SUMMARY_STATS.map((stat) => csvNumber(cell.stats[metric]?.[stat]))),
    cell.interrupted,
    csvNumber(cell.errorRate),
    csvNumber(cell.windowS),
    csvNumber(cell.stats.tokens_per_chunk?.mean),
    csvNumber(cell.stats.tokens_per_chunk?.max),
    csvNumber(cell.stats.ttfb?.p50),
    cell.tokenizer,
    formatCounts(cell.tokenSources),
    csvNumber(cell.usageMismatchRate),
    csvNumber(cell.usageMismatchMean),
    formatCounts(cell.errorsByClass),
    ...SUMMARY_METRICS.flatMap((metric) => EXTRA_STATS.map((stat) => csvNumber(cell.stats[metric]?.[stat]))),
    csvNumber(cell.stats.schedule_lag?.p99),
    csvNumber(cell.stats.ttfo?.p50),
    csvNumber(cell.stats.ttfo?.p95),
    csvNumber(cell.stats.reasoning_tokens?.mean),
    csvNumber(cell.serverTimings?.serverTtftP50Ms),
    csvNumber(cell.serverTimings?.ttftMinusServerP50Ms),
    csvNumber(cell.serverTimings?.serverE2eP50Ms),
    csvNumber(cell.serverTimings?.e2eMinusServerP50Ms),
    cell.load.kind === 'rate' ? csvNumber(cell.load.value) : '',
    cell.dropped,
    cell.goodRequests ?? '',
    csvNumber(cell.goodputPerS),
    cell.slo === undefined ? '' : String(cell.slo.met),
    cell.slo === undefined ? '' : describeFailures(cell.slo),
    String(cell.invalid === undefined),
    cell.invalid ?? '',
    csvNumber(cell.stats.scheduled_ttft?.p95),
    csvNumber(cell.stats.scheduled_e2e?.p95),
    cell.repeat ?? (cell.repeats ? `all ${cell.repeats.count}` : ''),
    ...SPREAD_METRICS.flatMap((metric) => {
      const spread = cell.repeats?.spread[metric];
      return [csvNumber(spread?.min), csvNumber(spread?.max), csvNumber(spread?.cv)];
    }),
  ]);
  return stringify([header, ...rows]);
}

/** histograms.csv: HdrHistogram's percentile distribution of every metric of every cell. */
export function renderHistogramsCsv(cells: readonly CellSummary[]): string {
  const rows: (string | number)[][] = [
    ['model', 'concurrency', 'rate_rps', 'metric', 'unit', 'value', 'percentile', 'total_count', 'inverse_percentile', 'repeat'],
  ];
  for (const cell of cells) {
    for (const metric of METRIC_NAMES) {
      for (const row of percentileDistribution(cell.histograms[metric], metric)) {
        rows.push([
          cell.model,
          cell.load.kind === 'concurrency' ? cell.load.value : '',
          cell.load.kind === 'rate' ? csvNumber(cell.load.value) : '',
          metric,
          METRIC_UNITS[metric].unit,
          csvNumber(row.value),
          String(row.percentile),
          row.totalCount,
          Number.isFinite(row.inversePercentile) ? csvNumber(row.inversePercentile) : 'Infinity',
          cell.repeat ?? (cell.repeats ? 'all' : ''),
        ]);
      }
    }
  }
  return stringify(rows);
}

/** "a=1;b=2", stable order. */
function formatCounts(counts: Record<string, number | undefined>): string {
  return Object.entries(counts)
    .filter(([, n]) => n)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name}=${n}`)
    .join(';');
}
