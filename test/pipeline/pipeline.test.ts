import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTokenizer } from '../../src/metrics/tokenizers.ts';
import { parse } from 'csv-parse/sync';
import { capacityEvents, collectRun, renderResultFiles, runScenario, scenarioEvents, type RequestClient, type RunEvent } from '../../src/pipeline.ts';
import type { ClientHealthMonitorFactory } from '../../src/load/client-health.ts';
import type { ClientHealth } from '../../src/metrics/client-health.ts';
import { renderSummaryTable } from '../../src/report/console.ts';
import { renderRequestLine } from '../../src/report/json.ts';
import { loadScenario, parseScenario } from '../../src/scenario/load.ts';
import type { RequestRecord } from '../../src/types.ts';
import path from 'node:path';
import { VirtualClock } from '../../src/util/clock.ts';
import { VirtualServer, type VirtualServerProfile } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const scenarioOf = (yaml: string) => parseScenario(`name: t\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nprompts: [hi]\n${yaml}`, 't.yaml', {});

/** Runs a scenario's pipeline against a VirtualServer on simulated time; every event, and the result. */
async function runVirtual(
  yaml: string,
  profile: VirtualServerProfile,
  options: {
    capacity?: boolean;
    wrap?: (server: VirtualServer, clock: VirtualClock) => RequestClient;
    onEvent?: (event: RunEvent) => void;
    clientHealth?: ClientHealthMonitorFactory;
  } = {},
) {
  const clock = new VirtualClock();
  const server = new VirtualServer(clock, profile, 1);
  const client = options.wrap ? options.wrap(server, clock) : server;
  const scenario = scenarioOf(yaml);
  const pipelineOptions = { baseURL: 'http://virtual.invalid/v1', clock, client, ...(options.clientHealth ? { clientHealth: options.clientHealth } : {}) };
  const events: RunEvent[] = [];
  const stream = options.capacity ? capacityEvents(scenario, pipelineOptions) : scenarioEvents(scenario, pipelineOptions);
  const result = await clock.run(collectRun(stream, (event) => {
      events.push(event);
      options.onEvent?.(event);
    }));
  return { events, result, server, clock };
}

const FAST: VirtualServerProfile = { ttftMs: 5, tokensPerSecond: 1000, tokensPerChunk: [1, 3], outputTokens: [20, 40], capacity: 16 };

test('a cell’s tokens are counted only once its load is over: every progress event of a cell comes before its records', async () => {
  const tokenizer = await loadTokenizer('llama3');
  const original = tokenizer.tokenByteLengths;
  const log: string[] = [];
  (tokenizer as { tokenByteLengths: typeof original }).tokenByteLengths = (text) => {
    log.push('encode');
    return original(text);
  };
  try {
    const { events, result } = await runVirtual('load: {concurrency: [4, 8], requests: 16}\n', FAST, { onEvent: (event) => log.push(event.type) });
    assert.equal(result.completed, true);
    assert.equal(events.filter((e) => e.type === 'record').length, 4 + 16 + 8 + 16);
    // Per cell: all progress, then encodes and records interleaved, then the cell's summary.
    const cells = log.join(' ').split(' cell').slice(0, 2);
    for (const [i, cell] of cells.entries()) {
      const lastProgress = cell.lastIndexOf('progress');
      const firstEncode = cell.indexOf('encode');
      assert.ok(firstEncode > lastProgress, `cell ${i + 1}: the tokenizer ran while streams were in flight`);
    }
    assert.deepEqual(
      result.cells.map((s) => [s.load.value, s.requests, s.ok]),
      [
        [4, 16, 16],
        [8, 16, 16],
      ],
    );
  } finally {
    (tokenizer as { tokenByteLengths: typeof original }).tokenByteLengths = original;
  }
});

test('with tokenizer: server, the server is asked for tokens only once a cell’s load is over, and its answers count the tokens', async () => {
  const log: string[] = [];
  // The server's tokenize endpoint, vLLM's format: one token per word of the VirtualServer's text.
  const tokenizeFetch = (async (url: string | URL | Request, init?: RequestInit) => {
    log.push('tokenize');
    assert.equal(String(url), 'http://virtual.invalid/tokenize');
    const { prompt } = JSON.parse(String(init!.body)) as { prompt: string };
    const words = prompt.match(/\s*\S+/g) ?? [];
    return new Response(JSON.stringify({ tokens: words.map((_, i) => i), count: words.length, max_model_len: 8192, token_strs: words }));
  }) as typeof fetch;
  const clock = new VirtualClock();
  const server = new VirtualServer(clock, FAST, 1);
  const scenario = parseScenario(
    `name: t\ntarget: {baseURL: "http://virtual.invalid/v1", provider: vllm}\nmodels: [{name: ${LLAMA}, tokenizer: server}]\nprompts: [hi]\nload: {concurrency: [4, 8], requests: 16}\n`,
    't.yaml',
    {},
  );
  const records: RequestRecord[] = [];
  const result = await clock.run(
    collectRun(scenarioEvents(scenario, { baseURL: 'http://virtual.invalid/v1', clock, client: server, tokenizeFetch }), (event) => {
      log.push(event.type);
      if (event.type === 'record') records.push(event.record);
    }),
  );
  assert.equal(result.completed, true);
  assert.deepEqual(result.warnings, []);
  const cells = log.join(' ').split(' cell').slice(0, 2);
  for (const [i, cell] of cells.entries()) {
    assert.ok(cell.includes('tokenize'), `cell ${i + 1}: the server was asked`);
    assert.ok(cell.indexOf('tokenize') > cell.lastIndexOf('progress'), `cell ${i + 1}: the server was asked while streams were in flight`);
    assert.ok(cell.lastIndexOf('tokenize') < cell.indexOf('record'), `cell ${i + 1}: every answer came before the first record`);
  }
  assert.equal(records.length, 4 + 16 + 8 + 16);
  for (const record of records) {
    assert.equal(record.tokenSource, 'tokenizer');
    assert.equal(record.tokenizer, 'server');
  }
});

test('on simulated time the numbers are the server’s exactly: TTFT, TPOT and the knee of a capacity-4 server', async () => {
  const profile: VirtualServerProfile = { ttftMs: 20, tokensPerSecond: 200, tokensPerChunk: [1, 3], outputTokens: 80, capacity: 4 };
  const { result } = await runVirtual('load: {concurrency: [4, 5], requests: 40}\n', profile);
  const [atCapacity, pastCapacity] = result.cells;
  assert.equal(atCapacity!.stats.ttft!.min, 20);
  assert.equal(atCapacity!.stats.ttft!.max, 20);
  // HDR keeps 3 significant digits: 5 ms reads as the top of its bucket, 5.003.
  assert.ok(Math.abs(atCapacity!.stats.tpot!.p50 - 5) < 0.005, 'TPOT is 1000/200 ms per token, whatever the chunk size');
  // One stream too many: a request waits for a whole request (20 ms + at least 77 tokens × 5 ms) before its own 20 ms.
  assert.ok(pastCapacity!.stats.ttft!.max >= 20 + 20 + 77 * 5, `TTFT max ${pastCapacity!.stats.ttft!.max}`);
});

test('capacity finds the knee of a capacity-4 server on simulated time: the steps it took are exact', async () => {
  const profile: VirtualServerProfile = { ttftMs: 20, tokensPerSecond: 200, tokensPerChunk: [1, 3], outputTokens: 80, capacity: 4 };
  const { events, result } = await runVirtual(
    'load: {concurrency: 1, duration: 2s}\nslo: {ttft_p95_ms: 70, error_rate: 0.01}\ncapacity: {start: 1, max: 32, tolerance: 1}\n',
    profile,
    { capacity: true },
  );
  const [outcome] = result.capacity!;
  assert.equal(outcome!.best, 4);
  assert.equal(outcome!.firstFailure?.load, 5);
  assert.match(outcome!.firstFailure!.reason, /^ttft_p95_ms \d+(\.\d+)? > 70$/);
  assert.deepEqual(
    outcome!.steps.map((s) => [s.load, s.met]),
    [
      [1, true],
      [2, true],
      [4, true],
      [8, false],
      [6, false],
      [5, false],
    ],
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'capacity-step').map((e) => e.type === 'capacity-step' && `${e.load}:${e.verdict.met}`),
    ['1:true', '2:true', '4:true', '8:false', '6:false', '5:false'],
  );
  const knee = result.cells.find((cell) => cell.load.value === 4)!;
  assert.equal(knee.goodRequests, knee.ok, 'every request at the knee met the SLO');
});

test('a client too busy to send on time: its schedule lag is reported and the cell is marked invalid', async () => {
  // Every send holds the client's thread for 25 ms, while arrivals are due every 20 ms.
  const { events, result } = await runVirtual('load: {rate: 50, requests: 60, warmup: 0}\n', FAST, {
    wrap: (server, clock) => ({
      send: (request) => {
        clock.block(25);
        return server.send(request);
      },
      close: () => undefined,
    }),
  });
  const [cell] = result.cells;
  assert.match(cell!.invalid ?? '', /^p99 schedule lag \d+\.\d ms > 10 ms/);
  assert.ok(cell!.stats.schedule_lag!.p99 > 10);
  const records = events.flatMap((e) => (e.type === 'record' ? [e.record] : []));
  const lagged = records.filter((r) => r.metrics.scheduleLagMs > 10);
  assert.ok(lagged.length > 30, `${lagged.length} requests late`);
  // Latency from the scheduled time includes the lag; from the send time it does not.
  for (const r of lagged) assert.equal(r.metrics.scheduledTtftMs, r.metrics.ttftMs! + r.metrics.scheduleLagMs);
  // Every output says so.
  const at = new Date(0);
  const files = await renderResultFiles(scenarioOf('load: {rate: 50, requests: 60, warmup: 0}\n'), result, { startedAt: at, endedAt: at, baseURL: '', argv: [], tokenmeterVersion: 'test' });
  const [row] = parse(files['summary.csv']!, { columns: true }) as Record<string, string>[];
  assert.equal(row!.rate_rps, '50');
  assert.equal(row!.valid, 'false');
  assert.match(row!.invalid_reason!, /^p99 schedule lag \d+\.\d ms > 10 ms/);
  assert.match(JSON.parse(files['summary.json']!).cells[0].invalid, /p99 schedule lag/);
  assert.match(files['report.html']!, /INVALID/);
  assert.match(renderSummaryTable(result.cells), /INVALID .* @ 50 req\/s: p99 schedule lag/);
});

/** A monitor that reports `health` for every cell, and logs when each cell's monitor starts and stops. */
const injectedHealth = (health: ClientHealth, log: string[] = []): ClientHealthMonitorFactory => () => {
  log.push('start');
  return {
    stop: () => {
      log.push('stop');
      return health;
    },
  };
};

test('the client-health monitor watches each cell’s load: started before its first request, stopped before its tokens are counted', async () => {
  const log: string[] = [];
  const quiet: ClientHealth = { loopDelay: [{ value: 0.05, count: 995 }, { value: 3, count: 5 }], utilization: 0.3, elapsedMs: 1000 };
  const { result } = await runVirtual('load: {concurrency: [2, 4], requests: 16}\n', FAST, {
    clientHealth: injectedHealth(quiet, log),
    onEvent: (event) => log.push(event.type),
  });
  const perCell = log.join(' ').split(' cell').slice(0, 2).map((cell) => cell.trim().replace(/( progress)+/g, ' progress').replace(/( record)+/g, ' record'));
  assert.deepEqual(perCell, ['start progress stop record', 'start progress stop record']);
  for (const cell of result.cells) {
    assert.equal(cell.invalid, undefined, 'a quiet client leaves the cell valid');
    assert.equal(cell.clientUtilization, 0.3);
    assert.equal(cell.stats.client_loop_delay!.p99, 0.05);
    assert.equal(cell.stats.client_loop_delay!.max, 3);
  }
});

test('a client whose event loop stalled: the cell is marked invalid with client lag as the reason, in every output', async () => {
  const stalled: ClientHealth = { loopDelay: [{ value: 0.05, count: 700 }, { value: 120, count: 300 }], utilization: 0.5, elapsedMs: 1000 };
  const yaml = 'load: {concurrency: 4, requests: 16}\n';
  const { result } = await runVirtual(yaml, FAST, { clientHealth: injectedHealth(stalled) });
  const [cell] = result.cells;
  const reason = /^client lag: event-loop delay p99 120\.\d ms > 10 ms: the client, not the server, was the bottleneck$/;
  assert.match(cell!.invalid ?? '', reason);
  const at = new Date(0);
  const files = await renderResultFiles(scenarioOf(yaml), result, { startedAt: at, endedAt: at, baseURL: '', argv: [], tokenmeterVersion: 'test' });
  const [row] = parse(files['summary.csv']!, { columns: true }) as Record<string, string>[];
  assert.equal(row!.valid, 'false');
  assert.match(row!.invalid_reason!, reason);
  assert.deepEqual([row!.client_loop_delay_p50_ms, row!.client_loop_delay_max_ms, row!.client_utilization], ['0.05', '120', '0.5']);
  assert.match(JSON.parse(files['summary.json']!).cells[0].invalid, reason);
  assert.match(files['report.html']!, /INVALID: client lag/);
  assert.match(renderSummaryTable(result.cells), /INVALID .* @ c=4: client lag: event-loop delay p99/);
});

test('on simulated time no real client-health monitor runs unless one is injected', async () => {
  const { result } = await runVirtual('load: {concurrency: 2, requests: 8}\n', FAST);
  assert.equal(result.cells[0]!.clientUtilization, undefined);
  assert.equal(result.cells[0]!.stats.client_loop_delay, undefined);
});

test('with repeat, each repeat is a cell of its own and the merged cells come last', async () => {
  const clock = new VirtualClock();
  const scenario = scenarioOf('load: {concurrency: [2, 4], requests: 8}\n');
  const client = new VirtualServer(clock, FAST);
  const result = await clock.run(runScenario(scenario, { baseURL: '', clock, client, repeat: 2 }));
  assert.deepEqual(
    result.cells.map((c) => `${c.load.value}#${c.repeat ?? 'all'}`),
    ['2#1', '2#2', '4#1', '4#2', '2#all', '4#all'],
  );
  assert.equal(result.cells[4]!.requests, 16);
});

test('beyond the server’s capacity output tokens/s levels off: at 2× and 4× capacity within 10% of the value at capacity', async () => {
  const profile: VirtualServerProfile = { ttftMs: 20, tokensPerSecond: 200, tokensPerChunk: [1, 3], outputTokens: [40, 60], capacity: 4 };
  // 4 measured requests per slot at 4× capacity: the first version's window counted the ramp-down of the last wave (−15% there).
  const { result } = await runVirtual('load: {concurrency: [4, 8, 16], requests: 64}\n', profile);
  const [atCapacity, twice, fourTimes] = result.cells.map((cell) => cell.outputTokensPerS);
  for (const [label, value] of [['2×', twice!], ['4×', fourTimes!]] as const) {
    assert.ok(Math.abs(value / atCapacity! - 1) <= 0.1, `${label} capacity: ${value.toFixed(1)} tok/s against ${atCapacity!.toFixed(1)} at capacity`);
  }
});

test('the quickstart on simulated time: throughput does not fall past the knee, and its 1.5-requests-per-slot cell says it is short', async () => {
  const scenario = await loadScenario(path.join(import.meta.dirname, '../../scenarios/quickstart.yaml'), {});
  const profile = scenario.target.simulator.models[LLAMA] ?? scenario.target.simulator.defaults;
  const clock = new VirtualClock();
  const client = new VirtualServer(clock, profile, scenario.target.simulator.seed);
  const result = await clock.run(runScenario(scenario, { baseURL: '', clock, client }));
  const byLevel = new Map(result.cells.map((cell) => [cell.load.value, cell]));
  const knee = profile.capacity;
  const past = result.cells.filter((cell) => cell.load.value > knee);
  const below = result.cells.filter((cell) => cell.load.value <= knee);
  assert.ok(past.length > 0 && below.length > 0);
  const best = Math.max(...below.map((cell) => cell.outputTokensPerS));
  for (const cell of past) assert.ok(cell.outputTokensPerS >= best, `c=${cell.load.value}: ${cell.outputTokensPerS} < ${best}`);
  assert.match(byLevel.get(32)!.short ?? '', /^1\.5 measured requests per slot < 3/);
  assert.equal(byLevel.get(8)!.short, undefined);
});

test('every record has its wall-clock send time, t0 mapped onto Unix time from an injected origin, and closed-loop records their slot', async () => {
  const clock = new VirtualClock(5_000);
  const client = new VirtualServer(clock, FAST);
  const origin = { clockMs: 4_000, unixMs: 1_700_000_000_000 };
  const records: RequestRecord[] = [];
  const sends = new Map<string, number>();
  const tracking: RequestClient = {
    send: (request) => {
      sends.set(request.id, clock.now());
      return client.send(request);
    },
    close: () => undefined,
  };
  await clock.run(
    collectRun(scenarioEvents(scenarioOf('load: {concurrency: 3, requests: 9}\n'), { baseURL: '', clock, client: tracking, wallClockOrigin: origin }), (event) => {
      if (event.type === 'record') records.push(event.record);
    }),
  );
  assert.equal(records.length, 12);
  for (const record of records) {
    assert.equal(record.sentAtUnixMs, origin.unixMs + (sends.get(record.id)! - origin.clockMs));
    assert.equal(JSON.parse(renderRequestLine(record)).sent_at_unix_ms, record.sentAtUnixMs);
  }
  assert.deepEqual([...new Set(records.map((r) => r.slot))].sort(), [0, 1, 2]);
  assert.equal(JSON.parse(renderRequestLine(records[0]!)).slot, records[0]!.slot);
});

test('without an injected origin the wall-clock send time is read from Date.now() as the run starts; a dropped arrival has none', async () => {
  const clock = new VirtualClock();
  const before = Date.now();
  const { events } = await runVirtual('load: {rate: 100, requests: 20, warmup: 0, maxInFlight: 1}\n', { ...FAST, ttftMs: 50 });
  const after = Date.now();
  const records = events.flatMap((e) => (e.type === 'record' ? [e.record] : []));
  const dropped = records.filter((r) => r.outcome === 'dropped');
  assert.ok(dropped.length > 0);
  for (const record of dropped) {
    assert.equal(record.sentAtUnixMs, undefined);
    assert.equal(JSON.parse(renderRequestLine(record)).sent_at_unix_ms, null);
  }
  const sent = records.filter((r) => r.outcome !== 'dropped');
  const first = Math.min(...sent.map((r) => r.sentAtUnixMs!));
  assert.ok(first >= before && first <= after + clock.now(), `${first} outside [${before}, ${after}]`);
  assert.ok(sent.every((r) => r.slot === undefined), 'an open loop has no slots');
});
