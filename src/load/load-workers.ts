/**
 * Load workers (issue 14, "every core"): a cell's load split over worker
 * threads. Worker i owns share {index: i, count: W} of the cell's share (the
 * whole cell, or a shard's), runs its own client and its cellLoad for it,
 * reads its own sockets and stamps its own reads on its own event loop. The
 * finished requests (their Exchange) come back to this thread, which counts
 * their tokens and aggregates them exactly as it does its own.
 *
 * Times: each worker's clock is its performance.now() moved onto this
 * thread's (the difference of the two threads' origins, util/clock.ts), so
 * every time in an Exchange, and the schedule a cell starts at, is on this
 * thread's clock.
 */
import { Worker } from 'node:worker_threads';
import { combineClientHealth, type ClientHealth } from '../metrics/client-health.js';
import type { LoadLevel, LoadSpec, Prompt, Target } from '../types.js';
import { threadClockOrigin } from '../util/clock.js';
import { nestedShare, WHOLE, type FinishedRequest, type Share } from './cell-budget.js';
import { Channel } from './channel.js';

/** What every worker gets once, as it starts. */
export interface LoadWorkerData {
  /** Which worker this is (0…count−1) of how many. */
  worker: Share;
  /** The URL to send to (the simulator's address for builtin). */
  baseURL: string;
  /** What the client needs of the target: API, key, headers, connection reuse, timeouts. */
  target: Pick<Target, 'api' | 'apiKey' | 'headers' | 'newConnectionPerRequest' | 'timeoutMs' | 'idleTimeoutMs'>;
  /** The environment's secrets, scrubbed from every record as the main thread's client does. */
  secrets: string[];
  /** The scenario's load and seed (cellLoad's plan and open-loop arrivals). */
  load: LoadSpec;
  seed: number;
  /** The main thread's clock origin (threadClockOrigin), onto which the worker moves its times, ms. */
  mainOrigin: number;
}

/** One cell for one worker. */
export interface WorkerCell {
  type: 'cell';
  /** Numbers the cell (messages of an earlier cell are told apart). */
  cell: number;
  /** The worker's share of the whole cell. */
  share: Share;
  model: string;
  load: LoadLevel;
  idPrefix: string;
  prompts: readonly Prompt[];
  /** Request body parameters, per prompt. */
  params: readonly Record<string, unknown>[];
  /** When the cell began, on the main thread's clock, ms: every worker's schedule starts there. */
  startAt: number;
}

export type ToLoadWorker = WorkerCell | { type: 'interrupt' } | { type: 'close' };

/** A finished request as it crosses back: without its messages, which the main thread has. */
export type WireRequest = Omit<FinishedRequest, 'messages'>;

export type FromLoadWorker =
  | { type: 'ready' }
  | { type: 'finished'; cell: number; requests: WireRequest[] }
  | { type: 'cell-done'; cell: number; health?: ClientHealth }
  | { type: 'cell-failed'; cell: number; message: string };

/** What the pool needs to start its workers. */
export interface LoadWorkersOptions {
  count: number;
  baseURL: string;
  target: LoadWorkerData['target'];
  secrets?: readonly string[];
  load: LoadSpec;
  seed: number;
  /** Aborting it stops every worker: nothing new is sent, requests in flight end as `interrupted` and come back. */
  interrupt?: AbortSignal;
  /** The worker's script (default: load-worker, compiled or through tsx); tests pass one that fails. */
  entry?: URL;
}

/** A cell as the pool sends it: every worker's part, back as one stream. */
export interface WorkersCell {
  /** Every request of the cell as it finishes, from whichever worker; ends when every worker's part has. */
  requests: AsyncGenerator<FinishedRequest>;
  /** The workers' client health together (combineClientHealth), once `requests` has ended; undefined when no worker read anything. */
  health(): ClientHealth | undefined;
}

/**
 * Compiled (dist/), a worker runs load-worker.js directly; from the TypeScript source it starts at
 * load-worker-entry.mjs, which loads load-worker.ts through tsx (as sim/threaded.ts does).
 */
function defaultEntry(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './load-worker-entry.mjs' : './load-worker.js', import.meta.url);
}

/** The default worker count: one per available core but the one this thread (and the OS) keeps, at least one. */
export async function defaultWorkerCount(): Promise<number> {
  const { availableParallelism } = await import('node:os');
  return Math.max(1, availableParallelism() - 1);
}

interface RunningCell {
  cell: number;
  channel: Channel<FinishedRequest>;
  prompts: readonly Prompt[];
  waiting: Set<number>;
  healths: ClientHealth[];
}

export class LoadWorkers {
  private failure: Error | undefined;
  private closing = false;
  private current: RunningCell | undefined;
  private cells = 0;
  private readonly unwatch: () => void;
  /** Workers whose thread has ended. */
  private readonly exited = new Set<number>();

  private constructor(
    private readonly workers: Worker[],
    interrupt: AbortSignal | undefined,
  ) {
    const onInterrupt = (): void => this.post({ type: 'interrupt' });
    if (interrupt?.aborted) onInterrupt();
    interrupt?.addEventListener('abort', onInterrupt, { once: true });
    this.unwatch = () => interrupt?.removeEventListener('abort', onInterrupt);
  }

  /** Starts `count` workers and waits until each is ready; a worker that fails to start fails the call, and stops the others. */
  static async start(options: LoadWorkersOptions): Promise<LoadWorkers> {
    const mainOrigin = threadClockOrigin();
    const entry = options.entry ?? defaultEntry();
    const workers = Array.from({ length: options.count }, (_, index) => {
      const data: LoadWorkerData = {
        worker: { index, count: options.count },
        baseURL: options.baseURL,
        target: options.target,
        secrets: [...(options.secrets ?? [])],
        load: options.load,
        seed: options.seed,
        mainOrigin,
      };
      return new Worker(entry, { workerData: data });
    });
    try {
      await Promise.all(workers.map((worker, index) => readyOf(worker, index, options.count)));
    } catch (error) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw error;
    }
    const pool = new LoadWorkers(workers, options.interrupt);
    workers.forEach((worker, index) => pool.watch(worker, index));
    return pool;
  }

  /** Sends the cell's share `share` (default: the whole cell) split over the workers, worker i taking {i, W} of it. */
  runCell(cell: Omit<WorkerCell, 'type' | 'cell' | 'share'>, share: Share = WHOLE): WorkersCell {
    const running: RunningCell = {
      cell: ++this.cells,
      channel: new Channel<FinishedRequest>(),
      prompts: cell.prompts,
      waiting: new Set(this.workers.keys()),
      healths: [],
    };
    if (this.failure) running.channel.close(this.failure);
    else {
      this.current = running;
      this.workers.forEach((worker, index) =>
        worker.postMessage({ ...cell, type: 'cell', cell: running.cell, share: nestedShare(share, { index, count: this.workers.length }) } satisfies WorkerCell),
      );
    }
    return { requests: running.channel.drain(), health: () => combineClientHealth(running.healths) };
  }

  /** Stops every worker (their clients close their connections); waits for them to exit. */
  async close(): Promise<void> {
    this.unwatch();
    this.closing = true;
    await Promise.all(
      this.workers.map(
        (worker, index) =>
          new Promise<void>((resolve) => {
            if (this.exited.has(index)) return resolve();
            worker.once('exit', () => resolve());
            worker.postMessage({ type: 'close' } satisfies ToLoadWorker);
            // A worker that does not end on its own within a second is stopped.
            setTimeout(() => void worker.terminate(), 1000).unref();
          }),
      ),
    );
  }

  private post(message: ToLoadWorker): void {
    for (const worker of this.workers) worker.postMessage(message);
  }

  private watch(worker: Worker, index: number): void {
    const name = `load worker ${index + 1} of ${this.workers.length}`;
    worker.on('message', (message: FromLoadWorker) => this.onMessage(index, message));
    worker.on('error', (error) => this.fail(new Error(`${name} crashed: ${error.message}`)));
    worker.on('messageerror', (error) => this.fail(new Error(`${name}: a message could not be read: ${error.message}`)));
    worker.on('exit', (code) => {
      this.exited.add(index);
      if (!this.closing) this.fail(new Error(`${name} exited unexpectedly (exit code ${code})`));
    });
  }

  private onMessage(index: number, message: FromLoadWorker): void {
    const running = this.current;
    if (!running || !('cell' in message) || message.cell !== running.cell) return;
    if (message.type === 'finished') {
      for (const request of message.requests) running.channel.push({ ...request, messages: running.prompts[request.prompt]!.messages });
    } else if (message.type === 'cell-done') {
      if (message.health) running.healths.push(message.health);
      running.waiting.delete(index);
      if (running.waiting.size === 0) {
        this.current = undefined;
        running.channel.close();
      }
    } else if (message.type === 'cell-failed') {
      this.fail(new Error(`load worker ${index + 1} of ${this.workers.length} failed: ${message.message}`));
    }
  }

  /** The first failure ends the cell with it (after what arrived before) and stops every worker: the run fails, never hangs. */
  private fail(error: Error): void {
    if (this.failure || this.closing) return;
    this.failure = error;
    this.closing = true;
    this.unwatch();
    this.current?.channel.close(error);
    this.current = undefined;
    for (const worker of this.workers) void worker.terminate();
  }
}

/** Resolves when the worker says it is ready; rejects when it fails or exits first. */
function readyOf(worker: Worker, index: number, count: number): Promise<void> {
  const name = `load worker ${index + 1} of ${count}`;
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromLoadWorker): void => {
      if (message.type !== 'ready') return;
      done();
      resolve();
    };
    const onError = (error: Error): void => {
      done();
      reject(new Error(`${name} failed to start: ${error.message}`));
    };
    const onExit = (code: number): void => {
      done();
      reject(new Error(`${name} exited as it started (exit code ${code})`));
    };
    const done = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
