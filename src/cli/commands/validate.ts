/** `tokenmeter validate SCENARIO...`: check scenario files without sending anything. */
import { loadScenario } from '../../scenario/load.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from './run.js';

export async function validateCommand(files: string[], io: Io): Promise<number> {
  for (const file of files) {
    const scenario = await loadScenario(file, io.env);
    const cells = scenario.models.length * scenario.load.concurrency.length;
    io.stdout.write(`${file}: ok (${scenario.models.length} model(s), ${cells} cell(s), ${scenario.prompts.length} prompt(s))\n`);
  }
  return ExitCode.OK;
}
