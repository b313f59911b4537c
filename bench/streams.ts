/**
 * End-to-end: many concurrent streams from the simulator, running in a child
 * process, read by tokenmeter's ChatClient and by a raw node:http reader, in
 * alternating runs (raw, tokenmeter, raw, tokenmeter, ...) so that drift of the
 * machine hits both alike.
 *
 * Two phases. "burst": the simulator writes every stream as fast as it can, so
 * each client reads as many events per second as it (or the server) can: the
 * throughput ratio. "paced": 1,000 streams at a decode speed both clients can
 * sustain, so event-loop delay and CPU per event are measured under load
 * rather than under saturation (a saturated reader's loop delay is simply the
 * length of its backlog).
 *
 * Each run is a closed loop (every slot sends its next request as soon as its
 * stream ended) measured over a fixed window after a settling time; streams in
 * flight at the end of the window finish unmeasured, so connections stay warm
 * for the next run. Measured over the window: data events received, the
 * parent's CPU time, its event-loop delay, and the simulator's CPU share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatClient } from '../src/client/chat-client.js';
import type { Exchange, SimConfig, SimModelProfile } from '../src/types.js';
import { createRawReader } from './raw-reader.js';
import type { ChildStats } from './sim-child.js';

/** The measurement window of one run, performance.now() ms; Infinity until it is set. */
export interface Window {
  start: number;
  end: number;
}

export interface RunCounts {
  /** SSE data events that arrived within the window. */
  eventsInWindow: number;
  /** Streams that ended within the window with every expected event. */
  completed: number;
  /** Streams that failed or ended short within the window. */
  failures: number;
}

/** A client under test, as the run loop drives it. */
export interface StreamClient {
  readonly name: string;
  /** Sends one streamed request; resolves when its stream ended, never rejects. */
  send(): Promise<void>;
  /** Starts counting for a run; the window's fields are set while the run goes on. */
  beginRun(window: Window): void;
  endRun(): RunCounts;
  /** Ends every stream in flight; the client stays usable for the next run. */
  abortAll(): void;
  close(): void;
}

/** One measured run of one client. */
export interface StreamRun {
  phase: string;
  /** The simulator's pace for each stream, tokens (= chunks) per second. */
  tokensPerSecond: number;
  client: string;
  concurrency: number;
  windowMs: number;
  eventsPerSec: number;
  /** Parent CPU time (user + system) per event received, µs. */
  cpuUsPerEvent: number;
  /** Parent CPU time / wall time, %. 100 is one core saturated. */
  clientCpuPercent: number;
  /** The kernel's part of clientCpuPercent (system time: syscalls, loopback TCP), %. */
  clientSysPercent: number;
  /** Simulator process CPU time / wall time, %. */
  serverCpuPercent: number;
  /** Event-loop delay beyond the 1 ms sampling interval, ms. */
  eldP99Ms: number;
  eldMaxMs: number;
  completed: number;
  failures: number;
}

/** Data events per response besides the token chunks: role chunk, finish chunk, usage, [DONE]. */
const FRAMING_EVENTS = 4;

/** One set of runs against one simulator profile. */
export interface Phase {
  name: string;
  /** The model name that selects `profile` in the simulator. */
  model: string;
  /** outputTokens must be a fixed count: each stream's event count is checked. */
  profile: SimModelProfile & { outputTokens: number };
  concurrencies: number[];
  /** Runs per client and concurrency, alternating raw and tokenmeter. */
  pairs: number;
  /** One wave of requests per slot before the runs, so they start on warm connections and warm code. */
  warmUp: boolean;
  /** Slot i sends its first request at i × rampMs / concurrency, so paced streams are out of phase. */
  rampMs: number;
  /** Time from the start of a run to the start of its window. */
  settleMs: number;
  windowMs: number;
  /**
   * After the window: `drain` lets the streams in flight finish, so the next
   * run starts on warm connections; `abort` ends them, to save the time.
   */
  afterWindow: 'drain' | 'abort';
  /** Longest wait for the streams in flight after a window; then they are aborted and the run fails. */
  drainTimeoutMs: number;
}

export const BURST_PHASE: Phase = {
  name: 'burst',
  model: 'bench-burst',
  /**
   * The simulator as fast as it goes: no TTFT, and a decode rate so high that
   * every token is due at once. server.ts writes all chunks that are due in one
   * timer callback (dueAt <= now + 0.5 ms), so each stream is written
   * back-to-back, one res.write per chunk, and the server spends its CPU on
   * writing only. One token per chunk makes every event a chunk.
   */
  profile: { ttftMs: 0, tokensPerSecond: 1_000_000, tokensPerChunk: 1, outputTokens: 256, capacity: 1_000_000, usageExtraTokens: 0 },
  concurrencies: [100, 1000],
  pairs: 3,
  warmUp: true,
  rampMs: 0,
  // Past the first wave, in which every slot starts at once.
  settleMs: 500,
  windowMs: 2000,
  afterWindow: 'drain',
  drainTimeoutMs: 20_000,
};

/**
 * 1,000 streams at a speed the clients can follow, one chunk per token: 30
 * tokens/s is a loaded server's speed (~30,000 events/s in all), 10 tokens/s an
 * overloaded one. Slot starts are spread over one stream's duration, so chunks
 * and request starts stay spread out in the closed loop, as in real traffic;
 * the ramp also opens the connections, so no separate warm-up is needed.
 */
function pacedPhase(tokensPerSecond: number, outputTokens: number): Phase {
  const streamMs = 10 + ((outputTokens - 1) * 1000) / tokensPerSecond;
  return {
    name: `paced ${tokensPerSecond}/s`,
    model: `bench-paced-${tokensPerSecond}`,
    profile: { ttftMs: 10, tokensPerSecond, tokensPerChunk: 1, outputTokens, capacity: 1_000_000, usageExtraTokens: 0 },
    concurrencies: [1000],
    pairs: 1,
    warmUp: false,
    rampMs: streamMs,
    settleMs: streamMs + 200,
    windowMs: 3000,
    afterWindow: 'abort',
    drainTimeoutMs: 20_000,
  };
}

/** ~230 and ~160 new requests/s at 1,000 streams. */
export const PACED_PHASES: Phase[] = [pacedPhase(30, 128), pacedPhase(10, 64)];

/** The simulator configuration that serves every phase, each under its own model name. */
export function simConfigFor(phases: readonly Phase[]): SimConfig {
  return {
    seed: 1,
    defaults: phases[0]!.profile,
    models: Object.fromEntries(phases.map((phase) => [phase.model, phase.profile])),
  };
}

/** The simulator child: its base URL, a stats request, and its PID for the kill. */
export interface SimChild {
  baseURL: string;
  pid: number;
  stats(): Promise<ChildStats>;
  kill(): void;
}

/** Starts bench/sim-child.ts in its own Node process and waits for its address. */
export async function startSimChild(config: SimConfig): Promise<SimChild> {
  const script = new URL('./sim-child.ts', import.meta.url).pathname;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the simulator child process');
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  // A backstop: whatever happens to the parent, the child does not outlive it.
  process.once('exit', kill);

  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = (timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the simulator child did not answer')), timeoutMs);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`the simulator child exited (${code ?? signal})`))),
  );
  exited.catch(() => undefined);

  try {
    const { baseURL } = JSON.parse(await Promise.race([nextLine(30_000), exited])) as { baseURL: string };
    return {
      baseURL,
      pid,
      stats: async () => {
        const answer = nextLine(30_000);
        child.stdin!.write('stats\n');
        return JSON.parse(await Promise.race([answer, exited])) as ChildStats;
      },
      kill,
    };
  } catch (error) {
    kill();
    throw error;
  }
}

/** tokenmeter's ChatClient, counting the same data events as the raw reader. */
function createTokenmeterClient(baseURL: string, model: string, expectedChunks: number): StreamClient {
  const client = new ChatClient({ baseURL });
  let interrupt = new AbortController();
  let window: Window = { start: Infinity, end: Infinity };
  let counts: RunCounts = { eventsInWindow: 0, completed: 0, failures: 0 };
  let sequence = 0;

  // Counted as each exchange ends, so the bench keeps no exchange alive. An
  // exchange that ended before the window closed has window.end = Infinity and
  // all its events are at or before now; one that ended later sees the real end.
  const count = (exchange: Exchange): void => {
    const inWindow = (at: number | undefined): boolean => at !== undefined && at >= window.start && at <= window.end;
    let events = 0;
    for (const chunk of exchange.chunks) if (inWindow(chunk.at)) events++;
    // The events ChatClient does not keep as chunks, at the reads that brought them:
    // the role chunk in the first read (tb), the finish chunk, usage and [DONE] in the last (one write in server.ts).
    if (inWindow(exchange.tb)) events++;
    if (exchange.error === undefined && inWindow(exchange.tEnd)) events += FRAMING_EVENTS - 1;
    counts.eventsInWindow += events;
    if (!inWindow(exchange.tEnd)) return;
    if (exchange.error === undefined && exchange.chunks.length === expectedChunks) counts.completed++;
    else counts.failures++;
  };

  return {
    name: 'tokenmeter ChatClient',
    async send() {
      const exchange = await client.send({
        id: `bench-${sequence++}`,
        model,
        messages: [{ role: 'user', content: 'Count to a few hundred.' }],
        params: {},
        ts: performance.now(),
        timeoutMs: 60_000,
        idleTimeoutMs: 30_000,
        interrupt: interrupt.signal,
      });
      count(exchange);
    },
    beginRun(runWindow) {
      window = runWindow;
      counts = { eventsInWindow: 0, completed: 0, failures: 0 };
      interrupt = new AbortController();
      // Every request in flight listens on it, as in a pipeline run (src/pipeline.ts).
      setMaxListeners(0, interrupt.signal);
    },
    endRun: () => counts,
    abortAll: () => interrupt.abort(),
    close: () => client.close(),
  };
}

const eventLoopDelay = monitorEventLoopDelay({ resolution: 1 });
const ELD_RESOLUTION_MS = 1;

async function measureRun(client: StreamClient, concurrency: number, sim: SimChild, plan: Phase): Promise<StreamRun> {
  const window: Window = { start: Infinity, end: Infinity };
  client.beginRun(window);
  let sending = true;
  const slots = Array.from({ length: concurrency }, async (_, slot) => {
    if (plan.rampMs > 0) await sleep((slot * plan.rampMs) / concurrency);
    while (sending) await client.send();
  });

  await sleep(plan.settleMs);
  const serverStart = sim.stats();
  eventLoopDelay.reset();
  const cpuStart = process.cpuUsage();
  window.start = performance.now();

  await sleep(plan.windowMs);
  window.end = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  const eldP99Ms = Math.max(0, eventLoopDelay.percentile(99) / 1e6 - ELD_RESOLUTION_MS);
  const eldMaxMs = Math.max(0, eventLoopDelay.max / 1e6 - ELD_RESOLUTION_MS);
  const serverEnd = sim.stats();
  sending = false;
  if (plan.afterWindow === 'abort') client.abortAll();

  let drainTimer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    Promise.all(slots).then(() => true),
    new Promise<false>((resolve) => (drainTimer = setTimeout(() => resolve(false), plan.drainTimeoutMs))),
  ]);
  clearTimeout(drainTimer);
  if (!drained) {
    client.abortAll();
    throw new Error(`${client.name}: streams still in flight ${plan.drainTimeoutMs} ms after the window`);
  }

  const counts = client.endRun();
  const [serverA, serverB] = await Promise.all([serverStart, serverEnd]);
  const windowMs = window.end - window.start;
  const cpuUs = cpu.user + cpu.system;
  return {
    phase: plan.name,
    tokensPerSecond: plan.profile.tokensPerSecond,
    client: client.name,
    concurrency,
    windowMs,
    eventsPerSec: counts.eventsInWindow / (windowMs / 1000),
    cpuUsPerEvent: counts.eventsInWindow > 0 ? cpuUs / counts.eventsInWindow : NaN,
    clientCpuPercent: (cpuUs / 1000 / windowMs) * 100,
    clientSysPercent: (cpu.system / 1000 / windowMs) * 100,
    serverCpuPercent: ((serverB.cpuUs - serverA.cpuUs) / 1000 / (serverB.wallMs - serverA.wallMs)) * 100,
    eldP99Ms,
    eldMaxMs,
    completed: counts.completed,
    failures: counts.failures,
  };
}

/** One wave of requests per slot, so every measured run starts on warm connections and warm code. */
async function warmUp(client: StreamClient, concurrency: number): Promise<void> {
  client.beginRun({ start: -Infinity, end: Infinity });
  await Promise.all(Array.from({ length: concurrency }, () => client.send()));
  const { failures } = client.endRun();
  if (failures > 0) throw new Error(`${client.name}: ${failures} of ${concurrency} warm-up streams failed`);
}

/** Runs every phase and concurrency level, alternating the clients; `onRun` sees each run as it ends. */
export async function runStreams(
  sim: SimChild,
  phases: readonly Phase[],
  onRun: (run: StreamRun) => void = () => undefined,
): Promise<StreamRun[]> {
  eventLoopDelay.enable();
  const runs: StreamRun[] = [];
  try {
    for (const phase of phases) {
      const expectedChunks = phase.profile.outputTokens;
      for (const concurrency of phase.concurrencies) {
        const raw = createRawReader({ baseURL: sim.baseURL, model: phase.model, expectedEvents: expectedChunks + FRAMING_EVENTS });
        const tokenmeter = createTokenmeterClient(sim.baseURL, phase.model, expectedChunks);
        try {
          if (phase.warmUp) {
            await warmUp(raw, concurrency);
            await warmUp(tokenmeter, concurrency);
          }
          for (let pair = 0; pair < phase.pairs; pair++) {
            for (const client of [raw, tokenmeter]) {
              const run = await measureRun(client, concurrency, sim, phase);
              runs.push(run);
              onRun(run);
            }
          }
        } finally {
          raw.close();
          tokenmeter.close();
        }
      }
    }
  } finally {
    eventLoopDelay.disable();
  }
  return runs;
}
