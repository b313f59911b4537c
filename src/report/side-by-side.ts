/**
 * `tokenmeter compare`'s output: the per-model summary (the run report's
 * headline), then the side-by-side tables; as terminal text, Markdown and an
 * HTML section. Pure.
 */
import type { SideBySide, SideBySideDiff, SideBySideValue } from '../types.js';
import { escapeHtml, escapeMarkdownPipes } from '../util/escape.js';
import { formatNumber, loadLabel, signedPercent, signedPoints } from '../util/format.js';
import { textTableLines } from '../util/text-table.js';
import type { Headline } from './headline.js';

/** `p<0.001`, `p=0.004`, `p=0.41`: enough digits to read, none that pretend. */
function pText(p: number): string {
  if (p < 0.001) return 'p<0.001';
  return `p=${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;
}

/** `+12.0% [+8.1%, +15.2%], p<0.001`: an estimate with its interval and p-value, in points or as a relative change. */
function estimateText(estimate: number, interval: [number, number] | undefined, p: number | undefined, points: boolean): string {
  const signed = points ? signedPoints : signedPercent;
  return `${signed(estimate)}${interval ? ` [${signed(interval[0])}, ${signed(interval[1])}]` : ''}${p !== undefined ? `, ${pText(p)}` : ''}`;
}

/** The difference to the first contender, `~` where it is not beyond the noise (benchstat's mark); a row with no test (ITL) is not judged. */
function diffText(diff: SideBySideDiff, points: boolean, judged: boolean): string {
  if (!judged) return `${signedPercent(diff.change)}, not judged`;
  const noise = diff.significant === true ? '' : '~ ';
  if (diff.unjudged) return `${noise}${points ? signedPoints(diff.change) : signedPercent(diff.change)}, ${diff.unjudged}`;
  if (diff.of) return `${noise}${signedPercent(diff.change)}; ${diff.of.what} ${estimateText(diff.of.estimate, diff.interval, diff.p, diff.of.points === true)}`;
  return `${noise}${estimateText(diff.change, diff.interval, diff.p, points)}`;
}

/** `121 ★ (+48.8% [+48.3%, +49.6%], p<0.001, n=48)`: the value, the winner's mark, the difference to the first contender, the samples. */
function cellText(entry: SideBySideValue | undefined, mark: string, points: boolean, judged: boolean, absent: string | undefined): string {
  if (!entry) return absent ?? '—';
  const best = entry.best ? ` ${mark}` : '';
  const parts = [entry.diff ? diffText(entry.diff, points, judged) : undefined, entry.n !== undefined ? `n=${entry.n}` : undefined].filter(Boolean);
  return `${formatNumber(entry.value)}${best}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

function tables(comparison: SideBySide, mark: string): { title: string; header: string[]; rows: string[][]; best: boolean[][] }[] {
  return comparison.levels.map((level) => ({
    title: loadLabel(level.load),
    header: ['metric', ...comparison.contenders],
    rows: level.rows.map((row) => [
      `${row.metric} (${row.unit})`,
      ...row.values.map((entry) => cellText(entry, mark, row.test === 'proportion' && !entry?.diff?.of, row.test !== 'none', row.absent)),
    ]),
    best: level.rows.map((row) => row.values.map((entry) => entry?.best === true)),
  }));
}

const percentOf = (share: number): string => `${Math.round(share * 1000) / 10}%`;

/** How to read the tables: what is marked, what each figure is, how each row is judged. */
function legend(comparison: SideBySide, mark: string): string[] {
  const corrected =
    comparison.testConfidence !== comparison.confidence
      ? ` (${percentOf(comparison.testConfidence)} each: Bonferroni over the ${comparison.contenders.length - 1} comparisons of a row)`
      : '';
  return [
    `${mark} marks a row's winner: the best value, and significantly better than every other contender's; ~ marks a difference within the noise, or whose interval reaches under 2%.`,
    `(±x% [interval], p, n) is the difference to ${comparison.contenders[0]} with its ${percentOf(comparison.confidence)} interval${corrected}, ` +
      'the p-value and the samples it rests on: p50 rows, the Hodges–Lehmann shift of the requests with its Mann–Whitney interval and p-value; ' +
      'p95/p99 rows, a bootstrap of the percentile; throughput rows, the shift of the per-request rates; error rate and goodput, ' +
      "Newcombe's interval of the difference in points; ITL rows are not judged (docs/compare.md).",
  ];
}

/** The per-model summary: issue 9's headline, as table rows. */
function summaryRows(summary: readonly Headline[]): { header: string[]; rows: string[][] } {
  const load = (level: Headline['maxLoadWithinSlo']) => (level ? loadLabel(level) : '—');
  return {
    header: ['model', 'max load within SLO', 'best goodput', 'best output throughput', 'tokens/chunk mean'],
    rows: summary.map((row) => [
      row.model,
      !row.hasSlo ? 'no SLO' : row.maxLoadWithinSlo ? load(row.maxLoadWithinSlo) : 'none',
      !row.hasSlo ? 'no SLO' : row.bestGoodput ? `${formatNumber(row.bestGoodput.perS)} req/s at ${load(row.bestGoodput.load)}` : '—',
      row.bestThroughput ? `${formatNumber(row.bestThroughput.tokensPerS)} tok/s at ${load(row.bestThroughput.load)}` : '—',
      formatNumber(row.tokensPerChunk),
    ]),
  };
}

export function renderSideBySideText(comparison: SideBySide, summary: readonly Headline[]): string {
  const out: string[] = [];
  const headline = summaryRows(summary);
  out.push('summary', ...textTableLines(headline.header.map((title) => ({ title })), headline.rows, { rule: true }), '');
  for (const note of comparison.notes) out.push(`note: ${note}`, '');
  for (const table of tables(comparison, '*')) {
    out.push(`at ${table.title}`, ...textTableLines(table.header.map((title) => ({ title })), table.rows, { rule: true }), '');
  }
  out.push(...legend(comparison, '*').map((line) => `(${line})`), '');
  return out.join('\n');
}

export function renderSideBySideMarkdown(title: string, comparison: SideBySide, summary: readonly Headline[]): string {
  const out = [`## ${escapeMarkdownPipes(title)}`, ''];
  const markdownTable = (header: string[], rows: string[][]) => [
    `| ${header.map(escapeMarkdownPipes).join(' | ')} |`,
    `|${header.map(() => ' --- ').join('|')}|`,
    ...rows.map((row) => `| ${row.map(escapeMarkdownPipes).join(' | ')} |`),
  ];
  const headline = summaryRows(summary);
  out.push('### Summary', '', ...markdownTable(headline.header, headline.rows), '');
  for (const note of comparison.notes) out.push(`> ${escapeMarkdownPipes(note)}`, '');
  for (const table of tables(comparison, '**★**')) out.push(`### at ${escapeMarkdownPipes(table.title)}`, '', ...markdownTable(table.header, table.rows), '');
  out.push(...legend(comparison, '★').map((line) => `_${line}_`), '');
  return out.join('\n');
}

/** The HTML section the compare page puts below its charts (the page's headline section is the summary). */
export function renderSideBySideHtml(comparison: SideBySide): string {
  const out = ['<section data-section="compare"><h2>Side by side</h2>'];
  for (const note of comparison.notes) out.push(`<p class="note" data-note="compare">${escapeHtml(note)}</p>`);
  for (const table of tables(comparison, '★')) {
    out.push(`<h3>at ${escapeHtml(table.title)}</h3>`, '<div class="table-wrap"><table data-table="compare">');
    out.push(`<thead><tr>${table.header.map((name) => `<th scope="col">${escapeHtml(name)}</th>`).join('')}</tr></thead><tbody>`);
    for (const [r, [metric, ...cells]] of table.rows.entries()) {
      out.push(`<tr><th scope="row">${escapeHtml(metric!)}</th>${cells.map((text, i) => `<td class="num${table.best[r]![i] ? ' best' : ''}">${escapeHtml(text)}</td>`).join('')}</tr>`);
    }
    out.push('</tbody></table></div>');
  }
  out.push(...legend(comparison, '★').map((line) => `<p class="note">${escapeHtml(line)}</p>`), '</section>');
  return out.join('\n');
}
