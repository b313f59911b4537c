import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { timedSpanMs } from '../../src/load/cell-load.ts';
import { loadScenario, ScenarioError } from '../../src/scenario/load.ts';
import { withTempDir } from '../helpers.ts';

const HEAD = `name: t
target: {baseURL: builtin}
models: [Meta-Llama-3.3-70B-Instruct]
`;

const TRACE = [
  '{"timestamp": 0, "input_tokens": 12, "output_tokens": 4}',
  '{"timestamp": 0.25, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8}',
  '{"timestamp": 2, "input_tokens": 30, "output_tokens": 2}',
].join('\n');

/** Writes the trace and a scenario beside it; the loaded scenario, or the problems it has. */
async function load(dir: string, yaml: string, trace = TRACE) {
  await writeFile(path.join(dir, 'trace.jsonl'), trace);
  const file = path.join(dir, 's.yaml');
  await writeFile(file, HEAD + yaml);
  try {
    return { scenario: await loadScenario(file, {}), file };
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    return { problems: error.problems.map((line) => line.replaceAll(file, 'FILE').replaceAll(dir, 'DIR')), file };
  }
}

test('a trace replaces rate and prompts: one level per speed-up at its mean rate, its lines the prompts, its file hashed', () =>
  withTempDir(async (dir) => {
    const { scenario } = await load(dir, 'load: {trace: {file: trace.jsonl, speedup: [1, 4]}, maxInFlight: 8}\n');
    assert.ok(scenario);
    // Two arrivals after the first over a 2 s span: 1 req/s, 4 req/s at ×4.
    assert.deepEqual(scenario.load.levels, [1, 4]);
    assert.equal(scenario.load.kind, 'rate');
    assert.deepEqual(scenario.load.trace, {
      file: path.join(dir, 'trace.jsonl'),
      sha256: createHash('sha256').update(TRACE).digest('hex'),
      speedups: [1, 4],
      offsetsMs: [0, 250, 2000],
    });
    assert.equal(scenario.load.maxInFlight, 8);
    assert.equal(scenario.load.requests, undefined);
    assert.equal(scenario.load.durationMs, undefined);
    assert.deepEqual(scenario.prompts, {
      trace: true,
      file: path.join(dir, 'trace.jsonl'),
      lines: [{ inputTokens: 12, outputTokens: 4 }, { messages: [{ role: 'user', content: 'hello' }], maxTokens: 8 }, { inputTokens: 30, outputTokens: 2 }],
    });
    const short = await load(dir, 'load: {trace: trace.jsonl}\n');
    assert.deepEqual(short.scenario?.load.trace?.speedups, [1]);
  }));

test('a trace with prompts, arrival or another load kind is refused, every problem at once', () =>
  withTempDir(async (dir) => {
    const { problems } = await load(dir, 'load: {trace: trace.jsonl, concurrency: 2, arrival: poisson}\nprompts: [hi]\n');
    assert.deepEqual(problems, [
      "FILE: prompts: must not be set with load.trace: the trace's lines are the prompts",
      'FILE: load: must set exactly one of concurrency (closed loop), rate or trace (open loop)',
      'FILE: load.arrival: does not apply to a trace, which has its own arrival times',
    ]);
    const none = await load(dir, 'load: {rate: 2, requests: 3}\n');
    assert.deepEqual(none.problems, ['FILE: prompts: is required: what to send (a list, a file, or synthetic), unless load.trace says it']);
  }));

test("a trace's bad lines are scenario errors naming the scenario, the field and each line", () =>
  withTempDir(async (dir) => {
    const bad = ['{"timestamp": 0, "input_tokens": 1, "output_tokens": 1}', '{oops', '{"timestamp": 1}', '{"timestamp": -2, "messages": [{"role": "user", "content": "x"}]}'].join('\n');
    const object = await load(dir, 'load: {trace: {file: trace.jsonl}}\n', bad);
    assert.deepEqual(object.problems, [
      'FILE: load.trace.file: DIR/trace.jsonl:2: not valid JSON',
      'FILE: load.trace.file: DIR/trace.jsonl:3: must have input_tokens and output_tokens, or messages',
      'FILE: load.trace.file: DIR/trace.jsonl:4: timestamp must be a number of seconds >= 0',
    ]);
    const string = await load(dir, 'load: {trace: trace.jsonl}\n', '{"timestamp": 1, "input_tokens": 1, "output_tokens": 1}\n');
    assert.deepEqual(string.problems, ["FILE: load.trace: DIR/trace.jsonl: needs arrivals at two or more different times (a cell's rate is its arrivals over the trace's span)"]);
    const missing = await load(dir, 'load: {trace: none.jsonl}\n');
    assert.deepEqual(missing.problems, ['FILE: load.trace: DIR/none.jsonl: cannot read the trace file (ENOENT)']);
  }));

test('a rate ramp is one level at its starting rate with the ramp beside it; it needs no requests or duration', () =>
  withTempDir(async (dir) => {
    const { scenario } = await load(dir, 'load: {rate: {from: 1, to: 20, over: 60s}, arrival: poisson}\nprompts: [hi]\n');
    assert.ok(scenario);
    assert.deepEqual(scenario.load.levels, [1]);
    assert.deepEqual(scenario.load.ramp, { toRate: 20, overMs: 60_000 });
    assert.equal(scenario.load.arrival, 'poisson');
    const bad = await load(dir, 'load: {rate: {from: 1, to: 20000000}}\nprompts: [hi]\n');
    assert.deepEqual(bad.problems, [
      'FILE: load.rate.to: must be at most 100,000 (arrivals per second one process sends)',
      'FILE: load.rate.over: must be a duration such as "500ms", "30s" or "5m", or a number of seconds',
    ]);
    const large = await load(dir, 'load: {rate: {from: 1, to: 20000, over: 10s}}\nprompts: [hi]\n');
    assert.equal(large.problems?.length, 1);
    assert.match(large.problems![0]!, /^FILE: load\.rate\.to: 20,000 is more arrivals per second than one thread measures well/);
  }));

test("a ramp's or a trace's timed span is its own length (a trace's at its slowest speed-up), cut by duration: what shards schedule cells by", () =>
  withTempDir(async (dir) => {
    const span = async (yaml: string) => {
      const { scenario } = await load(dir, yaml);
      assert.ok(scenario, yaml);
      return timedSpanMs(scenario, scenario.load.kind);
    };
    assert.equal(await span('load: {rate: {from: 1, to: 20, over: 60s}}\nprompts: [hi]\n'), 60_000);
    assert.equal(await span('load: {rate: {from: 1, to: 20, over: 60s}, duration: 10s, warmup: 2s}\nprompts: [hi]\n'), 12_000);
    assert.equal(await span('load: {trace: {file: trace.jsonl, speedup: [4, 1]}}\n'), 2000);
    assert.equal(await span('load: {trace: {file: trace.jsonl, speedup: 4}}\n'), 500);
    // A steady rate keeps its default second of warm-up; a ramp and a trace have none.
    assert.equal(await span('load: {rate: 2, duration: 10s}\nprompts: [hi]\n'), 11_000);
  }));

test("a trace's mean rate past what one thread measures well is refused at its speed-up, as a rate is, unless allowLargeLoad", () =>
  withTempDir(async (dir) => {
    // 1 req/s as recorded: ×20,000 is 20,000 arrivals per second.
    const { problems } = await load(dir, 'load: {trace: {file: trace.jsonl, speedup: [1, 20000]}}\n');
    assert.equal(problems?.length, 1);
    assert.match(problems![0]!, /^FILE: load\.trace\.speedup\[1\]: the trace's mean rate at this speed-up: 20,000 is more arrivals per second than one thread measures well/);
    const allowed = await load(dir, 'load: {trace: {file: trace.jsonl, speedup: [1, 20000]}, allowLargeLoad: true}\n');
    assert.deepEqual(allowed.scenario?.load.levels, [1, 20000]);
  }));

test('a warm-up that covers a whole trace or ramp is refused at load.warmup (the cell would measure nothing); one short of it passes', () =>
  withTempDir(async (dir) => {
    const refused = async (yaml: string) => (await load(dir, yaml)).problems;
    const passes = async (yaml: string) => assert.ok((await load(dir, yaml)).scenario, yaml);
    // The trace's 3 lines, due at 0, 0.25 and 2 s.
    assert.deepEqual(await refused('load: {trace: trace.jsonl, warmup: 3}\n'), [
      'FILE: load.warmup: a warm-up of 3 requests covers every line of the trace (3), so the cell would measure nothing: lower it',
    ]);
    await passes('load: {trace: trace.jsonl, warmup: 2}\n');
    // At ×4 the last line is due at 0.5 s: a 0.6 s warm-up covers that cell, not the ×1 one.
    assert.deepEqual(await refused('load: {trace: {file: trace.jsonl, speedup: [1, 4]}, warmup: 0.6s}\n'), [
      'FILE: load.warmup: a warm-up of 0.6 s covers every line of the trace at speed-up ×4 (the last due at 0.5 s), so the cell would measure nothing: lower it',
    ]);
    // A line due exactly when the warm-up ends is measured.
    await passes('load: {trace: {file: trace.jsonl, speedup: [1, 4]}, warmup: 0.5s}\n');
    // (1 + 3)/2 × 4 s = 8 expected arrivals.
    assert.deepEqual(await refused('load: {rate: {from: 1, to: 3, over: 4s}, warmup: 8}\nprompts: [hi]\n'), [
      "FILE: load.warmup: a warm-up of 8 requests covers the ramp's 8 expected arrivals, so the cell would measure nothing: lower it",
    ]);
    await passes('load: {rate: {from: 1, to: 3, over: 4s}, warmup: 7}\nprompts: [hi]\n');
    assert.deepEqual(await refused('load: {rate: {from: 1, to: 3, over: 4s}, warmup: 4s}\nprompts: [hi]\n'), [
      'FILE: load.warmup: a warm-up of 4 s covers the whole ramp (4 s), so the cell would measure nothing: lower it',
    ]);
    await passes('load: {rate: {from: 1, to: 3, over: 4s}, warmup: 3.9s}\nprompts: [hi]\n');
  }));

test("a speed-up so slow that the trace's last line is due past Node's timer limit (2³¹−1 ms) is refused at its speed-up", () =>
  withTempDir(async (dir) => {
    // The last line at 2 s: the slowest speed-up is 2000 / (2³¹−1) ≈ 9.3132e-7, named rounded up.
    const { problems } = await load(dir, 'load: {trace: {file: trace.jsonl, speedup: [1, 1e-7]}}\n');
    assert.deepEqual(problems, [
      "FILE: load.trace.speedup[1]: the trace's last line (2 s) would be due 20000000 s after the cell starts, past the 24-day limit of any duration (Node's timers cannot wait longer): must be at least 9.32e-7",
    ]);
    const single = await load(dir, 'load: {trace: {file: trace.jsonl, speedup: 1e-300}}\n');
    assert.match(single.problems![0]!, /^FILE: load\.trace\.speedup: the trace's last line \(2 s\) would be due /);
    assert.ok((await load(dir, 'load: {trace: {file: trace.jsonl, speedup: 9.32e-7}}\n')).scenario, 'the speed-up named passes');
  }));

test("a trace's cells are selected in thresholds by their speed-up; a rate that is no level says what the trace's and the ramp's levels are", () =>
  withTempDir(async (dir) => {
    const thresholds = (list: string) => `thresholds: [${list.split(';').map((item) => JSON.stringify(item)).join(', ')}]\n`;
    const traced = await load(dir, 'load: {trace: {file: trace.jsonl, speedup: [1, 4]}}\n' + thresholds('ttft.p95{speedup=4} < 1s'));
    assert.deepEqual(traced.scenario?.thresholds[0]?.filters, { speedup: 4 });
    const { problems } = await load(dir, 'load: {trace: {file: trace.jsonl, speedup: [1, 4]}}\n' + thresholds('ttft.p95{rate=7.59} < 1s;ttft.p95{speedup=2} < 1s'));
    assert.deepEqual(problems, [
      "FILE: thresholds[0]: ttft.p95{rate=7.59} < 1s: rate 7.59 is not one of the trace's mean rates (1, 4 req/s); select a trace's cell by its speed-up: {speedup=1}",
      'FILE: thresholds[1]: ttft.p95{speedup=2} < 1s: speedup 2 is not one of load.trace.speedup (1, 4)',
    ]);
    const ramp = await load(dir, 'load: {rate: {from: 2, to: 20, over: 10s}}\nprompts: [hi]\n' + thresholds('ttft.p95{rate=20} < 1s;ttft.p95{speedup=1} < 1s;ttft.p95{rate=2} < 1s'));
    assert.deepEqual(ramp.problems, [
      "FILE: thresholds[0]: ttft.p95{rate=20} < 1s: rate 20 is not the ramp's starting rate (load.rate.from: 2)",
      'FILE: thresholds[1]: ttft.p95{speedup=1} < 1s: speedup selects a replayed trace\'s cell, and the load has no load.trace',
    ]);
  }));
