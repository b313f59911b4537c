import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { readResultsFolder } from '../../src/cli/results-folder.ts';
import { collectRun, scenarioEvents } from '../../src/pipeline.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { RequestRecord, Scenario } from '../../src/types.ts';
import { exitOf } from '../../src/cli/commands/run.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { loadLabel } from '../../src/util/format.ts';
import { captureIo, withTempDir } from '../helpers.ts';
import { runVirtualInto, VirtualServer, type VirtualServerProfile } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const FAST: VirtualServerProfile = { ttftMs: 5, tokensPerSecond: 1000, tokensPerChunk: [1, 3], outputTokens: [20, 40], capacity: 16 };

/** Offsets that are exact binary fractions of a ms, so start + offset − start is the offset exactly. */
const TRACE = [
  '{"timestamp": 0, "input_tokens": 12, "output_tokens": 4}',
  '{"timestamp": 0.125, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8}',
  '{"timestamp": 0.125, "input_tokens": 30, "output_tokens": 2}',
  '{"timestamp": 0.5, "messages": [{"role": "system", "content": "terse"}, {"role": "user", "content": "why"}]}',
  '{"timestamp": 1.75, "input_tokens": 7, "output_tokens": 9}',
].join('\n');
const OFFSETS_MS = [0, 125, 125, 500, 1750];

async function writeTrace(dir: string): Promise<string> {
  const file = path.join(dir, 'trace.jsonl');
  await writeFile(file, TRACE);
  return file;
}

/** Runs a scenario on simulated time against a VirtualServer, Unix time = the clock's time: its records, cells and what the server received. */
async function runVirtual(dir: string, yaml: string, edit: (scenario: Scenario) => void = () => undefined) {
  const clock = new VirtualClock();
  const server = new VirtualServer(clock, FAST, 1);
  const scenario = parseScenario(`name: t\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nparams: {temperature: 0}\n${yaml}`, path.join(dir, 't.yaml'), {});
  edit(scenario);
  const records: RequestRecord[] = [];
  const result = await clock.run(
    collectRun(scenarioEvents(scenario, { baseURL: 'http://virtual.invalid/v1', clock, client: server, wallClockOrigin: { clockMs: 0, unixMs: 0 } }), (event) => {
      if (event.type === 'record') records.push(event.record);
    }),
  );
  // In arrival order (records come as requests finish).
  const arrival = (record: RequestRecord): [number, number] => record.id.slice(1).split('-').map(Number) as [number, number];
  records.sort((a, b) => arrival(a)[0] - arrival(b)[0] || arrival(a)[1] - arrival(b)[1]);
  return { records, result, server };
}

/** A cell's scheduled times, from its first arrival's (line 0, at timestamp 0), ms. */
const relative = (times: number[]): number[] => times.map((time) => time - times[0]!);

test("trace replay's schedule equals the trace, at each speed-up: every line sent at timestamp ÷ speed-up, as its own prompt", () =>
  withTempDir(async (dir) => {
    await writeTrace(dir);
    const { records, result, server } = await runVirtual(dir, 'load: {trace: {file: trace.jsonl, speedup: [1, 2]}}\n');
    assert.equal(result.completed, true);
    // Four arrivals after the first over 1.75 s: 16/7 req/s, twice that at ×2.
    assert.deepEqual(
      result.cells.map((cell) => cell.load),
      [
        { kind: 'rate', value: 4 / 1.75, trace: { speedup: 1 } },
        { kind: 'rate', value: (4 / 1.75) * 2, trace: { speedup: 2 } },
      ],
    );
    assert.deepEqual(result.cells.map((cell) => loadLabel(cell.load)), ['trace ×1 (2.286 req/s)', 'trace ×2 (4.571 req/s)']);
    for (const [c, speedup] of [1, 2].entries()) {
      const cell = records.filter((record) => record.load.trace?.speedup === speedup);
      assert.deepEqual(cell.map((record) => record.id), [0, 1, 2, 3, 4].map((n) => `c${c + 1}-${n}`));
      assert.deepEqual(cell.map((record) => record.prompt), [0, 1, 2, 3, 4], 'line n is arrival n’s prompt');
      assert.deepEqual(relative(cell.map((record) => record.scheduledAtUnixMs!)), OFFSETS_MS.map((offset) => offset / speedup));
      assert.deepEqual(relative(cell.map((record) => record.sentAtUnixMs!)), OFFSETS_MS.map((offset) => offset / speedup), 'sent on time: no lag on simulated time');
      assert.ok(cell.every((record) => record.outcome === 'ok'));
      // The first line is the open loop's one warm-up (a warm connection), sent at its time; no default warm-up second.
      assert.deepEqual(cell.map((record) => record.warmup), [true, false, false, false, false]);
      assert.equal(result.cells[c]!.requests, 4);
    }
    // A token line's output_tokens is its exact length, a messages line's max_tokens a cap, or nothing.
    assert.deepEqual(
      server.received.slice(0, 5).map((request) => request.params),
      [{ temperature: 0, max_tokens: 4 }, { temperature: 0, max_tokens: 8 }, { temperature: 0, max_tokens: 2 }, { temperature: 0 }, { temperature: 0, max_tokens: 9 }],
    );
  }));

test('warmup with a trace marks its first lines (a count) or its first seconds (a duration), still sent at their times; requests cut it short', () =>
  withTempDir(async (dir) => {
    await writeTrace(dir);
    // 0 is raised to the open loop's one warm-up arrival.
    const none = await runVirtual(dir, 'load: {trace: trace.jsonl, warmup: 0}\n');
    assert.deepEqual(none.records.map((record) => record.warmup), [true, false, false, false, false]);
    const byCount = await runVirtual(dir, 'load: {trace: trace.jsonl, warmup: 2}\n');
    assert.deepEqual(byCount.records.map((record) => record.warmup), [true, true, false, false, false]);
    assert.deepEqual(relative(byCount.records.map((record) => record.scheduledAtUnixMs!)), OFFSETS_MS);
    const byTime = await runVirtual(dir, 'load: {trace: trace.jsonl, warmup: 0.2s}\n');
    assert.deepEqual(byTime.records.map((record) => record.warmup), [true, true, true, false, false]);
    const cut = await runVirtual(dir, 'load: {trace: trace.jsonl, requests: 2, warmup: 1}\n');
    assert.deepEqual(cut.records.map((record) => [record.warmup, record.prompt]), [[true, 0], [false, 1], [false, 2]]);
  }));

test('a cell whose every request was warm-up measured nothing, and the run says so instead of "no request succeeded"', () =>
  withTempDir(async (dir) => {
    await writeTrace(dir);
    // validate refuses this warm-up (load.warmup); set past it, as a Poisson ramp's arrivals may fall short of their expected count.
    const { records, result } = await runVirtual(dir, 'load: {trace: trace.jsonl}\n', (scenario) => (scenario.load.warmup = 5));
    assert.deepEqual(records.map((record) => [record.warmup, record.outcome]), Array.from({ length: 5 }, () => [true, 'ok']));
    assert.equal(result.cells[0]!.requests, 0);
    assert.deepEqual(exitOf(result), {
      code: ExitCode.RUN_FAILED,
      messages: ['error: no request was measured: every request the run sent was warm-up (load.warmup covers whole cells: lower it)\n'],
    });
  }));

test('a rate ramp on simulated time: arrivals at the closed-form times, (from + to)/2 × over of them; duration cuts it short', () =>
  withTempDir(async (dir) => {
    const { records, result } = await runVirtual(dir, 'prompts: [hi]\nload: {rate: {from: 2, to: 6, over: 4s}}\n');
    assert.deepEqual(result.cells[0]!.load, { kind: 'rate', value: 2, ramp: { toRate: 6, overMs: 4000 } });
    assert.equal(loadLabel(result.cells[0]!.load), '2→6 req/s over 4s');
    // Λ(t) = 2t + t²/2: arrival i at t = −2 + √(4 + 2i) s; (2 + 6)/2 × 4 = 16 arrivals.
    const expected = Array.from({ length: 16 }, (_, i) => (-2 + Math.sqrt(4 + 2 * i)) * 1000);
    const scheduled = relative(records.map((record) => record.scheduledAtUnixMs!));
    assert.equal(scheduled.length, 16);
    scheduled.forEach((time, i) => assert.ok(Math.abs(time - expected[i]!) < 1e-6, `arrival ${i} at ${time} ms, not ${expected[i]}`));
    // The first arrival is the open loop's one warm-up (no default warm-up second): 15 measured.
    assert.deepEqual(records.map((record) => record.warmup), [true, ...Array<boolean>(15).fill(false)]);
    assert.equal(result.cells[0]!.requests, 15);
    // Λ(2 s) = 6: the arrivals before 2 s; the duration counts from the first measured one (arrival 1, at −2 + √6 s), so Λ(2 + (−2 + √6)) = Λ(√6) = 2√6 + 3 ≈ 7.9: 8 arrivals, 1 warm-up.
    const cut = await runVirtual(dir, 'prompts: [hi]\nload: {rate: {from: 2, to: 6, over: 4s}, duration: 2s}\n');
    assert.equal(cut.records.length, 8);
    assert.equal(cut.result.cells[0]!.requests, 7);
  }));

test('trace and ramp cells round-trip through a results folder: report rebuilds the page byte for byte, check and merge read them', () =>
  withTempDir(async (dir) => {
    const trace = await writeTrace(dir);
    const scenarios = {
      trace: `name: tr\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nload: {trace: {file: ${JSON.stringify(trace)}, speedup: [1, 4]}}\n`,
      ramp: `name: rp\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nprompts: [hi]\nload: {rate: {from: 2, to: 6, over: 2s}}\n`,
    };
    for (const [name, text] of Object.entries(scenarios)) {
      const out = await runVirtualInto(dir, name, text, FAST);
      const folder = await readResultsFolder(out);
      const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
      if (name === 'trace') {
        assert.deepEqual(folder.cells.map((cell) => cell.load.trace), [{ speedup: 1 }, { speedup: 4 }]);
        // run.json names the trace and its hash, not every line.
        assert.equal(run.scenario.load.trace.arrivals, 5);
        assert.equal(run.scenario.load.trace.offsetsMs, undefined);
        assert.match(run.scenario.load.trace.sha256, /^[0-9a-f]{64}$/);
        assert.deepEqual(run.scenario.prompts, { trace: true, file: trace, lines: 5 });
        const line = JSON.parse((await readFile(path.join(out, 'requests.jsonl'), 'utf8')).split('\n')[0]!);
        assert.equal(line.trace_speedup, 1);
      } else {
        assert.deepEqual(folder.cells[0]!.load.ramp, { toRate: 6, overMs: 2000 });
      }
      const written = await readFile(path.join(out, 'report.html'), 'utf8');
      assert.match(written, name === 'trace' ? /<dt>load<\/dt><dd>trace .*trace\.jsonl \(5 arrivals\) at ×1, ×4/ : /<dt>load<\/dt><dd>rate ramp 2→6 req\/s over 2\.0 s/);
      const io = captureIo();
      assert.equal(await main(['report', out], io), 0, io.err());
      assert.equal(await readFile(path.join(out, 'report.html'), 'utf8'), written);
      const check = captureIo();
      assert.equal(await main(['check', out, '--baseline', out, '--inconclusive', 'pass'], check), 0, check.err());
      const again = await runVirtualInto(dir, `${name}-again`, text, FAST);
      const merged = captureIo();
      assert.equal(await main(['merge', out, again, '--out', path.join(dir, `${name}-merged`)], merged), 0, merged.err());
      const mergedFolder = await readResultsFolder(path.join(dir, `${name}-merged`));
      assert.deepEqual(
        mergedFolder.cells.filter((cell) => cell.repeat === undefined).map((cell) => cell.load),
        folder.cells.map((cell) => cell.load),
      );
    }
  }));
