/** The summary table printed at the end of a run. Pure: summaries in, text out. */
import type { CellSummary } from '../metrics/cell-summary.js';

const fixed = (value: number | undefined, digits = 1): string => (value === undefined ? '-' : value.toFixed(digits));

export function renderSummaryTable(cells: readonly CellSummary[]): string {
  const header = [
    'model',
    'conc',
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
  ];
  const rows = cells.map((cell) => [
    cell.model,
    String(cell.concurrency),
    `${cell.ok}/${cell.requests}`,
    String(cell.errors),
    fixed(cell.outputTokensPerS),
    fixed(cell.requestsPerS, 2),
    fixed(cell.stats.ttft?.p50),
    fixed(cell.stats.ttft?.p99),
    fixed(cell.stats.tpot?.p50, 2),
    fixed(cell.stats.tpot?.p99, 2),
    fixed(cell.stats.itl?.p50, 2),
    fixed(cell.stats.itl?.p99, 2),
    fixed(cell.stats.e2e?.p50),
    fixed(cell.stats.e2e?.p99),
    fixed(cell.stats.tokens_per_chunk?.mean, 2),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((text, i) => (i === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const errorLines = cells
    .filter((cell) => cell.errors > 0)
    .map(
      (cell) =>
        `errors in ${cell.model} @ ${cell.concurrency}: ` +
        Object.entries(cell.errorsByClass)
          .map(([name, n]) => `${name} ${n}`)
          .join(', '),
    );
  return [...out, ...(errorLines.length ? ['', ...errorLines] : []), '(times in ms; TPOT and ITL count every token of every chunk)', ''].join('\n');
}
