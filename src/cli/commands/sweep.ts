/**
 * `tokenmeter sweep SCENARIO`: per model, a synchronous probe (c=1), a
 * throughput probe (c=sweep.maxConcurrency), then sweep.rates rates evenly
 * spaced between the request rates they measured (load/sweep.ts), every cell
 * in one results folder and one report, thresholds judged as `run` judges them.
 */
import { checkTokenizerFiles } from '../../load/workload.js';
import { judgeThresholds, refuseChosenLoad, sweepEvents } from '../../pipeline.js';
import { renderSummaryTable, renderSweep } from '../../report/console.js';
import { scenarioFromArgs } from '../quick-scenario.js';
import { ExitCode } from '../exit-codes.js';
import { guardedIo, withResultsFolder, writeCiOutputs, type Io, type RunArgs } from './run.js';

/** The sweep's own flags, which win over the scenario's `sweep` block. */
export interface SweepArgs extends RunArgs {
  /** `--rates K`: rates between the probes. */
  rates?: number;
  /** `--max-concurrency C`: requests in flight in the throughput probe. */
  maxConcurrency?: number;
}

export async function sweepCommand(args: SweepArgs, given: Io): Promise<number> {
  // As `--set`s, after the user's own: the scenario's checks (and run.json's record of the scenario) see them.
  const set = [
    ...(args.set ?? []),
    ...(args.rates !== undefined ? [`sweep.rates=${args.rates}`] : []),
    ...(args.maxConcurrency !== undefined ? [`sweep.maxConcurrency=${args.maxConcurrency}`] : []),
  ];
  const scenario = await scenarioFromArgs({ ...args, set, ...(args.workers !== undefined ? { readers: { workers: args.workers } } : {}) }, given.env);
  const io = guardedIo(scenario, given);
  refuseChosenLoad(scenario, 'sweep');
  await checkTokenizerFiles(scenario);
  const outcome = await withResultsFolder(scenario, args, io, (options) => sweepEvents(scenario, options));
  io.stdout.write(renderSummaryTable(outcome.cells));
  io.stdout.write(renderSweep(outcome.sweep ?? []));
  for (const message of outcome.exitMessages) io.stderr.write(message);
  if (outcome.writeFailed) return outcome.exitCode;
  const verdict = judgeThresholds(scenario, outcome);
  if (verdict) {
    io.stdout.write(verdict.lines);
    await writeCiOutputs(outcome.outDir, io, verdict);
  }
  // A model whose probe measured no request rate got no sweep: the command did not do what was asked.
  const stoppedAtProbe = (outcome.sweep ?? []).some((model) => model.stopped !== undefined && model.throughputRps === undefined && !model.interrupted);
  if (outcome.exitCode !== ExitCode.OK) return outcome.exitCode;
  if (stoppedAtProbe) {
    io.stderr.write('error: a probe measured no request rate, so that model was not swept (see "stopped" above)\n');
    return ExitCode.RUN_FAILED;
  }
  return verdict?.failed ? ExitCode.THRESHOLDS_FAILED : ExitCode.OK;
}
