/**
 * `tokenmeter check RESULTS --baseline BASELINE`: compares two results
 * folders cell by cell from their requests.jsonl, and fails (exit 99) only on
 * a regression beyond the allowed margin that is also beyond the noise.
 */
import path from 'node:path';
import { compareRuns, DEFAULT_MAX_REGRESSION, parseRegressionRules } from '../../check/baseline.js';
import { renderJunit } from '../../check/junit.js';
import { comparisonCases, renderComparisonLines, renderComparisonMarkdown } from '../../check/render.js';
import { loadLabel } from '../../report/load-label.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { readRequestLines } from '../results-folder.js';
import { writeCiOutputs, type Io } from './run.js';

export interface CheckArgs {
  results: string;
  baseline: string;
  maxRegression?: string;
  confidence?: number;
}

export async function checkCommand(args: CheckArgs, io: Io): Promise<number> {
  let rules;
  try {
    rules = parseRegressionRules(args.maxRegression ?? DEFAULT_MAX_REGRESSION);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const confidence = args.confidence ?? 0.95;
  if (!(confidence > 0.5 && confidence < 1)) throw new UsageError('--confidence must be between 0.5 and 1 (e.g. 0.95)');
  const baseline = await readRequestLines(args.baseline);
  const current = await readRequestLines(args.results);
  const { comparisons, onlyInBaseline, onlyInCurrent } = compareRuns(baseline, current, rules, { confidence });
  if (comparisons.length === 0) {
    throw new UsageError(`${args.results} and ${args.baseline} share no cell with successful requests to compare (same models and load levels?)`);
  }
  io.stdout.write(renderComparisonLines(comparisons, confidence));
  for (const cell of onlyInBaseline) io.stderr.write(`warning: ${cell.model} @ ${loadLabel(cell.load)} is in the baseline only: not compared\n`);
  for (const cell of onlyInCurrent) io.stderr.write(`warning: ${cell.model} @ ${loadLabel(cell.load)} is not in the baseline: not compared\n`);
  await writeCiOutputs(args.results, io, {
    markdown: renderComparisonMarkdown(`${path.basename(args.results)} vs ${path.basename(args.baseline)}`, comparisons),
    junit: renderJunit([{ name: `baseline: ${path.basename(args.baseline)}`, cases: comparisonCases(comparisons) }]),
  }, 'check');
  return comparisons.some((c) => c.regression) ? ExitCode.THRESHOLDS_FAILED : ExitCode.OK;
}
