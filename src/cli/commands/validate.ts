/** `tokenmeter validate SCENARIO...`: check scenario files without sending anything. */
import { checkTokenizerFiles } from '../../load/workload.js';
import { loadScenario, ScenarioError } from '../../scenario/load.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from './run.js';

export interface ValidateOptions {
  /** An unset `${VAR}` is an error (exit 2), as `run` treats it, instead of a warning. */
  strict?: boolean;
  /** `--set` overrides, applied to each file as `run` would. */
  overrides?: readonly string[];
}

export async function validateCommand(files: string[], io: Io, options: ValidateOptions = {}): Promise<number> {
  let exitCode: number = ExitCode.OK;
  // Every file is checked, so one bad file does not hide the problems of the next.
  for (const file of files) {
    try {
      const scenario = await loadScenario(file, io.env, {
        overrides: options.overrides ?? [],
        unsetVariables: options.strict ? 'error' : 'warn',
        onWarning: (line) => io.stderr.write(`warning: ${line}\n`),
      });
      await checkTokenizerFiles(scenario);
      const cells = scenario.models.length * scenario.load.levels.length;
      const { prompts: spec } = scenario;
      const prompts = Array.isArray(spec)
        ? `${spec.length} prompt(s)`
        : 'dataset' in spec
          ? `${spec.entries.length} dataset entries`
          : 'trace' in spec
            ? `a trace of ${spec.lines.length} arrival(s)`
            : `${spec.count} synthetic prompt(s)`;
      io.stdout.write(`${file}: ok (${scenario.models.length} model(s), ${cells} cell(s), ${prompts})\n`);
    } catch (error) {
      // Whatever went wrong with this file, the next one is still checked.
      if (error instanceof ScenarioError) {
        io.stderr.write(`${error.problems.join('\n')}\n`);
        exitCode = ExitCode.CONFIG_ERROR;
      } else {
        // Not a problem found in the file, but tokenmeter failing on it: said as such, exit 1 unless a file was bad too.
        io.stderr.write(`${file}: tokenmeter failed checking it: ${(error as Error).message ?? String(error)}\n`);
        if (exitCode === ExitCode.OK) exitCode = ExitCode.RUN_FAILED;
      }
    }
  }
  return exitCode;
}
