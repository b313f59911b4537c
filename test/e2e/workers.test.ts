/**
 * Load workers end to end (issue 14, "every core"): a cell split over worker
 * threads against the built-in simulator, which keeps its truth. Every
 * assertion is a count, a token count or an ordering between the client's
 * and the simulator's times, so it holds however busy the machine is.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { main } from '../../src/cli/main.ts';
import { collectRun, scenarioEvents, type RunEvent } from '../../src/pipeline.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { startSimulator, type SimRequestTruth } from '../../src/sim/server.ts';
import { startSimulatorThread, type ThreadedSimulator } from '../../src/sim/threaded.ts';
import type { RequestRecord, SimModelProfile } from '../../src/types.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
/** requests.jsonl and the histograms aside, times are exact; a difference of two doubles may be off in its last bits. */
const FLOAT_SLACK_MS = 1e-6;

const scenarioOf = (load: string, profile: SimModelProfile) =>
  parseScenario(
    `name: workers
target:
  baseURL: builtin
  simulator: {seed: 5, defaults: ${JSON.stringify(profile)}}
models: [${LLAMA}]
load: {${load}, maxClientLag: 60s, maxClientUtilization: 1}
prompts: ["Tell me a story", "Why is the sky blue?"]
`,
    'workers.yaml',
    {},
  );

/** Runs the pipeline against the threaded simulator; times of records on this thread's clock (wall-clock origin 0). */
async function runWith(simulator: ThreadedSimulator, scenario: ReturnType<typeof scenarioOf>, workers: number, interruptAfter?: number) {
  const records: RequestRecord[] = [];
  const interrupt = new AbortController();
  let progress = 0;
  const result = await collectRun(
    scenarioEvents(scenario, { baseURL: simulator.baseURL, workers, interrupt: interrupt.signal, wallClockOrigin: { clockMs: 0, unixMs: 0 } }),
    (event: RunEvent) => {
      if (event.type === 'record') records.push(event.record);
      if (event.type === 'progress' && ++progress === interruptAfter) interrupt.abort();
    },
  );
  return { result, records };
}

/**
 * The client's times against the simulator's, each mapped onto this thread's clock (the worker's by its
 * clock origin, the simulator's by its own): sent before the simulator received it, each chunk arrived
 * after it was written. Orderings in real time, not durations; they hold only if both mappings are right.
 */
function assertAfterTruth(record: RequestRecord, truth: SimRequestTruth): void {
  const t0 = record.sentAtUnixMs!;
  assert.ok(t0 <= truth.receivedAt + FLOAT_SLACK_MS, `${record.id}: sent at ${t0}, received at ${truth.receivedAt}`);
  record.metrics.chunkTimesMs.forEach((ms, i) => {
    assert.ok(t0 + ms >= truth.chunks[i]!.at - FLOAT_SLACK_MS, `${record.id} chunk ${i}: arrived ${t0 + ms}, written ${truth.chunks[i]!.at}`);
  });
  // TTFT, as the 1-worker e2e tests bound it: never below the simulator's own (first token written − received).
  const simTtft = truth.chunks[0]!.at - truth.receivedAt;
  assert.ok(record.metrics.ttftMs! >= simTtft - FLOAT_SLACK_MS, `${record.id}: TTFT ${record.metrics.ttftMs} vs the simulator's ${simTtft}`);
}

test('2 workers against the simulator: every request once, per-chunk tokens equal the truth, TTFT within the same bound as 1 worker', async () => {
  const profile: SimModelProfile = { ttftMs: 40, tokensPerSecond: 400, tokensPerChunk: [1, 5], outputTokens: [30, 60], capacity: 64, usageExtraTokens: 0 };
  for (const workers of [1, 2]) {
    const simulator = await startSimulatorThread(scenarioOf('concurrency: 8, requests: 40', profile).target.simulator, { keepTruth: true });
    try {
      const { result, records } = await runWith(simulator, scenarioOf('concurrency: 8, requests: 40', profile), workers);
      assert.equal(result.completed, true);
      const truth = await simulator.truth();
      const ids = records.map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length, `${workers} worker(s): no duplicates`);
      assert.equal(records.length, 8 + 40, `${workers} worker(s): the cell's warm-up (one per slot) and measured requests`);
      assert.deepEqual(new Set(ids), new Set(truth.map((t) => t.requestId)), 'every request the simulator saw, and nothing else');
      assert.deepEqual([...new Set(records.map((r) => r.slot))].sort((a, b) => a! - b!), [0, 1, 2, 3, 4, 5, 6, 7]);
      if (workers === 2) assert.deepEqual(new Set(ids.map((id) => id.split('-')[0])), new Set(['c1.0', 'c1.1']), 'both workers sent');
      const truthById = new Map(truth.map((t) => [t.requestId!, t]));
      for (const record of records) {
        const t = truthById.get(record.id)!;
        assert.equal(record.outcome, 'ok');
        assert.deepEqual(record.metrics.tokensPerChunk, t.chunks.map((c) => c.tokens), `chunk tokens of ${record.id}`);
        assert.equal(record.metrics.outputTokens, t.completionTokens);
        assertAfterTruth(record, t);
      }
      const [cell] = result.cells;
      assert.equal(cell!.requests, 40);
      assert.ok(cell!.histograms.client_loop_delay.totalCount > 0, "the reading threads' loop delay is in the cell");
      assert.ok(cell!.clientUtilization! > 0 && cell!.clientUtilization! < 1, `utilization ${cell!.clientUtilization}`);
    } finally {
      await simulator.close();
    }
  }
});

test('2 workers in open loop: the arrivals of one schedule, each sent once, by the worker whose share it is', async () => {
  const profile: SimModelProfile = { ttftMs: 10, tokensPerSecond: 1000, tokensPerChunk: 2, outputTokens: 10, capacity: 64, usageExtraTokens: 0 };
  const scenario = scenarioOf('rate: 100, requests: 30, warmup: 4', profile);
  const simulator = await startSimulatorThread(scenario.target.simulator, { keepTruth: true });
  try {
    const { records } = await runWith(simulator, scenario, 2);
    assert.deepEqual(
      records.map((r) => r.id).sort(),
      Array.from({ length: 34 }, (_, n) => `c1-${n}`).sort(),
      'arrival n of the cell, whichever worker sent it',
    );
    assert.deepEqual(new Set((await simulator.truth()).map((t) => t.requestId)), new Set(records.map((r) => r.id)));
    // ts is each arrival's place in the one schedule: start + n / rate, whichever worker's share it is.
    const start = Math.min(...records.map((r) => r.sentAtUnixMs! - r.metrics.scheduleLagMs));
    for (const record of records) {
      const n = Number(record.id.split('-')[1]);
      const ts = record.sentAtUnixMs! - record.metrics.scheduleLagMs;
      assert.ok(Math.abs(ts - (start + n * 10)) < 1e-6, `${record.id}: due at ${ts - start} ms`);
    }
  } finally {
    await simulator.close();
  }
});

test('Ctrl-C with 2 workers: every request the simulator saw is recorded once, those cut short as interrupted', async () => {
  // Streams of about a second: when the interrupt comes, every slot has one in flight.
  const profile: SimModelProfile = { ttftMs: 20, tokensPerSecond: 60, tokensPerChunk: 2, outputTokens: 60, capacity: 64, usageExtraTokens: 0 };
  const scenario = scenarioOf('concurrency: 6, requests: 60', profile);
  const simulator = await startSimulatorThread(scenario.target.simulator, { keepTruth: true });
  try {
    // Interrupted as the 3rd request finishes: the warm-up wave is still in flight.
    const { result, records } = await runWith(simulator, scenario, 2, 3);
    assert.equal(result.completed, false);
    const truth = await simulator.truth();
    const ids = records.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    const recorded = new Set(ids);
    for (const t of truth) assert.ok(recorded.has(t.requestId!), `${t.requestId} was sent and is recorded`);
    const seen = new Set(truth.map((t) => t.requestId));
    for (const record of records) {
      // A request the server never saw was cut short on its way: interrupted, never lost or invented.
      if (!seen.has(record.id)) assert.equal(record.error?.class, 'interrupted', record.id);
    }
    const interrupted = records.filter((r) => r.error?.class === 'interrupted');
    assert.ok(interrupted.length >= 3, `the streams in flight were interrupted (${interrupted.length})`);
    assert.ok(records.length < 6 + 60, 'the cell stopped');
    assert.deepEqual(new Set(interrupted.map((r) => r.id.split('-')[0])), new Set(['c1.0', 'c1.1']), 'in both workers');
  } finally {
    await simulator.close();
  }
});

test('--workers 1 sends from the main thread (no worker started); --workers and load.workers start that many; the flag wins', () =>
  withTempDir(async (dir) => {
    // The simulator on this very thread: any worker thread started is a load worker.
    const simulator = await startSimulator({ seed: 1, defaults: { ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: 2, outputTokens: 10, capacity: 16, usageExtraTokens: 0 }, models: {} });
    const started: Worker[] = [];
    const onWorker = (worker: Worker): void => void started.push(worker);
    process.on('worker', onWorker);
    try {
      const file = path.join(dir, 's.yaml');
      const run = async (name: string, scenarioWorkers: string, flag: string[]) => {
        await writeFile(file, `name: w\ntarget: {baseURL: "${simulator.baseURL}"}\nmodels: [${LLAMA}]\nload: {concurrency: 4, requests: 8${scenarioWorkers}}\nprompts: [hi]\n`);
        started.length = 0;
        const io = captureIo();
        const out = path.join(dir, name);
        const code = await main(['run', file, '--out', out, '--no-preflight', ...NOT_ABOUT_CLIENT_HEALTH, ...flag], io);
        assert.equal(code, 0, io.err());
        const lines = await readRequests(out);
        assert.equal(lines.length, 4 + 8);
        const { workers } = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')) as { workers: number };
        assert.equal(workers, Math.max(1, started.length), 'run.json says how many threads read the load');
        return started.length;
      };
      assert.equal(await run('flag1', '', ['--workers', '1']), 0, '--workers 1: no thread');
      assert.equal(await run('flag2', '', ['--workers', '2']), 2);
      assert.equal(await run('scenario2', ', workers: 2', []), 2, 'load.workers');
      assert.equal(await run('flagwins', ', workers: 2', ['--workers', '1']), 0, 'the flag wins');
    } finally {
      process.off('worker', onWorker);
      await simulator.close();
    }
  }));

test('--workers must be a positive integer', async () => {
  for (const value of ['0', '1.5', 'x']) {
    const io = captureIo();
    assert.equal(await main(['run', '--base-url', 'builtin', '--workers', value], io), 2, value);
    assert.match(io.err(), /--workers must be an integer from 1 to 1024/);
  }
});
