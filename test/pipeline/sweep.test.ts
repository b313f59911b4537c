import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectRun, sweepEvents, type RunEvent } from '../../src/pipeline.ts';
import { sweepRates } from '../../src/load/sweep.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { loadLabel } from '../../src/util/format.ts';
import { sleep, VirtualClock } from '../../src/util/clock.ts';
import type { RequestClient } from '../../src/pipeline.ts';
import type { ClientHealthMonitorFactory } from '../../src/load/client-health.ts';
import { VirtualServer, type VirtualServerProfile } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
// 20 ms to the first token, then 80 tokens at 200 tokens/s: 420 ms a request; 4 streams decode at once.
const PROFILE: VirtualServerProfile = { ttftMs: 20, tokensPerSecond: 200, tokensPerChunk: [1, 3], outputTokens: 80, capacity: 4 };
const SWEEP = 'load: {concurrency: 1, duration: 4s, warmup: 8}\nsweep: {rates: 3, maxConcurrency: 8}\n';

/**
 * `tokenmeter sweep`'s pipeline against a VirtualServer on simulated time; `onEvent` may abort the
 * run. Every request to the `failing` model fails with a 500 after 10 ms (not at once: a closed loop
 * bounded by time would send failures forever at one simulated instant).
 */
async function sweepVirtual(
  models: string[],
  options: { failing?: string; onEvent?: (event: RunEvent, abort: () => void) => void; clientHealth?: ClientHealthMonitorFactory } = {},
) {
  const { failing, onEvent, clientHealth } = options;
  const clock = new VirtualClock();
  const virtual = new VirtualServer(clock, PROFILE, 1);
  const server: RequestClient = {
    send: async (request) => {
      if (request.model !== failing) return virtual.send(request);
      const t0 = clock.now();
      await sleep(clock, 10);
      return { id: request.id, ts: request.ts ?? t0, t0, tb: t0 + 10, tEnd: clock.now(), status: 500, chunks: [], error: { class: 'server_error', message: '500', status: 500 } };
    },
    close: () => undefined,
  };
  const scenario = parseScenario(`name: t\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${models.join(', ')}]\nprompts: [hi]\n${SWEEP}`, 't.yaml', {});
  const controller = new AbortController();
  const events: RunEvent[] = [];
  const stream = sweepEvents(scenario, { baseURL: 'http://virtual.invalid/v1', clock, client: server, interrupt: controller.signal, ...(clientHealth ? { clientHealth } : {}) });
  const result = await clock.run(
    collectRun(stream, (event) => {
      events.push(event);
      onEvent?.(event, () => controller.abort());
    }),
  );
  return { events, result };
}

test('sweep on simulated time: c=1, then c=8, then 3 rates evenly spaced between the request rates the two measured', async () => {
  const { events, result } = await sweepVirtual([LLAMA]);
  assert.equal(result.completed, true);
  const [outcome] = result.sweep!;
  const [synchronous, throughput] = result.cells;
  // One stream: a request every 420 ms; eight streams on a server that decodes four: four every 420 ms.
  assert.ok(Math.abs(synchronous!.requestsPerS - 1 / 0.42) < 0.1, `synchronous ${synchronous!.requestsPerS} req/s`);
  assert.ok(Math.abs(throughput!.requestsPerS - 4 / 0.42) < 0.4, `throughput ${throughput!.requestsPerS} req/s`);
  assert.deepEqual(outcome, {
    model: LLAMA,
    maxConcurrency: 8,
    synchronousRps: synchronous!.requestsPerS,
    throughputRps: throughput!.requestsPerS,
    rates: sweepRates(synchronous!.requestsPerS, throughput!.requestsPerS, 3).rates,
  });
  assert.equal(outcome!.rates.length, 3);
  assert.deepEqual(
    result.cells.map((cell) => loadLabel(cell.load)),
    ['c=1', 'c=8', ...outcome!.rates.map((rate) => `${rate} req/s`)],
  );
  // The plan is announced after the throughput probe's summary and before the first rate's first request.
  const order = events.flatMap((e) => (e.type === 'sweep-plan' ? ['plan'] : e.type === 'cell' ? [loadLabel(e.cell.load)] : []));
  assert.deepEqual(order, ['c=1', 'c=8', 'plan', ...outcome!.rates.map((rate) => `${rate} req/s`)]);
  // An open loop at a rate within the server's capacity: every measured request succeeded, none dropped.
  for (const cell of result.cells.slice(2)) {
    assert.equal(cell.errors + cell.dropped, 0, loadLabel(cell.load));
    assert.ok(cell.ok > 0);
  }
});

test('sweep: a model whose every request fails measures no request rate, so its sweep stops after its synchronous probe; the next model sweeps', async () => {
  const broken = 'broken-model';
  const { events, result } = await sweepVirtual([broken, LLAMA], { failing: broken });
  assert.equal(result.completed, true);
  const [stopped, swept] = result.sweep!;
  assert.equal(stopped!.synchronousRps, undefined);
  assert.equal(stopped!.throughputRps, undefined);
  assert.deepEqual(stopped!.rates, []);
  assert.match(stopped!.stopped!, /^the synchronous probe \(c=1\) measured no request rate \(0 of \d+ measured requests succeeded, none inside its window\): its sweep stops here$/);
  assert.ok(result.warnings.includes(`sweep of ${broken}: ${stopped!.stopped}`));
  assert.deepEqual(
    result.cells.filter((cell) => cell.model === broken).map((cell) => loadLabel(cell.load)),
    ['c=1'],
  );
  assert.equal(swept!.rates.length, 3);
  assert.equal(result.cells.filter((cell) => cell.model === LLAMA).length, 5);
  assert.equal(events.filter((e) => e.type === 'sweep-plan').length, 1);
});

test('sweep: Ctrl-C during the first rate ends the sweep there; the cells measured so far and the rates planned are kept', async () => {
  const { result } = await sweepVirtual([LLAMA], {
    onEvent: (event, abort) => {
      if (event.type === 'progress' && event.progress.load.kind === 'rate') abort();
    },
  });
  assert.equal(result.completed, false);
  const [outcome] = result.sweep!;
  assert.equal(outcome!.interrupted, true);
  assert.equal(outcome!.rates.length, 3);
  assert.deepEqual(
    result.cells.map((cell) => loadLabel(cell.load)),
    ['c=1', 'c=8', `${outcome!.rates[0]} req/s`],
  );
});

test('sweep: a probe in which the client was the bottleneck still bounds the rates, and a warning says they are the client\'s', async () => {
  // Every cell's client event loop stalled 120 ms at its p99: every cell invalid, the probes included.
  const stalled = { loopDelay: [{ value: 0.05, count: 700 }, { value: 120, count: 300 }], utilization: 0.5, elapsedMs: 1000 };
  const { result } = await sweepVirtual([LLAMA], { clientHealth: () => ({ stop: () => stalled }) });
  assert.equal(result.sweep![0]!.rates.length, 3);
  const warnings = result.warnings.filter((warning) => warning.includes('probe'));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^sweep of Meta-Llama-3\.3-70B-Instruct: the synchronous probe \(c=1\) is invalid \(client lag: event-loop delay p99 120\.\d ms > 10 ms: .*\): the rates planned from its request rate are the client's, not the server's$/);
  assert.match(warnings[1]!, /^sweep of Meta-Llama-3\.3-70B-Instruct: the throughput probe \(c=8\) is invalid/);
});

test('the library refuses what sweep and capacity cannot run (a ramp, a trace, sessions for sweep) before sending anything', async () => {
  const { capacityEvents } = await import('../../src/pipeline.ts');
  const { ScenarioError } = await import('../../src/scenario/load.ts');
  const cases = [
    { body: 'load: {rate: {from: 1, to: 4, over: 2s}}\nprompts: [hi]\nslo: {ttft_p95_ms: 500}\n', sweep: /load\.rate: sweep runs steady loads/, capacity: /load\.rate: capacity runs steady loads/ },
    { body: 'load: {concurrency: 2, requests: 4}\nprompts: {synthetic: {inputTokens: 8, turns: 2}}\nslo: {ttft_p95_ms: 500}\n', sweep: /prompts\.turns: sweep's rates are open-loop cells/, capacity: undefined },
  ];
  for (const { body, sweep, capacity } of cases) {
    const scenario = parseScenario(`name: t\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\n${body}`, 't.yaml', {});
    let sent = 0;
    const client: RequestClient = { send: async () => { sent++; throw new Error('nothing may be sent'); }, close: () => undefined };
    const clock = new VirtualClock();
    const options = { baseURL: 'http://virtual.invalid/v1', clock, client };
    await assert.rejects(collectRun(sweepEvents(scenario, options), () => undefined), (error: unknown) => error instanceof ScenarioError && sweep.test(error.message));
    if (capacity) {
      await assert.rejects(collectRun(capacityEvents(scenario, options), () => undefined), (error: unknown) => error instanceof ScenarioError && capacity.test(error.message));
    }
    assert.equal(sent, 0);
  }
});

test('a short probe (its throughput mostly ramp) plans the rates all the same, with a warning that says so', async () => {
  // c=8 on 4 decode slots: E2E 820 ms, so a 4 s window is under 5 × E2E; c=1 is not short.
  const { events } = await sweepVirtual([LLAMA]);
  const probes = events.flatMap((event) => (event.type === 'cell' && event.cell.load.kind === 'concurrency' ? [event.cell] : []));
  const warned = events.flatMap((event) => (event.type === 'warning' && / probe \(c=\d+\) is short /.test(event.message) ? [event.message] : []));
  assert.deepEqual(
    warned.map((message) => /probe \(c=(\d+)\)/.exec(message)![1]),
    ['8'],
  );
  assert.deepEqual(probes.map((cell) => cell.short !== undefined), [false, true]);
});
