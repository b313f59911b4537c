/**
 * `tokenmeter compare RESULTS...`: the models of one run, or of several runs,
 * side by side at each load level; as terminal text, compare.md and
 * compare.html (the run report's charts, one colour per contender).
 */
import path from 'node:path';
import { compareContenders, type Contender } from '../../check/compare.js';
import { renderReportHtml } from '../../report/html.js';
import { renderSideBySideMarkdown, renderSideBySideText } from '../../report/side-by-side.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { createOutputDir, writeFileAtomic } from '../files.js';
import { readResultsFolder, type ResultsFolder } from '../results-folder.js';
import type { Io } from './run.js';

export interface CompareArgs {
  results: string[];
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
  const contenders: Contender[] = pairs.map(({ run, model }) => {
    const name = ambiguous ? `${runNames[runs.indexOf(run)]}/${model}` : model;
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
  io.stdout.write(renderSideBySideText(comparison));

  const outDir = await createOutputDir(args.out, 'compare', new Date(), args.resultsRoot, io.fs);
  const html = await renderReportHtml({
    title,
    description: `From ${args.results.join(', ')}`,
    generatedAt: new Date().toISOString(),
    cells: contenders.flatMap((c) => c.cells),
    slo: runs[0]!.scenario.slo,
    sideBySide: comparison,
  });
  await writeFileAtomic(path.join(outDir, 'compare.md'), renderSideBySideMarkdown(title, comparison), io.fs);
  await writeFileAtomic(path.join(outDir, 'compare.html'), html, io.fs);
  io.stderr.write(`wrote ${outDir}/{compare.md,compare.html}\n`);
  return ExitCode.OK;
}

/** The shortest trailing part of each path that tells it from the others: `a/run` and `b/run`, not `run` twice. */
export function uniqueNames(dirs: readonly string[]): string[] {
  const parts = dirs.map((dir) => path.resolve(dir).split(path.sep).filter(Boolean));
  for (let depth = 1; ; depth++) {
    const names = parts.map((p) => p.slice(-depth).join('/'));
    if (new Set(names).size === names.length || depth >= Math.max(...parts.map((p) => p.length))) return names;
  }
}
