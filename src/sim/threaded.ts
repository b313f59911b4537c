/**
 * The simulator on its own thread. In the same thread it would share the
 * client's event loop: every request it parses and every chunk it writes
 * would delay the client's timestamps (measured: ~5 ms of median TTFT at 64
 * streams). On a worker thread it has its own loop and, on a multi-core
 * machine, its own core.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { SimConfig } from '../types.js';
import type { RunningSimulator, SimRequestTruth, SimulatorOptions } from './server.js';

export type ToWorker = { type: 'truth' } | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; baseURL: string; port: number; timeOrigin: number }
  | { type: 'truth'; truth: SimRequestTruth[] }
  | { type: 'closed' };

export interface ThreadedSimulator extends Omit<RunningSimulator, 'truth' | 'tokenizeArrivals'> {
  /** The simulator's truth, its times moved onto this thread's performance.now() clock. */
  truth(): Promise<SimRequestTruth[]>;
}

/**
 * Compiled (dist/), the worker runs worker.js directly. From the TypeScript
 * source it starts at worker-entry.mjs, which loads worker.ts through tsx
 * whichever way the parent loaded TypeScript (a loader registered from code
 * does not reach worker threads).
 */
function workerEntry(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './worker-entry.mjs' : './worker.js', import.meta.url);
}

export async function startSimulatorThread(config: SimConfig, options: SimulatorOptions = {}): Promise<ThreadedSimulator> {
  const worker = new Worker(workerEntry(), { workerData: { config, options } });
  const next = <T extends FromWorker['type']>(type: T) =>
    new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
      const onMessage = (message: FromWorker): void => {
        if (message.type !== type) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(message as Extract<FromWorker, { type: T }>);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });

  const ready = await next('ready');
  // performance.now() counts from each thread's own origin; this offset maps the worker's onto ours.
  const offset = ready.timeOrigin - performance.timeOrigin;
  const shift = (t: number | undefined) => (t === undefined ? undefined : t + offset);

  return {
    baseURL: ready.baseURL,
    port: ready.port,
    async truth() {
      const reply = next('truth');
      worker.postMessage({ type: 'truth' } satisfies ToWorker);
      return (await reply).truth.map((record) => {
        const shifted: SimRequestTruth = {
          ...record,
          receivedAt: record.receivedAt + offset,
          chunks: record.chunks.map((chunk) => ({ ...chunk, at: chunk.at + offset })),
          finalEventsAt: record.finalEventsAt.map((at) => at + offset),
        };
        const admittedAt = shift(record.admittedAt);
        if (admittedAt !== undefined) shifted.admittedAt = admittedAt;
        return shifted;
      });
    },
    async close() {
      const closed = next('closed');
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      await closed;
      await worker.terminate();
    },
  };
}
