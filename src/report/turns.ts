/**
 * The report's section on multi-turn sessions: each session cell's TTFT and
 * prompt tokens turn by turn (CellSummary.byTurn), as a table and a chart of
 * TTFT by turn. A server that reuses the history's prefix shows a TTFT that
 * falls (or stays flat) as the prompt grows; one that does not, a TTFT that
 * grows with it. Pure: cells in, HTML out.
 */
import type { CellSummary } from '../metrics/cell-summary.js';
import { escapeHtml } from '../util/escape.js';
import { cellName, formatNumber } from '../util/format.js';
import { AUTOSIZE, CHART_WIDTH, OKABE_ITO, toSvg } from './charts.js';

const HEIGHT = 280;

/** One point of the chart: a cell's TTFT percentile at one turn. */
interface TurnPoint {
  /** `model @ c=4` (with `#2` for a repeat). */
  cell: string;
  turn: number;
  percentile: 'p50' | 'p95';
  ttftMs: number;
}

/** The section, or '' when no cell ran sessions. */
export async function renderTurnsSection(cells: readonly CellSummary[]): Promise<string> {
  const sessionCells = cells.filter((cell) => cell.byTurn && cell.byTurn.length > 0);
  if (sessionCells.length === 0) return '';
  return [
    '<section data-section="turns"><h2>Sessions by turn</h2>',
    await turnsChart(sessionCells),
    turnsTable(sessionCells),
    '</section>',
  ].join('\n');
}

function turnsTable(cells: readonly CellSummary[]): string {
  const head = ['cell', 'turn', 'requests', 'ok', 'TTFT p50 (ms)', 'TTFT p95 (ms)', 'prompt tokens (mean)', 'cached prompt tokens (mean)'];
  const rows = cells.flatMap((cell) =>
    cell.byTurn!.map((turn) => {
      const numbers = [turn.turn, turn.requests, turn.ok, turn.ttftP50Ms, turn.ttftP95Ms, turn.meanPromptTokens, turn.meanCachedPromptTokens];
      return `<tr><td>${escapeHtml(cellName(cell))}</td>${numbers.map((value) => `<td class="num">${formatNumber(value)}</td>`).join('')}</tr>`;
    }),
  );
  return [
    '<div class="table-wrap"><table data-table="turns">',
    `<thead><tr>${head.map((title) => `<th scope="col">${escapeHtml(title)}</th>`).join('')}</tr></thead>`,
    `<tbody>\n${rows.join('\n')}\n</tbody>`,
    '</table></div>',
  ].join('\n');
}

async function turnsChart(cells: readonly CellSummary[]): Promise<string> {
  const points: TurnPoint[] = cells.flatMap((cell) =>
    cell.byTurn!.flatMap((turn) => [
      ...(turn.ttftP50Ms !== undefined ? [{ cell: cellName(cell), turn: turn.turn, percentile: 'p50' as const, ttftMs: turn.ttftP50Ms }] : []),
      ...(turn.ttftP95Ms !== undefined ? [{ cell: cellName(cell), turn: turn.turn, percentile: 'p95' as const, ttftMs: turn.ttftP95Ms }] : []),
    ]),
  );
  const caption = 'TTFT p50 (solid) and p95 (dashed) by turn of a session, one line per cell: prefix reuse shows as a TTFT that does not grow with the history';
  if (points.length === 0) return `<figure data-chart="ttft-by-turn"><p class="note">No TTFT samples in any turn.</p><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
  const names = [...new Set(points.map((point) => point.cell))];
  const x = { field: 'turn', type: 'quantitative', title: 'turn', axis: { tickMinStep: 1, format: 'd' } } as const;
  const y = { field: 'ttftMs', type: 'quantitative', title: 'TTFT (ms)' } as const;
  const color = { field: 'cell', type: 'nominal', title: 'cell', scale: { domain: names, range: names.map((_, i) => OKABE_ITO[i % OKABE_ITO.length]!) } } as const;
  const strokeDash = { field: 'percentile', type: 'nominal', title: 'percentile', scale: { domain: ['p50', 'p95'], range: [[1, 0], [6, 3]] } } as const;
  const svg = await toSvg(
    {
      width: CHART_WIDTH,
      height: HEIGHT,
      autosize: AUTOSIZE,
      data: { values: points },
      layer: [
        { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color, strokeDash, detail: { field: 'percentile', type: 'nominal' } } },
        { mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color } },
      ],
    },
    'ttft-by-turn',
  );
  return `<figure data-chart="ttft-by-turn">\n${svg}\n<figcaption>${escapeHtml(caption)}</figcaption>\n</figure>`;
}
