/**
 * `tokenmeter capacity SCENARIO`: for each model, the highest load (the
 * scenario's kind: concurrency or rate) that meets the scenario's SLO, and
 * the first load that did not, with the bound that broke.
 */
import { capacityVerdict, searchCapacity } from '../../load/capacity.js';
import { ScenarioRunner } from '../../load/run-scenario.js';
import { renderCapacity } from '../../report/console.js';
import { loadScenario, ScenarioError } from '../../scenario/load.js';
import type { CapacityOutcome } from '../../types.js';
import { ExitCode } from '../exit-codes.js';
import { withResultsFolder, type Io, type RunArgs } from './run.js';

export async function capacityCommand(args: RunArgs, io: Io): Promise<number> {
  const scenario = await loadScenario(args.scenario, io.env);
  if (scenario.slo.length === 0) {
    throw new ScenarioError(args.scenario, [`${args.scenario}: slo: capacity needs an SLO to search against, e.g. slo: {ttft_p95_ms: 500, tpot_p95_ms: 50}`]);
  }
  const outcome = await withResultsFolder(scenario, args, io, async (options) => {
    const runner = await ScenarioRunner.open(scenario, options);
    const capacity: CapacityOutcome[] = [];
    try {
      for (const [modelIndex, model] of scenario.models.entries()) {
        if (runner.interrupted) break;
        capacity.push(
          await searchCapacity(model.name, scenario.load.kind, scenario.capacity, async (load) => {
            const cell = await runner.runCell(modelIndex, load);
            if (runner.interrupted) return undefined;
            const verdict = capacityVerdict(cell);
            io.stderr.write(`  ${model.name} @ ${load}: ${verdict.met ? 'meets the SLO' : `fails (${verdict.reason})`}\n`);
            return verdict;
          }),
        );
      }
    } finally {
      runner.close();
    }
    return { cells: runner.cells, completed: !runner.interrupted, warnings: runner.warnings, capacity };
  });
  io.stdout.write(renderCapacity(outcome.capacity ?? [], outcome.cells));
  // A model for which no load met the SLO fails the search, as a failed threshold fails a run.
  const noLoadMet = (outcome.capacity ?? []).some((model) => model.best === undefined && !model.interrupted);
  return outcome.exitCode === ExitCode.OK && noLoadMet ? ExitCode.THRESHOLDS_FAILED : outcome.exitCode;
}
