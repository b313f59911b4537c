/**
 * `tokenmeter capacity SCENARIO`: for each model, the highest load (the
 * scenario's kind: concurrency or rate) that meets the scenario's SLO, and
 * the first load that did not, with the bound that broke.
 */
import { checkTokenizerFiles } from '../../load/workload.js';
import { capacityEvents, refuseChosenLoad } from '../../pipeline.js';
import { renderCapacity } from '../../report/console.js';
import { ScenarioError } from '../../scenario/load.js';
import { scenarioFromArgs } from '../quick-scenario.js';
import { ExitCode } from '../exit-codes.js';
import { guardedIo, withResultsFolder, type Io, type RunArgs } from './run.js';

export async function capacityCommand(args: RunArgs, given: Io): Promise<number> {
  const scenario = await scenarioFromArgs({ ...args, ...(args.workers !== undefined ? { readers: { workers: args.workers } } : {}) }, given.env);
  const io = guardedIo(scenario, given);
  if (scenario.slo.length === 0) {
    throw new ScenarioError(scenario.file, [`${scenario.file}: slo: capacity needs an SLO to search against, e.g. slo: {ttft_p95_ms: 500, tpot_p95_ms: 50}`]);
  }
  refuseChosenLoad(scenario, 'capacity');
  await checkTokenizerFiles(scenario);
  const outcome = await withResultsFolder(scenario, args, io, (options) => capacityEvents(scenario, options));
  io.stdout.write(renderCapacity(outcome.capacity ?? [], outcome.cells));
  for (const message of outcome.exitMessages) io.stderr.write(message);
  // A model for which no load met the SLO fails the search, as a failed threshold fails a run.
  const noLoadMet = (outcome.capacity ?? []).some((model) => model.best === undefined && !model.interrupted);
  return outcome.exitCode === ExitCode.OK && noLoadMet ? ExitCode.THRESHOLDS_FAILED : outcome.exitCode;
}
