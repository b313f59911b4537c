/**
 * `npm run bench -- workers` (issue 14, "every core"): what load workers cost
 * and what they give, in ratios measured in one run.
 *
 * 1. Transport: the finished requests of a worker (their Exchange, one
 *    object per chunk) handed to the main thread by a worker thread
 *    (postMessage, structured clone) and by a child process (IPC, the
 *    `advanced` serialization), in the same batches. Reading the sockets is
 *    the same code either way; the hand-over is what differs. CPU of both
 *    sides per chunk.
 * 2. One worker (the main thread reads) against two worker threads, through
 *    the whole pipeline against the simulator in a child process: process CPU
 *    time per chunk, and the reading threads' event-loop delay p99 and
 *    utilization (the client-health rule's numbers). This machine has 2 cores
 *    and the simulator needs one, so chunks/s with 2 workers cannot show a
 *    2× gain here; CPU per chunk says what each reading thread costs, and so
 *    what W cores would carry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { statsOf } from '../src/metrics/histograms.js';
import { collectRun, scenarioEvents } from '../src/pipeline.js';
import { parseScenario } from '../src/scenario/load.js';
import type { Exchange, SimModelProfile } from '../src/types.js';
import { startSimChild } from './streams.js';

/** Transport: batches of this many requests, each of CHUNKS chunks, BATCHES batches per run. */
const TRANSPORT = { chunks: 64, batch: 32, batches: 400, runs: 3 };

/** The pipeline runs: paced streams both clients follow, the second cell of each run measured (the first warms up). */
export const WORKERS_RUN = {
  model: 'Meta-Llama-3.3-70B-Instruct',
  concurrency: 400,
  requests: 800,
  pairs: 2,
  profile: { ttftMs: 10, tokensPerSecond: 40, tokensPerChunk: 1, outputTokens: 64, capacity: 1_000_000, usageExtraTokens: 0 } satisfies SimModelProfile,
};

export interface TransportRun {
  transport: 'worker thread' | 'child process';
  chunks: number;
  /** CPU time of both sides (user + system) per chunk handed over, µs. */
  cpuUsPerChunk: number;
}

export interface WorkersRun {
  workers: number;
  chunks: number;
  chunksPerSec: number;
  /** Process CPU time (main thread, workers, GC; the simulator is another process) per chunk, µs. */
  cpuUsPerChunk: number;
  /** The reading threads' event-loop delay p99 (the cell's client_loop_delay), ms. */
  loopDelayP99Ms: number;
  /** The busiest reading thread's event-loop utilization. */
  utilization: number;
  /** The main thread's own event-loop utilization over the cell (with workers it reads nothing). */
  mainUtilization: number;
}

/** The sender's side, the same source for a thread and a process: builds each batch and hands it over. */
const SENDER = `
const { chunks, batch, batches } = JSON.parse(process.env.TM_TRANSPORT ?? workerData?.config);
const request = (n) => ({
  id: 'c1.0-' + n, warmup: false, prompt: 0, ts: n, slot: n % 100,
  exchange: { id: 'c1.0-' + n, ts: n, t0: n, tb: n + 1, tEnd: n + 200, status: 200,
    chunks: Array.from({ length: chunks }, (_, i) => ({ at: n + 10 + i * 3.1, text: ' word', choice: 0 })),
    usage: { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks } },
});
let n = 0;
const start = process.cpuUsage();
for (let b = 0; b < batches; b++) send({ type: 'finished', cell: 1, requests: Array.from({ length: batch }, () => request(n++)) });
const used = process.cpuUsage(start);
send({ type: 'done', cpuUs: used.user + used.system });
`;

async function transportRun(kind: TransportRun['transport']): Promise<TransportRun> {
  const config = JSON.stringify(TRANSPORT);
  const chunks = TRANSPORT.chunks * TRANSPORT.batch * TRANSPORT.batches;
  let received = 0;
  const cpuStart = process.cpuUsage();
  let senderCpuUs = 0;
  const onMessage = (message: { type: string; requests?: { exchange: Exchange }[]; cpuUs?: number }): boolean => {
    if (message.type === 'finished') for (const request of message.requests!) received += request.exchange.chunks.length;
    return message.type === 'done';
  };
  if (kind === 'worker thread') {
    const worker = new Worker(`const { workerData, parentPort } = require('node:worker_threads'); const send = (m) => parentPort.postMessage(m);\n${SENDER}`, {
      eval: true,
      workerData: { config },
    });
    await new Promise<void>((resolve) =>
      worker.on('message', (message) => {
        if (onMessage(message)) resolve();
      }),
    );
    await worker.terminate();
    // A thread's CPU is this process's: cpuUsage below counts both sides.
  } else {
    const child: ChildProcess = spawn(process.execPath, ['-e', `const workerData = undefined; const send = (m) => process.send(m);\n${SENDER}`], {
      env: { ...process.env, TM_TRANSPORT: config },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    await new Promise<void>((resolve) =>
      child.on('message', (message: Parameters<typeof onMessage>[0]) => {
        if (onMessage(message)) {
          senderCpuUs = message.cpuUs!;
          resolve();
        }
      }),
    );
    // The child stays up while its channel is open (its last message is sure to have arrived): the parent closes it.
    const exited = once(child, 'exit');
    child.disconnect();
    await exited;
  }
  const cpu = process.cpuUsage(cpuStart);
  if (received !== chunks) throw new Error(`${kind}: ${received} of ${chunks} chunks arrived`);
  return { transport: kind, chunks, cpuUsPerChunk: (cpu.user + cpu.system + senderCpuUs) / chunks };
}

export async function measureTransport(): Promise<TransportRun[]> {
  const runs: TransportRun[] = [];
  for (let i = 0; i < TRANSPORT.runs; i++) {
    runs.push(await transportRun('worker thread'));
    runs.push(await transportRun('child process'));
  }
  return runs;
}

/** One pipeline run: two cells of the same level; the second is measured, after workers, connections and JIT warmed up in the first. */
async function workersRun(baseURL: string, workers: number): Promise<WorkersRun> {
  const { model, concurrency, requests } = WORKERS_RUN;
  const scenario = parseScenario(
    `name: bench-workers\ntarget: {baseURL: "${baseURL}"}\nmodels: [${model}]\n` +
      `load: {concurrency: ${concurrency}, requests: ${requests}, maxClientLag: 60s, maxClientUtilization: 1}\nprompts: [hi]\n`,
    'bench-workers.yaml',
    {},
  );
  // Two cells: the level twice (a sweep lists a level once, so the second cell is a repeat).
  let cells = 0;
  let cpuStart: NodeJS.CpuUsage | undefined;
  let eluStart: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  let startedAt = 0;
  let measured: { cpuUs: number; mainUtilization: number; ms: number } | undefined;
  // Every chunk of the measured cell's requests, warm-up included: its CPU is in the measure too.
  let chunks = 0;
  const result = await collectRun(scenarioEvents(scenario, { baseURL, workers, repeat: 2 }), (event) => {
    if (event.type === 'cell' && event.cell.repeat === 1) {
      cells++;
      cpuStart = process.cpuUsage();
      eluStart = performance.eventLoopUtilization();
      startedAt = performance.now();
    } else if (event.type === 'record' && event.record.repeat === 2) {
      chunks += event.record.metrics.tokensPerChunk.length;
      if (measured !== undefined) return;
      const cpu = process.cpuUsage(cpuStart);
      measured = { cpuUs: cpu.user + cpu.system, mainUtilization: performance.eventLoopUtilization(eluStart).utilization, ms: performance.now() - startedAt };
    }
  });
  const cell = result.cells.find((c) => c.repeat === 2);
  if (!cell || !measured || cells !== 1) throw new Error('the measured cell did not run');
  return {
    workers,
    chunks,
    chunksPerSec: chunks / (measured.ms / 1000),
    cpuUsPerChunk: measured.cpuUs / chunks,
    loopDelayP99Ms: statsOf(cell.histograms.client_loop_delay, 'client_loop_delay')?.p99 ?? Number.NaN,
    utilization: cell.clientUtilization ?? Number.NaN,
    mainUtilization: measured.mainUtilization,
  };
}

/** Alternates 1 and 2 workers, WORKERS_RUN.pairs times each, against one simulator child process. */
export async function measureWorkers(onRun: (run: WorkersRun) => void = () => undefined): Promise<WorkersRun[]> {
  const { model, profile } = WORKERS_RUN;
  const sim = await startSimChild({ seed: 1, defaults: profile, models: { [model]: profile } });
  const runs: WorkersRun[] = [];
  try {
    for (let pair = 0; pair < WORKERS_RUN.pairs; pair++) {
      for (const workers of [1, 2]) {
        const run = await workersRun(sim.baseURL, workers);
        runs.push(run);
        onRun(run);
      }
    }
  } finally {
    sim.kill();
  }
  return runs;
}
