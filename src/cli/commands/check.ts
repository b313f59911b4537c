/**
 * `tokenmeter check RESULTS --baseline BASELINE`: compares two results
 * folders cell by cell from their requests.jsonl, and fails (exit 99) only on
 * a regression beyond the allowed margin that is also beyond the noise.
 */
import path from 'node:path';
import { compareRuns, DEFAULT_MAX_REGRESSION, parseRegressionRules } from '../../check/baseline.js';
import { renderJunit } from '../../check/junit.js';
import { comparisonCases, renderComparisonLines, renderComparisonMarkdown } from '../../check/render.js';
import { loadLabel } from '../../util/format.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { readResultsFolder, type ResultsFolder } from '../results-folder.js';
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
  // Whole folders, so a missing or corrupt file in either fails the gate (exit 2) instead of passing it.
  const baseline = await readResultsFolder(args.baseline);
  if (!baseline.completed) {
    // Its missing cells would go unchecked: an interrupted run is no baseline.
    throw new UsageError(`${path.join(args.baseline, 'run.json')}: the baseline is an incomplete run (completed: false${reasonOf(baseline)}); record a complete one`);
  }
  const current = await readResultsFolder(args.results);
  const { comparisons, missing, onlyInCurrent } = compareRuns(baseline.lines, current.lines, rules, { confidence });
  if (comparisons.length === 0 && missing.length === 0) {
    throw new UsageError(`${args.baseline} has no measured request to compare ${args.results} with`);
  }
  const verdict = { comparisons, missing };
  io.stdout.write(renderComparisonLines(verdict, confidence));
  for (const cell of onlyInCurrent) io.stderr.write(`warning: ${cell.model} @ ${loadLabel(cell.load)} is not in the baseline: not compared\n`);
  // A run cut short by Ctrl-C proves nothing either way: it fails the gate rather than pass on what it skipped.
  const incomplete = !current.completed;
  if (incomplete) io.stderr.write(`error: ${args.results} is an incomplete run (run.json says completed: false${reasonOf(current)}): it cannot pass a check\n`);
  await writeCiOutputs(
    args.results,
    io,
    {
      markdown: renderComparisonMarkdown(`${path.basename(args.results)} vs ${path.basename(args.baseline)}`, verdict),
      junit: renderJunit([{ name: `baseline: ${path.basename(args.baseline)}`, cases: comparisonCases(verdict) }]),
    },
    'check',
  );
  const failed = incomplete || missing.length > 0 || comparisons.some((c) => c.regression);
  return failed ? ExitCode.THRESHOLDS_FAILED : ExitCode.OK;
}

const reasonOf = (folder: ResultsFolder): string => (folder.incompleteReason === undefined ? '' : `: ${folder.incompleteReason}`);
