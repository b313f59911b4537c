/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no
 * network) with the charts, the per-cell table and the capacity search.
 */
import { approximateTokensNote, type CellSummary } from '../metrics/cell-summary.js';
import { METRICS, type MetricName } from '../metrics/catalog.js';
import type { Stats } from '../metrics/histograms.js';
import { describeFailures } from '../metrics/slo.js';
import type { CapacityOutcome, ErrorClass, LoadLevel, SideBySide, SloBound, SweepOutcome } from '../types.js';
import { renderCharts, type Chart } from './charts.js';
import { headlines, type Headline } from './headline.js';
import type { Provenance } from './provenance.js';
import { renderSideBySideHtml } from './side-by-side.js';
import { renderTurnsSection } from './turns.js';
import { renderTimelineCharts } from './timeline-chart.js';
import { escapeHtml } from '../util/escape.js';
import { cellName, formatNumber, loadLabel } from '../util/format.js';

/** Everything the page shows. */
export interface ReportInput {
  /** The scenario's name: the page title. */
  title: string;
  description?: string;
  /** ISO time the report was written, printed as given (passed in so output is repeatable). */
  generatedAt: string;
  cells: readonly CellSummary[];
  /** The scenario's SLO bounds; may be empty. */
  slo: readonly SloBound[];
  /** `tokenmeter capacity`'s outcome per model (the knee is highlighted in the charts). */
  capacity?: readonly CapacityOutcome[];
  /** `tokenmeter sweep`'s outcome per model: its probes, and the rates planned from them. */
  sweep?: readonly SweepOutcome[];
  /** `tokenmeter compare`'s side-by-side tables, shown below the charts. */
  sideBySide?: SideBySide;
  /** Where the numbers came from (report/provenance.ts); a compare page of several runs has none. */
  provenance?: Provenance;
  /**
   * The cells whose timelines are drawn, one chart each (default none: a compare page sets runs side
   * by side, and each run's own report has its timelines); merged repeats are left out (each repeat
   * has its own timeline), so `run --repeat` passes every repeat's cell here.
   */
  timelineCells?: readonly CellSummary[];
}

/**
 * Renders the HTML report. Pure apart from the time vega takes: the same
 * input gives the same page, byte for byte.
 */
export async function renderReportHtml(input: ReportInput): Promise<string> {
  const charts = await renderCharts(input);
  const timelines = await renderTimelineCharts((input.timelineCells ?? []).filter((cell) => cell.repeats === undefined));
  const body = [
    header(input),
    headlineSection(headlines(input.cells, input.slo)),
    input.provenance ? provenanceSection(input.provenance) : '',
    sloSection(input.slo),
    errorsSection(input.cells),
    input.capacity ? capacitySection(input.capacity) : '',
    input.sweep ? sweepSection(input.sweep) : '',
    `<section><h2>Charts</h2>\n${charts.map(figure).join('\n')}\n</section>`,
    timelines.length > 0 ? `<section data-section="timelines"><h2>Timelines</h2>\n${timelines.map(figure).join('\n')}\n</section>` : '',
    await renderTurnsSection(input.cells),
    // Charts first, then the tables: a reader sees the shape before the numbers.
    input.sideBySide ? renderSideBySideHtml(input.sideBySide) : '',
    cellTable(input.cells),
  ].filter(Boolean);
  return page(input.title, body.join('\n'));
}

// The CSP forbids every fetch: a chart or style that reached for the network would fail loudly in a browser.
const CSP = "default-src 'none'; style-src 'unsafe-inline'";

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
.meta { color: #666; margin-top: 0; }
figure { margin: 1.5rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 13px; }
.note { color: #666; font-style: italic; }
.table-wrap { overflow-x: auto; }
/* The cells table scrolls inside its own box, its header row kept in view. */
.table-scroll { overflow: auto; max-height: 28rem; border: 1px solid #ddd; }
.table-scroll thead th { position: sticky; top: 0; z-index: 1; box-shadow: 0 1px 0 #ccc; }
.table-scroll table { border-collapse: separate; border-spacing: 0; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; white-space: nowrap; }
th { background: #f4f4f4; }
dl.provenance { display: grid; grid-template-columns: max-content 1fr; gap: 2px 1rem; font-size: 13px; }
dl.provenance dt { color: #555; }
dl.provenance dd { margin: 0; overflow-wrap: anywhere; }
.interrupted { color: #b00020; font-weight: bold; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.invalid td { color: #888; }
.invalid-marker { color: #b00020; font-weight: bold; }
.short-marker { color: #8a5a00; }
.failed { color: #b00020; }
.met { color: #1a7f37; }
td.best { font-weight: bold; background: #eef7ee; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — tokenmeter report</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function header(input: ReportInput): string {
  const models = new Set(input.cells.map((cell) => cell.model)).size;
  return [
    `<header><h1>${escapeHtml(input.title)}</h1>`,
    input.description ? `<p>${escapeHtml(input.description)}</p>` : '',
    `<p class="meta">Generated ${escapeHtml(input.generatedAt)} · ${input.cells.length} cells · ${models} models</p></header>`,
  ]
    .filter(Boolean)
    .join('\n');
}

function headlineSection(rows: readonly Headline[]): string {
  if (rows.length === 0) return '';
  const load = (level: LoadLevel | undefined) => (level ? escapeHtml(loadLabel(level)) : '—');
  const body = rows.map((row) => {
    const within = !row.hasSlo ? 'no SLO' : row.maxLoadWithinSlo ? load(row.maxLoadWithinSlo) : '<span class="failed">none</span>';
    const goodput = !row.hasSlo ? 'no SLO' : row.bestGoodput ? `${formatNumber(row.bestGoodput.perS)} req/s at ${load(row.bestGoodput.load)}` : '—';
    const throughput = row.bestThroughput ? `${formatNumber(row.bestThroughput.tokensPerS)} tok/s at ${load(row.bestThroughput.load)}` : '—';
    return `<tr><th scope="row">${escapeHtml(row.model)}</th><td>${within}</td><td>${goodput}</td><td>${throughput}</td><td class="num">${formatNumber(row.tokensPerChunk)}</td></tr>`;
  });
  return [
    '<section data-section="headline"><h2>Headline</h2>',
    '<div class="table-wrap"><table data-table="headline">',
    '<thead><tr><th scope="col">model</th><th scope="col">max load within SLO</th><th scope="col">best goodput</th><th scope="col">best output throughput</th><th scope="col">tokens/chunk mean</th></tr></thead>',
    `<tbody>\n${body.join('\n')}\n</tbody>`,
    '</table></div></section>',
  ].join('\n');
}

function provenanceSection(provenance: Provenance): string {
  const rows = provenance.map(([label, value]) => {
    const text = escapeHtml(value);
    return `<dt>${escapeHtml(label)}</dt><dd>${label === 'status' && value !== 'completed' ? `<span class="interrupted">${text}</span>` : text}</dd>`;
  });
  return `<section data-section="provenance"><h2>Provenance</h2>\n<dl class="provenance">\n${rows.join('\n')}\n</dl>\n</section>`;
}

function sloSection(slo: readonly SloBound[]): string {
  if (slo.length === 0) return '';
  const items = slo.map((bound) => `<li><code>${escapeHtml(bound.key)}</code> ${bound.direction === 'max' ? '≤' : '≥'} ${formatNumber(bound.bound)}</li>`);
  return `<section><h2>SLO</h2>\n<ul>\n${items.join('\n')}\n</ul>\n</section>`;
}

/** Every failed request, by cell and class: how many, the HTTP status and what the first one said. Nothing when none failed. */
function errorsSection(cells: readonly CellSummary[]): string {
  const rows = cells.flatMap((cell) =>
    (Object.entries(cell.errorsByClass) as [ErrorClass, number][]).map(([errorClass, count]) => {
      const example = cell.errorExamples?.[errorClass];
      const where = cellName(cell);
      return (
        `<tr><td>${escapeHtml(where)}</td><td><code>${escapeHtml(errorClass)}</code></td><td class="num">${count}</td>` +
        `<td class="num">${example?.status ?? ''}</td><td>${escapeHtml(example?.message ?? '')}</td></tr>`
      );
    }),
  );
  if (rows.length === 0) return '';
  return [
    '<section data-section="errors"><h2>Errors</h2>',
    '<table data-table="errors"><thead><tr><th>cell</th><th>class</th><th>requests</th><th>status</th><th>what the first one said</th></tr></thead>',
    `<tbody>\n${rows.join('\n')}\n</tbody></table>`,
    '</section>',
  ].join('\n');
}

function capacitySection(capacity: readonly CapacityOutcome[]): string {
  return `<section data-section="capacity"><h2>Capacity</h2>\n${capacity.map(capacityOutcome).join('\n')}\n</section>`;
}

function capacityOutcome(outcome: CapacityOutcome): string {
  const label = (value: number) => escapeHtml(loadLabel({ kind: outcome.kind, value }));
  const knee =
    outcome.best !== undefined
      ? `<strong>${label(outcome.best)}</strong>${outcome.interrupted ? ' (the search was interrupted: at least this much)' : ''}`
      : outcome.interrupted
        ? 'unknown: the search was interrupted'
        : 'none: no load tried met the SLO';
  const failure = outcome.firstFailure
    ? `${label(outcome.firstFailure.load)}: ${escapeHtml(outcome.firstFailure.reason)}`
    : outcome.reachedMax
      ? 'none: every load up to the search’s maximum met the SLO'
      : 'none';
  const steps = outcome.steps.map(
    (step) =>
      `<li>${label(step.load)}: ${step.met ? '<span class="met">met</span>' : `<span class="failed">failed</span>${step.reason ? ` (${escapeHtml(step.reason)})` : ''}`}</li>`,
  );
  return [
    `<h3>${escapeHtml(outcome.model)}</h3>`,
    '<dl>',
    `<dt>Knee (highest load within the SLO)</dt><dd>${knee}</dd>`,
    `<dt>Lowest failing load</dt><dd>${failure}</dd>`,
    `<dt>Search tolerance</dt><dd>${formatNumber(outcome.tolerance)}</dd>`,
    `<dt>Steps, in the order tried</dt><dd><ol>${steps.join('')}</ol></dd>`,
    '</dl>',
  ].join('\n');
}

function sweepSection(sweep: readonly SweepOutcome[]): string {
  return `<section data-section="sweep"><h2>Sweep</h2>\n${sweep.map(sweepOutcome).join('\n')}\n</section>`;
}

function sweepOutcome(outcome: SweepOutcome): string {
  const rps = (value: number | undefined) => (value === undefined ? '—' : `${formatNumber(value)} req/s`);
  const rates = outcome.rates.map((rate) => escapeHtml(loadLabel({ kind: 'rate', value: rate }))).join(', ');
  return [
    `<h3>${escapeHtml(outcome.model)}</h3>`,
    '<dl>',
    `<dt>Synchronous probe (c=1)</dt><dd>${rps(outcome.synchronousRps)}</dd>`,
    `<dt>Throughput probe (c=${outcome.maxConcurrency})</dt><dd>${rps(outcome.throughputRps)}</dd>`,
    `<dt>Rates between them</dt><dd>${rates || 'none'}</dd>`,
    outcome.stopped ? `<dt>Stopped</dt><dd class="failed">${escapeHtml(outcome.stopped)}</dd>` : '',
    outcome.interrupted ? '<dt>Interrupted</dt><dd class="interrupted">Ctrl-C stopped the sweep: the rates after that point did not run</dd>' : '',
    '</dl>',
  ]
    .filter(Boolean)
    .join('\n');
}

function figure(chart: Chart): string {
  const content = chart.svg ?? `<p class="note">${escapeHtml(chart.note ?? 'No data.')}</p>`;
  return `<figure data-chart="${escapeHtml(chart.name)}">\n${content}\n<figcaption>${escapeHtml(chart.caption)}</figcaption>\n</figure>`;
}

/** One table column: its header and how a cell fills it (already HTML; numbers right-aligned). */
interface Column {
  title: string;
  numeric: boolean;
  value: (cell: CellSummary) => string;
}

const num = (title: string, value: (cell: CellSummary) => number | undefined): Column => ({
  title,
  numeric: true,
  value: (cell) => formatNumber(value(cell)),
});

/** `TTFT p95 (ms)`: a statistic of a distribution, labelled from the catalog. */
const stat = (metric: MetricName, key: keyof Stats): Column =>
  num(`${METRICS[metric].label} ${key} (${METRICS[metric].unit})`, (cell) => cell.stats[metric]?.[key]);

const COLUMNS: readonly Column[] = [
  { title: 'model', numeric: false, value: (cell) => escapeHtml(cell.model) },
  { title: 'load', numeric: false, value: (cell) => escapeHtml(loadLabel(cell.load)) },
  num('requests', (cell) => cell.requests),
  num('ok', (cell) => cell.ok),
  num('errors', (cell) => cell.errors),
  num('dropped', (cell) => cell.dropped),
  num('output tok/s', (cell) => cell.outputTokensPerS),
  num('req/s', (cell) => cell.requestsPerS),
  num('goodput/s', (cell) => cell.goodputPerS),
  stat('ttft', 'p50'),
  stat('ttft', 'p95'),
  stat('ttft', 'p99'),
  stat('tpot', 'p50'),
  stat('tpot', 'p95'),
  stat('tpot', 'p99'),
  stat('itl', 'p50'),
  stat('itl', 'p99'),
  stat('e2e', 'p50'),
  stat('e2e', 'p99'),
  num('tokens/chunk mean', (cell) => cell.stats.tokens_per_chunk?.mean),
  stat('schedule_lag', 'p99'),
  stat('client_loop_delay', 'p99'),
  num('client utilization', (cell) => cell.clientUtilization),
  { title: 'SLO', numeric: false, value: sloVerdict },
  { title: 'validity', numeric: false, value: validity },
];

/** Invalid (the client was the bottleneck) and short (throughput mostly ramp) are said where validity is shown. */
function validity(cell: CellSummary): string {
  const parts = [cell.invalid ? `<span class="invalid-marker">INVALID: ${escapeHtml(cell.invalid)}</span>` : 'valid'];
  if (cell.short) parts.push(`<span class="short-marker">short cell: ${escapeHtml(cell.short)}</span>`);
  const approximate = approximateTokensNote(cell);
  if (approximate) parts.push(`<span class="short-marker">${escapeHtml(approximate)}</span>`);
  return parts.join('<br>');
}

function sloVerdict(cell: CellSummary): string {
  if (!cell.slo) return '—';
  return cell.slo.met ? '<span class="met">met</span>' : `<span class="failed">failed: ${escapeHtml(describeFailures(cell.slo))}</span>`;
}

function cellTable(cells: readonly CellSummary[]): string {
  const head = `<tr>${COLUMNS.map((column) => `<th scope="col">${escapeHtml(column.title)}</th>`).join('')}</tr>`;
  const rows = cells.map(
    (cell) =>
      `<tr${cell.invalid ? ' class="invalid"' : ''}>${COLUMNS.map((column) => `<td${column.numeric ? ' class="num"' : ''}>${column.value(cell)}</td>`).join('')}</tr>`,
  );
  return [
    '<section><h2>Cells</h2>',
    '<div class="table-scroll" data-scroll="cells"><table data-table="cells">',
    `<thead>${head}</thead>`,
    `<tbody>\n${rows.join('\n')}\n</tbody>`,
    '</table></div></section>',
  ].join('\n');
}
