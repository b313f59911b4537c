/**
 * The simulator in its own process, so the client under test has the parent's
 * event loop and CPU to itself (on a 2-core machine: one core each).
 *
 * Protocol, one JSON object per line:
 * - argv[2] is the SimConfig;
 * - the first stdout line is `{"baseURL": ...}` once listening on 127.0.0.1;
 * - each `stats` line on stdin is answered with the child's CPU time and clock,
 *   from which the parent computes the server's CPU share of a window;
 * - end of stdin (the parent exited) or SIGTERM closes the server and exits.
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startSimulator } from '../src/sim/server.js';
import type { SimConfig } from '../src/types.js';

/** What a `stats` request returns. */
export interface ChildStats {
  /** process.cpuUsage() user + system of the simulator process, µs. */
  cpuUs: number;
  /** performance.now() in the child, ms (only differences are meaningful). */
  wallMs: number;
}

const config = JSON.parse(process.argv[2] ?? '') as SimConfig;
// keepTruth stays off: the truth log would grow by one object per chunk.
const simulator = await startSimulator(config, { host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ baseURL: simulator.baseURL })}\n`);

let closing = false;
const shutdown = (): void => {
  if (closing) return;
  closing = true;
  // Connections are closed by close(); exit even if one lingers.
  void simulator.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'stats') return;
  const cpu = process.cpuUsage();
  const stats: ChildStats = { cpuUs: cpu.user + cpu.system, wallMs: performance.now() };
  process.stdout.write(`${JSON.stringify(stats)}\n`);
});
lines.on('close', shutdown);
