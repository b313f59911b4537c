/** `tokenmeter sim`: the built-in simulator as a standalone server, until Ctrl-C. */
import { loadScenario } from '../../scenario/load.js';
import { DEFAULT_SIM_CONFIG } from '../../sim/profile.js';
import { startSimulator } from '../../sim/server.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from './run.js';

export interface SimArgs {
  port: number;
  host: string;
  /** Take the simulator settings from this scenario's target.simulator. */
  scenario?: string;
  apiKey?: string;
}

export async function simCommand(args: SimArgs, io: Io): Promise<number> {
  const config = args.scenario ? (await loadScenario(args.scenario, io.env)).target.simulator : DEFAULT_SIM_CONFIG;
  const simulator = await startSimulator(config, {
    port: args.port,
    host: args.host,
    ...(args.apiKey ? { apiKey: args.apiKey } : {}),
  });
  io.stdout.write(`tokenmeter simulator listening on ${simulator.baseURL} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    if (io.interrupt?.aborted) return resolve();
    io.interrupt?.addEventListener('abort', () => resolve(), { once: true });
  });
  await simulator.close();
  return ExitCode.OK;
}
