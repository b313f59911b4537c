/** The summary table printed at the end of a run. Pure: summaries in, text out. */
import { SPREAD_METRICS, type CellSummary, type SpreadMetric } from '../metrics/cell-summary.js';
import type { CapacityOutcome } from '../types.js';
import { describeFailures } from '../metrics/slo.js';
import { fixedOrDash, loadLabel, percent } from '../util/format.js';
import { textTableLines } from '../util/text-table.js';

export function renderSummaryTable(cells: readonly CellSummary[]): string {
  const rightAlignedTitles = [
    'load',
    'ok/req',
    'err',
    'out tok/s',
    'req/s',
    'TTFT p50',
    'TTFT p99',
    'TPOT p50',
    'TPOT p99',
    'ITL p50',
    'ITL p99',
    'E2E p50',
    'E2E p99',
    'tok/chunk',
    ...(cells.some((cell) => cell.slo) ? ['goodput/s', 'SLO'] : []),
  ];
  const rows = cells.map((cell) => [
    cell.model,
    loadLabel(cell.load) + (cell.repeat !== undefined ? ` #${cell.repeat}` : cell.repeats ? ` all ${cell.repeats.count}` : ''),
    `${cell.ok}/${cell.requests}`,
    String(cell.errors),
    fixedOrDash(cell.outputTokensPerS),
    fixedOrDash(cell.requestsPerS, 2),
    fixedOrDash(cell.stats.ttft?.p50),
    fixedOrDash(cell.stats.ttft?.p99),
    fixedOrDash(cell.stats.tpot?.p50, 2),
    fixedOrDash(cell.stats.tpot?.p99, 2),
    fixedOrDash(cell.stats.itl?.p50, 2),
    fixedOrDash(cell.stats.itl?.p99, 2),
    fixedOrDash(cell.stats.e2e?.p50),
    fixedOrDash(cell.stats.e2e?.p99),
    fixedOrDash(cell.stats.tokens_per_chunk?.mean, 2),
    ...(cell.slo ? [fixedOrDash(cell.goodputPerS, 2), cell.slo.met ? 'met' : 'FAILED'] : []),
  ]);
  // The model reads left-aligned; every other column is a number or lines up like one.
  const columns = [{ title: 'model' }, ...rightAlignedTitles.map((title) => ({ title, align: 'right' as const }))];
  const out = textTableLines(columns, rows, { rule: true });
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
      ...(cell.slo && !cell.slo.met ? [`SLO failed in ${at}: ${describeFailures(cell.slo)}`] : []),
      ...(cell.invalid ? [`INVALID ${at}: ${cell.invalid}`] : []),
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
  const names: Record<SpreadMetric, string> = {
    ttft_p50: 'TTFT p50',
    ttft_p95: 'TTFT p95',
    tpot_p50: 'TPOT p50',
    tpot_p95: 'TPOT p95',
    e2e_p95: 'E2E p95',
    output_tokens_per_s: 'output tok/s',
  };
  return SPREAD_METRICS.map((metric) => {
    const s = spread[metric];
    return `${names[metric]} ${fixedOrDash(s.min, 2)}–${fixedOrDash(s.max, 2)} (cv ${percent(s.cv)})`;
  }).join(', ');
}
