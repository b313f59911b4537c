/** Aligned plain-text tables for the terminal: the run's summary, check's comparison, compare's side-by-side. Pure. */

/** One column: its title, and which side its cells line up on. */
export interface TextColumn {
  title: string;
  /** `left` (the default) for names and verdicts, `right` for numbers. */
  align?: 'left' | 'right';
  /** A heading shared by consecutive columns (`TTFT ms` over `p50 p95 p99`), on a line above the titles. */
  group?: string;
}

/**
 * The table's lines: the group headings (when any column has one), the
 * titles, a rule of dashes under them if asked, then one line per row. Each
 * column is as wide as its widest cell, columns are two spaces apart, and no
 * line ends in spaces. A group heading starts where its first column starts.
 */
export function textTableLines(columns: readonly TextColumn[], rows: readonly (readonly string[])[], options: { rule?: boolean } = {}): string[] {
  const widths = columns.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => (column.align === 'right' ? (cells[i] ?? '').padStart(widths[i]!) : (cells[i] ?? '').padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    ...(columns.some((column) => column.group !== undefined) ? [groupLine(columns, widths)] : []),
    line(columns.map((column) => column.title)),
    ...(options.rule ? [widths.map((width) => '-'.repeat(width)).join('  ')] : []),
    ...rows.map(line),
  ];
}

/** The group headings, each at the start of its first column, over the run of columns that share it. */
function groupLine(columns: readonly TextColumn[], widths: readonly number[]): string {
  let text = '';
  let at = 0;
  columns.forEach((column, i) => {
    const starts = column.group !== undefined && column.group !== columns[i - 1]?.group;
    // A heading longer than the columns before the next one pushes it along rather than overlap it.
    if (starts) text = (text.length >= at ? `${text} ` : text.padEnd(at)) + column.group;
    at += widths[i]! + 2;
  });
  return text.trimEnd();
}
