/** The summary table printed at the end of a run. Pure: summaries in, text out. */
import { approximateTokensNote, SPREAD_METRICS, SPREAD_SOURCES, type CellSummary, type SpreadMetric } from '../metrics/cell-summary.js';
import { CELL_VALUES_BY_NAME, METRICS, type MetricName } from '../metrics/catalog.js';
import type { Stats } from '../metrics/histograms.js';
import type { CapacityOutcome } from '../types.js';
import { describeFailures } from '../metrics/slo.js';
import { fixedOrDash, loadLabel, percent } from '../util/format.js';
import { textTableLines } from '../util/text-table.js';

/** One column of the summary table: its header and how a cell fills it. */
interface Column {
  header: string;
  value: (cell: CellSummary) => string;
}

/** `TTFT p50`: a statistic of a distribution, with `digits` decimals. */
const stat = (metric: MetricName, key: keyof Stats, digits: number): Column => ({
  header: `${METRICS[metric].label} ${key}`,
  value: (cell) => fixedOrDash(cell.stats[metric]?.[key], digits),
});

const COLUMNS: readonly Column[] = [
  { header: 'model', value: (cell) => cell.model },
  {
    header: 'load',
    value: (cell) => loadLabel(cell.load) + (cell.repeat !== undefined ? ` #${cell.repeat}` : cell.repeats ? ` all ${cell.repeats.count}` : ''),
  },
  { header: 'ok/req', value: (cell) => `${cell.ok}/${cell.requests}` },
  { header: 'err', value: (cell) => String(cell.errors) },
  { header: 'out tok/s', value: (cell) => fixedOrDash(cell.outputTokensPerS) },
  { header: 'req/s', value: (cell) => fixedOrDash(cell.requestsPerS, 2) },
  stat('ttft', 'p50', 1),
  stat('ttft', 'p99', 1),
  stat('tpot', 'p50', 2),
  stat('tpot', 'p99', 2),
  stat('itl', 'p50', 2),
  stat('itl', 'p99', 2),
  stat('e2e', 'p50', 1),
  stat('e2e', 'p99', 1),
  { header: 'tok/chunk', value: (cell) => fixedOrDash(cell.stats.tokens_per_chunk?.mean, 2) },
];

/** Shown when any cell has an SLO. */
const SLO_COLUMNS: readonly Column[] = [
  { header: 'goodput/s', value: (cell) => fixedOrDash(cell.goodputPerS, 2) },
  { header: 'SLO', value: (cell) => (cell.slo ? (cell.slo.met ? 'met' : 'FAILED') : '-') },
];

export function renderSummaryTable(cells: readonly CellSummary[]): string {
  const columns = [...COLUMNS, ...(cells.some((cell) => cell.slo) ? SLO_COLUMNS : [])];
  const rows = cells.map((cell) => columns.map((column) => column.value(cell)));
  // The model reads left-aligned; every other column is a number or lines up like one.
  const out = textTableLines(
    columns.map((column, i) => ({ title: column.header, ...(i > 0 ? { align: 'right' as const } : {}) })),
    rows,
    { rule: true },
  );
  const errorLines = cells
    .filter((cell) => cell.errors > 0)
    .map(
      (cell) =>
        `errors in ${cell.model} @ ${loadLabel(cell.load)}: ` +
        Object.entries(cell.errorsByClass)
          .map(([name, n]) => `${name} ${n}`)
          .join(', '),
    );
  const noteLines = cells.flatMap((cell) => {
    const at = `${cell.model} @ ${loadLabel(cell.load)}`;
    return [
      ...(cell.dropped > 0 ? [`dropped in ${at}: ${cell.dropped} arrivals found maxInFlight requests in flight`] : []),
      ...(cell.resends > 0
        ? [`resent in ${at}: ${cell.resends} requests, once each on a new connection (the server had closed their kept-alive one)`]
        : []),
      ...(cell.slo && !cell.slo.met ? [`SLO failed in ${at}: ${describeFailures(cell.slo)}`] : []),
      ...(cell.invalid ? [`INVALID ${at}: ${cell.invalid}`] : []),
      ...(cell.short ? [`short cell ${at}: ${cell.short}`] : []),
      ...(approximateTokensNote(cell) ? [`${at}: ${approximateTokensNote(cell)}`] : []),
      ...(cell.repeats ? [`spread over ${cell.repeats.count} repeats of ${at}: ${spreadText(cell.repeats.spread)}`] : []),
    ];
  });
  errorLines.push(...noteLines);
  return [...out, ...(errorLines.length ? ['', ...errorLines] : []), '(times in ms; TPOT and ITL count every token of every chunk)', ''].join('\n');
}

/** `tokenmeter capacity`'s answer: per model, the knee and what broke just past it. */
export function renderCapacity(outcomes: readonly CapacityOutcome[], cells: readonly CellSummary[]): string {
  const lines: string[] = [];
  for (const outcome of outcomes) {
    const label = (value: number) => loadLabel({ kind: outcome.kind, value });
    const cellAt = (value: number) => cells.find((cell) => cell.model === outcome.model && cell.load.value === value);
    const tried = outcome.steps.map((step) => `${label(step.load)} ${step.met ? 'ok' : 'FAIL'}`).join(', ');
    lines.push(`${outcome.model}: tried ${tried || 'nothing'}${outcome.interrupted ? ' (interrupted)' : ''}`);
    if (outcome.best === undefined) {
      lines.push(
        outcome.firstFailure
          ? `  no load met the SLO; the lowest tried, ${label(outcome.firstFailure.load)}, failed: ${outcome.firstFailure.reason}`
          : '  interrupted before any load finished',
      );
    } else {
      const knee = cellAt(outcome.best);
      const bound = outcome.interrupted ? ' (interrupted: at least this much)' : outcome.reachedMax ? ' (the search maximum: raise capacity.max to look further)' : '';
      lines.push(
        `  capacity: ${label(outcome.best)}${bound}` +
          (knee
            ? ` — ${fixedOrDash(knee.outputTokensPerS)} output tok/s, ${fixedOrDash(knee.requestsPerS, 2)} req/s, goodput ${fixedOrDash(knee.goodputPerS, 2)} req/s, ` +
              `TTFT p95 ${fixedOrDash(knee.stats.ttft?.p95)} ms, TPOT p95 ${fixedOrDash(knee.stats.tpot?.p95, 2)} ms`
            : ''),
      );
    }
    if (outcome.firstFailure && outcome.best !== undefined) {
      lines.push(`  lowest failing load: ${label(outcome.firstFailure.load)}: ${outcome.firstFailure.reason}`);
      if (outcome.firstFailure.load - outcome.best <= outcome.tolerance) {
        lines.push(`  (the knee lies between them: within ${outcome.tolerance}, if latency rises with load)`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** `TTFT p95 101.2–104.5 ms (cv 1.2%), …`: how much the headline numbers moved between repeats. */
function spreadText(spread: NonNullable<CellSummary['repeats']>['spread']): string {
  return SPREAD_METRICS.map((metric) => {
    const s = spread[metric];
    return `${spreadLabel(metric)} ${fixedOrDash(s.min, 2)}–${fixedOrDash(s.max, 2)} (cv ${percent(s.cv)})`;
  }).join(', ');
}

/** `TTFT p50`, `output tok/s`: a headline number as people read it. */
function spreadLabel(metric: SpreadMetric): string {
  const source: (typeof SPREAD_SOURCES)[SpreadMetric] = SPREAD_SOURCES[metric];
  return 'cellValue' in source ? CELL_VALUES_BY_NAME[source.cellValue].label : `${METRICS[source.metric].label} ${source.stat}`;
}
