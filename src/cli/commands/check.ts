/**
 * `tokenmeter check RESULTS --baseline BASELINE`: judges a results folder
 * against a baseline, rule by rule and cell by cell (check/verdict.ts): exit 99
 * on a regression beyond the margin and beyond the noise, 97 when a verdict is
 * inconclusive (unless `--inconclusive pass|fail`), 2 when the two folders are
 * not runs of the same scenario. `tokenmeter check --plan BASELINE` says how
 * many requests per cell the rules need (check/plan.ts).
 */
import path from 'node:path';
import { DEFAULT_MAX_REGRESSION, parseRegressionRules, type RegressionRule } from '../../check/baseline.js';
import { renderJunit } from '../../check/junit.js';
import { planSizes } from '../../check/plan.js';
import { comparisonCases, renderComparisonLines, renderComparisonMarkdown, renderPlanLines } from '../../check/render.js';
import { judgeRuns, type CellFlaws } from '../../check/verdict.js';
import { scenarioDifferences } from '../../merge.js';
import { loadLabel } from '../../util/format.js';
import { cellId } from '../../util/load-level.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { readResultsFolder, type ResultsFolder } from '../results-folder.js';
import { writeCiOutputs, type Io } from './run.js';

/** What an inconclusive verdict does to the exit code: its own code (97), or counted as a pass or a failure. */
export type InconclusivePolicy = 'code' | 'pass' | 'fail';

export interface CheckArgs {
  /** The folder to judge; not needed with `plan`. */
  results?: string;
  baseline?: string;
  /** A baseline folder to size a check from, instead of judging a run. */
  plan?: string;
  maxRegression?: string;
  confidence?: number;
  inconclusive?: InconclusivePolicy;
  /** Judge folders of different scenarios anyway. */
  allowDifferent?: boolean;
}

export async function checkCommand(args: CheckArgs, io: Io): Promise<number> {
  let rules: RegressionRule[];
  try {
    rules = parseRegressionRules(args.maxRegression ?? DEFAULT_MAX_REGRESSION);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const confidence = args.confidence ?? 0.95;
  if (!(confidence > 0.5 && confidence < 1)) throw new UsageError('--confidence must be between 0.5 and 1 (e.g. 0.95)');
  if (args.plan !== undefined) {
    const baseline = await readResultsFolder(args.plan);
    io.stdout.write(renderPlanLines(planSizes(baseline.lines, rules, confidence)));
    return ExitCode.OK;
  }
  if (args.results === undefined || args.baseline === undefined) throw new UsageError('check needs RESULTS and --baseline BASELINE (or --plan BASELINE)');
  // Whole folders, so a missing or corrupt file in either fails the gate (exit 2) instead of passing it.
  const baseline = await readResultsFolder(args.baseline);
  if (!baseline.completed) {
    // Its missing cells would go unchecked: an interrupted run is no baseline.
    throw new UsageError(`${path.join(args.baseline, 'run.json')}: the baseline is an incomplete run (completed: false${reasonOf(baseline)}); record a complete one`);
  }
  const current = await readResultsFolder(args.results);
  const differences = scenarioDifferences(comparedScenario(baseline), comparedScenario(current));
  if (differences.length > 0 && !args.allowDifferent) {
    throw new UsageError(
      `${args.results} and ${args.baseline} are runs of different scenarios (run.json differs at ${differences.join(', ')}): their numbers do not compare (--allow-different judges them anyway)`,
    );
  }
  const judged = judgeRuns(baseline.lines, current.lines, rules, { confidence, flaws: flawsOf(baseline, current) });
  const { verdicts, onlyInCurrent } = judged;
  // Two sweeps each plan their rates from their own probes: a rate only one of them chose is not a cell
  // the other lost. Their probes, and any rate both chose, are judged; a probe missing still fails.
  const sweeps = baseline.sweep !== undefined && current.sweep !== undefined;
  const missing = sweeps ? judged.missing.filter((cell) => cell.load.kind !== 'rate') : judged.missing;
  if (sweeps && judged.missing.length > missing.length) {
    io.stderr.write(`note: two sweeps: ${judged.missing.length - missing.length} rate cell(s) of the baseline were not chosen by this run's sweep, and are not compared\n`);
  }
  if (verdicts.length === 0 && missing.length === 0) {
    throw new UsageError(`${args.baseline} has no measured request to compare ${args.results} with`);
  }
  const verdict = { verdicts, missing };
  const policy = args.inconclusive ?? 'code';
  io.stdout.write(renderComparisonLines(verdict, confidence));
  for (const cell of onlyInCurrent) io.stderr.write(`warning: ${cell.model} @ ${loadLabel(cell.load)} is not in the baseline: not compared\n`);
  // Repeats count as observations only when both sides have them (check/verdict.ts): say when one side's go unused.
  if (judged.repeated.baseline !== judged.repeated.current) {
    const [has, lacks] = judged.repeated.baseline ? ['the baseline', args.results] : [args.results, 'the baseline'];
    io.stderr.write(`warning: ${has} has --repeat runs and ${lacks} has not: the spread between runs is not measured, only the requests within them (run both with --repeat)\n`);
  }
  // A run cut short by Ctrl-C proves nothing either way: it fails the gate rather than pass on what it skipped.
  const incomplete = !current.completed;
  if (incomplete) io.stderr.write(`error: ${args.results} is an incomplete run (run.json says completed: false${reasonOf(current)}): it cannot pass a check\n`);
  await writeCiOutputs(
    args.results,
    io,
    {
      markdown: renderComparisonMarkdown(`${path.basename(args.results)} vs ${path.basename(args.baseline)}`, verdict),
      junit: renderJunit([{ name: `baseline: ${path.basename(args.baseline)}`, cases: comparisonCases(verdict, policy === 'fail') }]),
    },
    'check',
  );
  if (incomplete || missing.length > 0 || verdicts.some((v) => v.outcome === 'regression')) return ExitCode.THRESHOLDS_FAILED;
  if (!verdicts.some((v) => v.outcome === 'inconclusive')) return ExitCode.OK;
  return policy === 'pass' ? ExitCode.OK : policy === 'fail' ? ExitCode.THRESHOLDS_FAILED : ExitCode.INCONCLUSIVE;
}

const reasonOf = (folder: ResultsFolder): string => (folder.incompleteReason === undefined ? '' : `: ${folder.incompleteReason}`);

/**
 * What makes two runs comparable, from run.json's scenario: the models (with
 * their tokenizers), params, prompts and load levels (a ramp and a trace with
 * them: a 2→20 req/s ramp is not a steady 2 req/s run). The target, seed,
 * thresholds and client-health bounds may differ (a candidate build, another
 * simulator seed, a looser `load.maxClientLag` on a busy machine).
 */
function comparedScenario(folder: ResultsFolder): Record<string, unknown> {
  const { models, params, prompts, load } = folder.runJson.scenario as Record<string, unknown> & { load?: Record<string, unknown> };
  const { kind, levels, ramp, trace, requests, durationMs, warmup, warmupMs, arrival, burstiness } = load ?? {};
  return { models, params, prompts, load: { kind, levels, ramp, trace, requests, durationMs, warmup, warmupMs, arrival, burstiness } };
}

/** The cells (any repeat) that are invalid or short on either side, with the reason: they can never be "ok". */
function flawsOf(baseline: ResultsFolder, current: ResultsFolder): CellFlaws {
  const flaws: CellFlaws = new Map();
  for (const [side, folder] of [['baseline', baseline], ['this run', current]] as const) {
    for (const cell of folder.cells) {
      const flaw = cell.invalid !== undefined ? `invalid in ${side}: ${cell.invalid}` : cell.short !== undefined ? `short in ${side}: ${cell.short}` : undefined;
      if (flaw === undefined) continue;
      const key = cellId(cell);
      flaws.set(key, flaws.has(key) ? `${flaws.get(key)}; ${flaw}` : flaw);
    }
  }
  return flaws;
}
