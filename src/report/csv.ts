/** CSV renderers: pure functions of the cell summaries. */
import { stringify } from 'csv-stringify/sync';
import { SPREAD_METRICS, type CellSummary } from '../metrics/cell-summary.js';
import { fieldName } from '../metrics/catalog.js';
import { METRIC_NAMES, METRIC_UNITS, percentileDistribution, type MetricName, type Stats } from '../metrics/histograms.js';
import { describeFailures } from '../metrics/slo.js';
import { csvNumber } from '../util/format.js';

/** One column of summary.csv: its header and how a cell fills it. */
interface Column {
  header: string;
  value: (cell: CellSummary) => string;
}

const column = (header: string, value: (cell: CellSummary) => string | number | boolean | undefined): Column => ({
  header,
  value: (cell) => String(value(cell) ?? ''),
});

const numberColumn = (header: string, value: (cell: CellSummary) => number | undefined): Column => ({
  header,
  value: (cell) => csvNumber(value(cell)),
});

/** `ttft_p50_ms`, `tokens_per_chunk_mean`…: one column per metric and statistic, metric by metric. */
const statColumns = (metrics: readonly MetricName[], stats: readonly (keyof Stats)[]): Column[] =>
  metrics.flatMap((metric) => stats.map((stat) => numberColumn(fieldName(metric, stat), (cell) => cell.stats[metric]?.[stat])));

const LATENCIES: readonly MetricName[] = ['ttft', 'tpot', 'itl', 'e2e'];

/**
 * summary.csv's columns, in order. Scripts read them by position: a new
 * column goes at the end (test/report/csv.test.ts pins the header).
 */
const SUMMARY_COLUMNS: readonly Column[] = [
  column('model', (cell) => cell.model),
  column('concurrency', (cell) => (cell.load.kind === 'concurrency' ? cell.load.value : '')),
  column('requests', (cell) => cell.requests),
  column('ok', (cell) => cell.ok),
  column('errors', (cell) => cell.errors),
  numberColumn('output_tokens_per_s', (cell) => cell.outputTokensPerS),
  numberColumn('requests_per_s', (cell) => cell.requestsPerS),
  ...statColumns(LATENCIES, ['p50', 'p90', 'p95', 'p99', 'mean', 'max']),
  column('interrupted', (cell) => cell.interrupted),
  numberColumn('error_rate', (cell) => cell.errorRate),
  numberColumn('window_s', (cell) => cell.windowS),
  ...statColumns(['tokens_per_chunk'], ['mean', 'max']),
  ...statColumns(['ttfb'], ['p50']),
  column('tokenizer', (cell) => cell.tokenizer),
  column('token_sources', (cell) => formatCounts(cell.tokenSources)),
  numberColumn('usage_mismatch_rate', (cell) => cell.usageMismatchRate),
  numberColumn('usage_mismatch_mean', (cell) => cell.usageMismatchMean),
  column('errors_by_class', (cell) => formatCounts(cell.errorsByClass)),
  // The rest of METRICS.md's percentiles, after the columns the first version had.
  ...statColumns(LATENCIES, ['p999', 'min', 'stdev']),
  ...statColumns(['schedule_lag'], ['p99']),
  ...statColumns(['ttfo'], ['p50', 'p95']),
  ...statColumns(['reasoning_tokens'], ['mean']),
  numberColumn('server_ttft_p50_ms', (cell) => cell.serverTimings?.serverTtftP50Ms),
  numberColumn('ttft_minus_server_p50_ms', (cell) => cell.serverTimings?.ttftMinusServerP50Ms),
  numberColumn('server_e2e_p50_ms', (cell) => cell.serverTimings?.serverE2eP50Ms),
  numberColumn('e2e_minus_server_p50_ms', (cell) => cell.serverTimings?.e2eMinusServerP50Ms),
  column('rate_rps', (cell) => (cell.load.kind === 'rate' ? csvNumber(cell.load.value) : '')),
  column('dropped', (cell) => cell.dropped),
  column('good_requests', (cell) => cell.goodRequests),
  numberColumn('goodput_rps', (cell) => cell.goodputPerS),
  column('slo_met', (cell) => cell.slo?.met),
  column('slo_failures', (cell) => (cell.slo === undefined ? '' : describeFailures(cell.slo))),
  column('valid', (cell) => cell.invalid === undefined),
  column('invalid_reason', (cell) => cell.invalid),
  ...statColumns(['scheduled_ttft', 'scheduled_e2e'], ['p95']),
  column('repeat', (cell) => cell.repeat ?? (cell.repeats ? `all ${cell.repeats.count}` : '')),
  ...SPREAD_METRICS.flatMap((metric) =>
    (['min', 'max', 'cv'] as const).map((key) => numberColumn(`${metric}_repeat_${key}`, (cell) => cell.repeats?.spread[metric][key])),
  ),
  column('short', (cell) => cell.short !== undefined),
  column('short_reason', (cell) => cell.short),
  column('resends', (cell) => cell.resends),
  // The client's own health (METRICS.md): empty where no monitor ran.
  ...statColumns(['client_loop_delay'], ['p50', 'p99', 'max']),
  numberColumn('client_utilization', (cell) => cell.clientUtilization),
  // How exact the per-chunk token counts are (METRICS.md, "Counting the tokens of a chunk").
  numberColumn('approximate_rate', (cell) => cell.approximateRate),
  column('server_counts_rejected', (cell) => cell.serverCountsRejected),
  // A rate ramp (rate_rps is its starting rate) and a replayed trace (rate_rps is its mean rate): empty for a steady load.
  column('ramp_to_rps', (cell) => (cell.load.ramp ? csvNumber(cell.load.ramp.toRate) : '')),
  column('ramp_over_s', (cell) => (cell.load.ramp ? csvNumber(cell.load.ramp.overMs / 1000) : '')),
  column('trace_speedup', (cell) => (cell.load.trace ? csvNumber(cell.load.trace.speedup) : '')),
];

/** summary.csv: one row per cell. */
export function renderSummaryCsv(cells: readonly CellSummary[]): string {
  return stringify([SUMMARY_COLUMNS.map((c) => c.header), ...cells.map((cell) => SUMMARY_COLUMNS.map((c) => c.value(cell)))]);
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
