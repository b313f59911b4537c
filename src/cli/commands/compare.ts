/**
 * `tokenmeter compare RESULTS...`: the models of one run, or of several runs,
 * side by side at each load level; as terminal text, compare.md and
 * compare.html (the run report's charts, one colour per contender).
 */
import path from 'node:path';
import { compareContenders, type Contender } from '../../check/compare.js';
import { headlines } from '../../report/headline.js';
import { renderReportHtml } from '../../report/html.js';
import { renderSideBySideMarkdown, renderSideBySideText } from '../../report/side-by-side.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { createOutputDir, writeFileAtomic } from '../files.js';
import { readResultsFolder, type ResultsFolder } from '../results-folder.js';
import type { Io } from './run.js';

export interface CompareArgs {
  results: string[];
  /** `--label OLD=NEW`: OLD a contender's name as compare would give it, or its position (1, 2…). */
  labels?: string[];
  out?: string;
  resultsRoot?: string;
}

export async function compareCommand(args: CompareArgs, io: Io): Promise<number> {
  const runs: ResultsFolder[] = [];
  for (const dir of args.results) runs.push(await readResultsFolder(dir));
  const resolved = args.results.map((dir) => path.resolve(dir));
  if (new Set(resolved).size < resolved.length) throw new UsageError('compare: the same results folder is named twice');
  // A contender per model per run; named by the model alone unless two runs share a model, then by the run too.
  const pairs = runs.flatMap((run) => [...new Set(run.cells.map((cell) => cell.model))].map((model) => ({ run, model })));
  const ambiguous = new Set(pairs.map((p) => p.model)).size < pairs.length;
  const runNames = uniqueNames(args.results);
  const defaultNames = pairs.map(({ run, model }) => (ambiguous ? `${runNames[runs.indexOf(run)]}/${model}` : model));
  const names = relabel(defaultNames, args.labels ?? []);
  const contenders: Contender[] = pairs.map(({ run, model }, index) => {
    const name = names[index]!;
    return {
      name,
      // Relabelled so each contender gets its own colour in the charts.
      // With --repeat, the merged cells (repeat undefined) stand for the cell.
      cells: run.cells.filter((cell) => cell.model === model && cell.repeat === undefined).map((cell) => ({ ...cell, model: name })),
      lines: run.lines.filter((line) => line.model === model).map((line) => ({ ...line, model: name })),
    };
  });
  if (contenders.length < 2) throw new UsageError('compare needs two contenders: a results folder with two models, or two folders');
  const comparison = compareContenders(contenders);
  const shared = comparison.levels.filter((level) => level.rows[0]!.values.filter(Boolean).length > 1).length;
  if (shared === 0) io.stderr.write('warning: the contenders share no load level: nothing is side by side\n');
  const title = `compare: ${contenders.map((c) => c.name).join(' vs ')}`;
  const summary = headlines(
    contenders.flatMap((c) => c.cells),
    runs[0]!.scenario.slo,
  );
  // The summary in contender order, as the tables are, not in name order.
  summary.sort((a, b) => names.indexOf(a.model) - names.indexOf(b.model));
  io.stdout.write(renderSideBySideText(comparison, summary));

  const outDir = await createOutputDir(args.out, 'compare', new Date(), args.resultsRoot, io.fs);
  const html = await renderReportHtml({
    title,
    description: `From ${args.results.join(', ')}`,
    generatedAt: new Date().toISOString(),
    cells: contenders.flatMap((c) => c.cells),
    slo: runs[0]!.scenario.slo,
    sideBySide: comparison,
  });
  await writeFileAtomic(path.join(outDir, 'compare.md'), renderSideBySideMarkdown(title, comparison, summary), io.fs);
  await writeFileAtomic(path.join(outDir, 'compare.html'), html, io.fs);
  io.stderr.write(`wrote ${outDir}/{compare.md,compare.html}\n`);
  return ExitCode.OK;
}

/**
 * The contenders' names after `--label OLD=NEW` (OLD a name as compare gives
 * it, or a 1-based position); throws a UsageError for an OLD that names no
 * contender or for two contenders left with one name.
 */
export function relabel(names: readonly string[], labels: readonly string[]): string[] {
  const renamed = [...names];
  for (const label of labels) {
    const match = /^(.+?)=(.+)$/.exec(label);
    if (!match) throw new UsageError(`--label "${label}" must be OLD=NEW (OLD one of ${names.join(', ')}, or a position 1…${names.length})`);
    const [, old, name] = match;
    const position = /^\d+$/.test(old!) ? Number(old) - 1 : names.indexOf(old!);
    if (position < 0 || position >= names.length) throw new UsageError(`--label ${label}: no contender is "${old}" (they are ${names.join(', ')})`);
    renamed[position] = name!;
  }
  if (new Set(renamed).size < renamed.length) throw new UsageError(`--label: two contenders would both be called ${renamed.find((n, i) => renamed.indexOf(n) !== i)}`);
  return renamed;
}

/** The shortest trailing part of each path that tells it from the others: `a/run` and `b/run`, not `run` twice. */
export function uniqueNames(dirs: readonly string[]): string[] {
  const parts = dirs.map((dir) => path.resolve(dir).split(path.sep).filter(Boolean));
  for (let depth = 1; ; depth++) {
    const names = parts.map((p) => p.slice(-depth).join('/'));
    if (new Set(names).size === names.length || depth >= Math.max(...parts.map((p) => p.length))) return names;
  }
}
