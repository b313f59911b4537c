/** Aligned plain-text tables for the terminal: the run's summary, check's comparison, compare's side-by-side. Pure. */

/** One column: its title, and which side its cells line up on. */
export interface TextColumn {
  title: string;
  /** `left` (the default) for names and verdicts, `right` for numbers. */
  align?: 'left' | 'right';
}

/**
 * The table's lines: the titles, a rule of dashes under them if asked, then
 * one line per row. Each column is as wide as its widest cell, columns are
 * two spaces apart, and no line ends in spaces.
 */
export function textTableLines(columns: readonly TextColumn[], rows: readonly (readonly string[])[], options: { rule?: boolean } = {}): string[] {
  const widths = columns.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => (column.align === 'right' ? (cells[i] ?? '').padStart(widths[i]!) : (cells[i] ?? '').padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((column) => column.title)),
    ...(options.rule ? [widths.map((width) => '-'.repeat(width)).join('  ')] : []),
    ...rows.map(line),
  ];
}
