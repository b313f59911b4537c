/** `tokenmeter compare`'s tables: terminal text, Markdown and an HTML section. Pure. */
import type { SideBySide, SideBySideValue } from '../types.js';
import { escapeHtml, escapeMarkdownPipes } from '../util/escape.js';
import { formatNumber, loadLabel, signedPercent } from '../util/format.js';
import { textTableLines } from '../util/text-table.js';


/** `412.3 ★ (+12.0% [+8.1%, +15.2%])`: the value, the best-mark, the difference to the first contender. */
function cellText(entry: SideBySideValue | undefined, mark: string): string {
  if (!entry) return '—';
  const best = entry.best ? ` ${mark}` : '';
  const diff = entry.diff
    ? ` (${signedPercent(entry.diff.change)}${entry.diff.interval ? ` [${signedPercent(entry.diff.interval[0])}, ${signedPercent(entry.diff.interval[1])}]` : ''})`
    : '';
  return `${formatNumber(entry.value)}${best}${diff}`;
}

function tables(comparison: SideBySide, mark: string): { title: string; header: string[]; rows: string[][] }[] {
  return comparison.levels.map((level) => ({
    title: loadLabel(level.load),
    header: ['metric', ...comparison.contenders],
    rows: level.rows.map((row) => [`${row.metric} (${row.unit})`, ...row.values.map((entry) => cellText(entry, mark))]),
  }));
}

const legend = (comparison: SideBySide): string =>
  `the best value of each row is marked; (±x%) is the difference to ${comparison.contenders[0]}, [interval] its ` +
  `${Math.round(comparison.confidence * 100)}% bootstrap interval from the per-request samples`;

export function renderSideBySideText(comparison: SideBySide): string {
  const out: string[] = [];
  for (const table of tables(comparison, '*')) {
    out.push(`at ${table.title}`, ...textTableLines(table.header.map((title) => ({ title })), table.rows, { rule: true }), '');
  }
  out.push(`(${legend(comparison)}: *)`, '');
  return out.join('\n');
}

export function renderSideBySideMarkdown(title: string, comparison: SideBySide): string {
  const out = [`## ${escapeMarkdownPipes(title)}`, ''];
  for (const table of tables(comparison, '**★**')) {
    out.push(`### at ${escapeMarkdownPipes(table.title)}`, '', `| ${table.header.map(escapeMarkdownPipes).join(' | ')} |`, `|${table.header.map(() => ' --- ').join('|')}|`);
    out.push(...table.rows.map((row) => `| ${row.map(escapeMarkdownPipes).join(' | ')} |`), '');
  }
  out.push(`_${legend(comparison)}: ★_`, '');
  return out.join('\n');
}

/** The HTML section the compare page puts above its charts. */
export function renderSideBySideHtml(comparison: SideBySide): string {
  const out = ['<section data-section="compare"><h2>Side by side</h2>'];
  for (const level of comparison.levels) {
    out.push(`<h3>at ${escapeHtml(loadLabel(level.load))}</h3>`, '<div class="table-wrap"><table data-table="compare">');
    out.push(`<thead><tr><th scope="col">metric</th>${comparison.contenders.map((name) => `<th scope="col">${escapeHtml(name)}</th>`).join('')}</tr></thead><tbody>`);
    for (const row of level.rows) {
      const cells = row.values.map((entry) => `<td class="num${entry?.best ? ' best' : ''}">${escapeHtml(cellText(entry, '★'))}</td>`);
      out.push(`<tr><th scope="row">${escapeHtml(`${row.metric} (${row.unit})`)}</th>${cells.join('')}</tr>`);
    }
    out.push('</tbody></table></div>');
  }
  out.push(`<p class="note">${escapeHtml(legend(comparison))}: ★</p></section>`);
  return out.join('\n');
}
