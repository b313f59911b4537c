/**
 * Timing accuracy against the simulator's truth: how close tokenmeter's
 * timestamps come to what the simulator did, on a real machine over real HTTP.
 * These were test assertions once (median TTFT difference < 2 ms, median
 * chunk drift < 2 ms, TPOT within 10% of the pacing); how close they come
 * depends on how busy the machine is, so they are measured here instead and
 * `npm test` holds only what is true under any load (test/e2e/run.test.ts).
 *
 * The simulator runs on its own thread with keepTruth, as `baseURL: builtin`
 * runs it; the load goes through the real pipeline (runScenario, closed loop,
 * one warm-up request per slot). Each compared quantity is a difference on
 * one thread's clock (client: t_f - t0; simulator: first write - request
 * received), so the offset between the threads' clock origins cancels.
 */
import { collectRun, scenarioEvents } from '../src/pipeline.js';
import { parseScenario } from '../src/scenario/load.js';
import type { SimRequestTruth } from '../src/sim/server.js';
import { startSimulatorThread } from '../src/sim/threaded.js';
import type { RequestRecord, SimModelProfile } from '../src/types.js';

export const ACCURACY_MODEL = 'Meta-Llama-3.3-70B-Instruct';

/** The profile the tests used: TTFT 100 ms, 200 tokens/s (5 ms per token), 1–5 tokens per chunk. */
export const ACCURACY_PROFILE: SimModelProfile = {
  ttftMs: 100,
  tokensPerSecond: 200,
  tokensPerChunk: [1, 5],
  outputTokens: [60, 100],
  capacity: 100_000,
  usageExtraTokens: 0,
};

/** Aims the tests used to assert, printed beside what is measured. */
export const ACCURACY_AIMS = { ttftDifferenceP50Ms: 2, driftP50Ms: 2, tpotRelative: 0.1 };

/** Measured requests per slot: two closed-loop waves after the warm-up wave. */
const REQUESTS_PER_SLOT = 2;

/** Nearest-rank percentiles of one sample. */
export interface Spread {
  count: number;
  p1: number;
  p50: number;
  p99: number;
}

export interface AccuracyRun {
  concurrency: number;
  /** Measured requests (warm-up excluded) that ended ok and were matched to the simulator's truth. */
  requests: number;
  /** Client TTFT (t_f - t0) minus the simulator's (first token written - request received), ms, per request. */
  ttftDifferenceMs: Spread;
  /** Per token chunk after the first: (t_i - t_f) - (write_i - write_f), ms. */
  driftMs: Spread;
  /** Client TPOT (METRICS.md) per request, ms. */
  tpotMs: Spread;
  /** The same formula over the simulator's write times, per request, ms: how late its own timers ran. */
  simulatorTpotMs: Spread;
  /** 1000 / tokensPerSecond, ms. */
  pacingMs: number;
  /** Wall time of the run, simulator start to close, s. */
  seconds: number;
  /** Why the pipeline marked the cell invalid (client lag, …); undefined when it stood behind its numbers. */
  invalid: string | undefined;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  return { count: sorted.length, p1: at(1), p50: at(50), p99: at(99) };
}

/** One closed-loop run at `concurrency` against a fresh simulator thread. */
export async function measureAccuracy(
  concurrency: number,
  profile: SimModelProfile = ACCURACY_PROFILE,
  requestsPerSlot = REQUESTS_PER_SLOT,
): Promise<AccuracyRun> {
  const startedAt = performance.now();
  const simulator = await startSimulatorThread({ seed: concurrency, defaults: profile, models: {} }, { keepTruth: true });
  const records: RequestRecord[] = [];
  let invalid: string | undefined;
  let truth: SimRequestTruth[];
  try {
    const scenario = parseScenario(
      `name: accuracy\ntarget: {baseURL: "${simulator.baseURL}"}\nmodels: [${ACCURACY_MODEL}]\n` +
        `load: {concurrency: ${concurrency}, requests: ${requestsPerSlot * concurrency}}\nprompts: ["Tell me a story"]\n`,
      'accuracy.yaml',
      {},
    );
    const result = await collectRun(scenarioEvents(scenario, { baseURL: simulator.baseURL }), (event) => {
      if (event.type === 'record') records.push(event.record);
      if (event.type === 'cell') invalid = event.cell.invalid;
    });
    if (!result.completed) throw new Error(`accuracy run at c=${concurrency} did not complete`);
    truth = await simulator.truth();
  } finally {
    await simulator.close();
  }

  const truthById = new Map(truth.map((t) => [t.requestId!, t]));
  const ttftDifferences: number[] = [];
  const drifts: number[] = [];
  const tpots: number[] = [];
  const simulatorTpots: number[] = [];
  let requests = 0;
  for (const record of records) {
    const t = truthById.get(record.id);
    const { ttftMs, tpotMs, chunkTimesMs, tokensPerChunk } = record.metrics;
    if (record.warmup || record.outcome !== 'ok' || !t || ttftMs === undefined || t.chunks.length !== chunkTimesMs.length) continue;
    requests++;
    const firstWrite = t.chunks[0]!.at;
    ttftDifferences.push(ttftMs - (firstWrite - t.receivedAt));
    for (let i = 1; i < chunkTimesMs.length; i++) drifts.push(chunkTimesMs[i]! - chunkTimesMs[0]! - (t.chunks[i]!.at - firstWrite));
    if (tpotMs !== undefined) tpots.push(tpotMs);
    const decodeTokens = tokensPerChunk.slice(1).reduce((n, k) => n + k, 0);
    if (decodeTokens > 0) simulatorTpots.push((t.chunks.at(-1)!.at - firstWrite) / decodeTokens);
  }
  return {
    concurrency,
    requests,
    ttftDifferenceMs: spread(ttftDifferences),
    driftMs: spread(drifts),
    tpotMs: spread(tpots),
    simulatorTpotMs: spread(simulatorTpots),
    pacingMs: 1000 / profile.tokensPerSecond,
    seconds: (performance.now() - startedAt) / 1000,
    invalid,
  };
}
