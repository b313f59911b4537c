/** The summary table printed at the end of a run. Pure: summaries in, text out. */
import { approximateTokensNote, SPREAD_METRICS, SPREAD_SOURCES, type CellSummary, type ErrorExample, type SpreadMetric } from '../metrics/cell-summary.js';
import { CELL_VALUES_BY_NAME, METRICS, type MetricName } from '../metrics/catalog.js';
import type { Stats } from '../metrics/histograms.js';
import type { CapacityOutcome, ErrorClass, SweepOutcome } from '../types.js';
import { describeFailures } from '../metrics/slo.js';
import type { TurnSummary } from '../metrics/turns.js';
import { fixedOrDash, loadLabel, percent } from '../util/format.js';
import { textTableLines } from '../util/text-table.js';

/** One column of the summary table: its header, how a cell fills it, and how much it matters when space runs out. */
interface Column {
  header: string;
  /** Shared by consecutive columns: `TTFT ms` over `p50 p95 p99`. */
  group?: string;
  value: (cell: CellSummary) => string;
  /** Columns with the lowest go first when the table is wider than SUMMARY_WIDTH. */
  keep: number;
}

/** The summary table fits this many characters (a terminal or a CI log); what does not fit is in summary.csv. */
export const SUMMARY_WIDTH = 100;

/** `p95` under `TTFT ms`: a statistic of a distribution, with `digits` decimals. */
const stat = (metric: MetricName, key: keyof Stats, digits: number, keep: number): Column => ({
  header: key,
  group: `${METRICS[metric].label} ms`,
  value: (cell) => fixedOrDash(cell.stats[metric]?.[key], digits),
  keep,
});

// p95 is what every gate judges (SLOs, thresholds, check, capacity): it stays longest after the identity columns.
const COLUMNS: readonly Column[] = [
  { header: 'model', value: (cell) => cell.model, keep: 100 },
  {
    header: 'load',
    value: (cell) => loadLabel(cell.load) + (cell.repeat !== undefined ? ` #${cell.repeat}` : cell.repeats ? ` all ${cell.repeats.count}` : ''),
    keep: 100,
  },
  { header: 'ok/req', value: (cell) => `${cell.ok}/${cell.requests}`, keep: 90 },
  { header: 'err', value: (cell) => String(cell.errors), keep: 30 },
  { header: 'tok/s', value: (cell) => fixedOrDash(cell.outputTokensPerS), keep: 80 },
  { header: 'req/s', value: (cell) => fixedOrDash(cell.requestsPerS, 2), keep: 20 },
  stat('ttft', 'p50', 1, 60),
  stat('ttft', 'p95', 1, 85),
  stat('ttft', 'p99', 1, 50),
  stat('tpot', 'p50', 2, 60),
  stat('tpot', 'p95', 2, 85),
  stat('tpot', 'p99', 2, 50),
  stat('itl', 'p50', 2, 25),
  stat('itl', 'p99', 2, 15),
  stat('e2e', 'p50', 1, 35),
  stat('e2e', 'p95', 1, 45),
  { header: 'tok/chunk', value: (cell) => fixedOrDash(cell.stats.tokens_per_chunk?.mean, 2), keep: 70 },
];

/** Shown when any cell has an SLO. */
const SLO_COLUMNS: readonly Column[] = [
  { header: 'goodput/s', value: (cell) => fixedOrDash(cell.goodputPerS, 2), keep: 65 },
  { header: 'SLO', value: (cell) => (cell.slo ? (cell.slo.met ? 'met' : 'FAILED') : '-'), keep: 95 },
];

/** The table's lines with `columns`: group headings, titles, a rule, a row per cell. */
function tableLines(columns: readonly Column[], cells: readonly CellSummary[]): string[] {
  const rows = cells.map((cell) => columns.map((column) => column.value(cell)));
  // The model reads left-aligned; every other column is a number or lines up like one.
  return textTableLines(
    columns.map((column, i) => ({ title: column.header, ...(column.group ? { group: column.group } : {}), ...(i > 0 ? { align: 'right' as const } : {}) })),
    rows,
    { rule: true },
  );
}

export function renderSummaryTable(cells: readonly CellSummary[]): string {
  let columns = [...COLUMNS, ...(cells.some((cell) => cell.slo) ? SLO_COLUMNS : [])];
  const left: Column[] = [];
  let out = tableLines(columns, cells);
  // Too wide: the least needed columns go (those that matter alike, together), and the table says which.
  while (Math.max(...out.map((line) => line.length)) > SUMMARY_WIDTH && columns.some((column) => column.keep < 100)) {
    const least = Math.min(...columns.map((column) => column.keep));
    left.push(...columns.filter((column) => column.keep === least));
    columns = columns.filter((column) => column.keep !== least);
    out = tableLines(columns, cells);
  }
  const errorLines = cells
    .filter((cell) => cell.errors > 0)
    .map(
      (cell) =>
        `errors in ${cell.model} @ ${loadLabel(cell.load)}: ` +
        (Object.entries(cell.errorsByClass) as [ErrorClass, number][])
          .map(([name, n]) => `${name} ${n}${exampleText(cell.errorExamples?.[name])}`)
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
      ...(cell.byTurn ? [`by turn in ${at}: ${turnsText(cell.byTurn)}`] : []),
    ];
  });
  errorLines.push(...noteLines);
  const leftOut = left.length > 0 ? [`(left out to fit ${SUMMARY_WIDTH} characters: ${left.map(columnName).join(', ')}; summary.csv has every number)`] : [];
  return [...out, ...(errorLines.length ? ['', ...errorLines] : []), '(times in ms; TPOT and ITL count every token of every chunk)', ...leftOut, ''].join('\n');
}

/** Turns shown on the console; report.html and summary.json have every one. */
const CONSOLE_TURNS = 8;

/** `TTFT p50 121.1, 27.3 ms; cached/prompt tokens 0/2004, 2048/2152`: a session cell's turns, the first few. */
function turnsText(turns: readonly TurnSummary[]): string {
  const shown = turns.slice(0, CONSOLE_TURNS);
  const more = turns.length > shown.length ? ` (turns 1–${shown.length} of ${turns.length}: report.html has every one)` : '';
  const tokens = (turn: TurnSummary): string => `${fixedOrDash(turn.meanCachedPromptTokens, 0)}/${fixedOrDash(turn.meanPromptTokens, 0)}`;
  return `TTFT p50 ${shown.map((turn) => fixedOrDash(turn.ttftP50Ms, 1)).join(', ')} ms; cached/prompt tokens ${shown.map(tokens).join(', ')}${more}`;
}

/** ` (HTTP 401: "Incorrect API key provided")`: what the first failure of a class said, cut to a line. */
function exampleText(example: ErrorExample | undefined): string {
  if (!example || example.message === '') return '';
  const message = example.message.length > 100 ? `${example.message.slice(0, 99)}…` : example.message;
  return ` (${example.status !== undefined ? `HTTP ${example.status}: ` : ''}${JSON.stringify(message)})`;
}

const columnName = (column: Column): string => (column.group ? `${column.group.replace(/ ms$/, '')} ${column.header}` : column.header);

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

/**
 * `tokenmeter sweep`'s account per model: what each probe achieved, the rates run between them,
 * and where a sweep stopped and why.
 */
export function renderSweep(outcomes: readonly SweepOutcome[]): string {
  const lines: string[] = [];
  for (const outcome of outcomes) {
    const rps = (value: number | undefined) => (value === undefined ? '—' : `${fixedOrDash(value, 2)} req/s`);
    lines.push(`${outcome.model}: synchronous (c=1) ${rps(outcome.synchronousRps)}, throughput (c=${outcome.maxConcurrency}) ${rps(outcome.throughputRps)}`);
    if (outcome.rates.length > 0) lines.push(`  rates: ${outcome.rates.join(', ')} req/s${outcome.interrupted ? ' (interrupted: not all ran)' : ''}`);
    else if (outcome.interrupted) lines.push('  interrupted before its rates');
    if (outcome.stopped) lines.push(`  stopped: ${outcome.stopped}`);
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
