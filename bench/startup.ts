/**
 * Start-up time of the command line (issue 12: `--help` in under 0.3 s), as
 * a ratio to a bare `node -e 0` measured in the same rounds: the ratio moves
 * less than milliseconds do between machines and between busy and idle runs.
 * Runs the bin as users do, so it measures the compiled dist/ (`npm run
 * build` first; without dist/ the bin falls back to tsx and says so here).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { median as medianOf } from '../src/metrics/cell-summary.js';

/** Round-robin rounds; each round runs every command once, so they share the machine's state. */
export const STARTUP_ROUNDS = 9;
/** Issue 12's aim: `tokenmeter --help` prints within this, ms. */
export const HELP_AIM_MS = 300;

export interface StartupTiming {
  /** The command as typed. */
  label: string;
  /** Wall time from spawn to exit of each round, ms. */
  samplesMs: number[];
  medianMs: number;
  /** medianMs ÷ the median of `node -e 0`. */
  ratioToNode: number;
}

const BIN = new URL('../bin/tokenmeter.js', import.meta.url).pathname;
/** Whether the bin will run compiled code (else it falls back to tsx). */
export const startupFromDist = (): boolean => existsSync(new URL('../dist/cli/main.js', import.meta.url));

function timeOnce(args: readonly string[]): number {
  const startedAt = performance.now();
  const child = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const elapsedMs = performance.now() - startedAt;
  if (child.status !== 0) throw new Error(`node ${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  return elapsedMs;
}

export function measureStartup(rounds = STARTUP_ROUNDS): StartupTiming[] {
  const commands = [
    { label: 'node -e 0', args: ['-e', '0'] },
    { label: 'tokenmeter --help', args: [BIN, '--help'] },
    { label: 'tokenmeter --version', args: [BIN, '--version'] },
  ];
  const samples = commands.map(() => [] as number[]);
  for (const command of commands) timeOnce(command.args); // warm the file cache
  for (let round = 0; round < rounds; round++) commands.forEach((command, i) => samples[i]!.push(timeOnce(command.args)));
  const medians = samples.map((values) => medianOf(values) ?? Number.NaN);
  return commands.map((command, i) => ({ label: command.label, samplesMs: samples[i]!, medianMs: medians[i]!, ratioToNode: medians[i]! / medians[0]! }));
}
