import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { captureIo, readRequests, runScenarioText, withTempDir } from '../helpers.ts';

/** Sub-second timestamps, both kinds of line. */
const TRACE = [
  '{"timestamp": 0, "input_tokens": 40, "output_tokens": 6}',
  '{"timestamp": 0.05, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 3}',
  '{"timestamp": 0.05, "input_tokens": 8, "output_tokens": 11}',
  '{"timestamp": 0.2, "input_tokens": 100, "output_tokens": 2}',
  '{"timestamp": 0.45, "input_tokens": 16, "output_tokens": 7}',
].join('\n');
const OFFSETS_MS = [0, 50, 50, 200, 450];

const scenario = `name: replay
target:
  baseURL: builtin
  simulator: {defaults: {ttftMs: 20, tokensPerSecond: 400, tokensPerChunk: [1, 3], outputTokens: 50, capacity: 32}}
models: [Meta-Llama-3.3-70B-Instruct]
load: {trace: {file: trace.jsonl, speedup: [1, 2]}, maxScheduleLag: 1s}
`;

test('a trace replayed on the built-in simulator: each record scheduled at its line’s time ÷ the speed-up, with its exact lengths, from one thread and from two', () =>
  withTempDir(async (dir) => {
    await writeFile(path.join(dir, 'trace.jsonl'), TRACE);
    for (const workers of ['1', '2']) {
      const { code, io, out } = await runScenarioText(dir, `replay-${workers}`, scenario, { args: ['--workers', workers] });
      assert.equal(code, 0, io.err());
      const lines = await readRequests(out);
      assert.equal(lines.length, 10);
      for (const [c, speedup] of [1, 2].entries()) {
        const cell = lines.filter((line) => line.trace_speedup === speedup).sort((a, b) => Number(a.id.split('-')[1]) - Number(b.id.split('-')[1]));
        assert.deepEqual(cell.map((line) => line.id), [0, 1, 2, 3, 4].map((n) => `c${c + 1}-${n}`));
        assert.deepEqual(cell.map((line) => line.prompt), [0, 1, 2, 3, 4]);
        // scheduled_at_unix_ms is kept to the µs: the offsets from line 0's are the trace's.
        cell.forEach((line, n) => {
          const offset = line.scheduled_at_unix_ms - cell[0]!.scheduled_at_unix_ms;
          assert.ok(Math.abs(offset - OFFSETS_MS[n]! / speedup) <= 0.002, `${workers} worker(s), ×${speedup}, line ${n + 1} scheduled at +${offset} ms`);
        });
        assert.ok(cell.every((line) => line.outcome === 'ok'));
        // Line 0 is the cell's one warm-up arrival, from either thread's share.
        assert.deepEqual(cell.map((line) => line.warmup), [true, false, false, false, false]);
        // Token lines: their exact output length (the simulator honours min_tokens); the messages line: at most its cap.
        assert.deepEqual(cell.map((line) => line.output_tokens), [6, 3, 11, 2, 7]);
      }
      const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
      assert.deepEqual(summary.cells.map((cell: { load: unknown }) => cell.load), [
        { kind: 'rate', value: 4 / 0.45, trace: { speedup: 1 } },
        { kind: 'rate', value: (4 / 0.45) * 2, trace: { speedup: 2 } },
      ]);
      const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
      assert.equal(run.scenario.load.trace.file, path.join(dir, 'trace.jsonl'));
      assert.match(run.scenario.load.trace.sha256, /^[0-9a-f]{64}$/);
      assert.match(io.out(), /trace ×2 \(17\.78 req\/s\)/);
    }
  }));

test('capacity and sweep refuse a trace and a ramp, and sweep multi-turn sessions, exit 2, before sending anything', () =>
  withTempDir(async (dir) => {
    await writeFile(path.join(dir, 'trace.jsonl'), TRACE);
    for (const command of ['capacity', 'sweep'] as const) {
      for (const [name, load, field] of [
        ['t', '{trace: trace.jsonl}', `load.trace: ${command} runs steady loads it picks itself, not a replayed trace`],
        ['r', '{rate: {from: 1, to: 4, over: 2s}}\nprompts: [hi]', `load.rate: ${command} runs steady loads it picks itself, not a rate ramp`],
      ] as const) {
        const text = `name: ${name}\ntarget: {baseURL: builtin}\nmodels: [Meta-Llama-3.3-70B-Instruct]\nslo: {ttft_p95_ms: 500}\nload: ${load}\n`;
        const { code, io } = await runScenarioText(dir, name, text, { command });
        assert.equal(code, 2, io.err());
        assert.match(io.err(), new RegExp(`${name}\\.yaml: ${field.replace(/[.()]/g, '\\$&')}; use a single rate or concurrency`));
      }
    }
    const sessions = `name: s\ntarget: {baseURL: builtin}\nmodels: [Meta-Llama-3.3-70B-Instruct]\nload: {concurrency: 2, requests: 4}\nprompts: {synthetic: {inputTokens: 8, turns: 2}}\n`;
    const { code, io } = await runScenarioText(dir, 's', sessions, { command: 'sweep' });
    assert.equal(code, 2, io.err());
    assert.match(io.err(), /s\.yaml: prompts\.turns: sweep's rates are open-loop cells/);
  }));

test('validate and run refuse a warm-up that covers the whole trace or ramp, exit 2 naming load.warmup, before sending anything', () =>
  withTempDir(async (dir) => {
    await writeFile(path.join(dir, 'trace.jsonl'), TRACE);
    const { main } = await import('../../src/cli/main.ts');
    for (const [name, load, message] of [
      ['t', '{trace: trace.jsonl, warmup: 5}', 'a warm-up of 5 requests covers every line of the trace (5)'],
      ['r', '{rate: {from: 1, to: 4, over: 2s}, warmup: 5}\nprompts: [hi]', "a warm-up of 5 requests covers the ramp's 5 expected arrivals"],
    ] as const) {
      const file = path.join(dir, `${name}.yaml`);
      await writeFile(file, `name: ${name}\ntarget: {baseURL: builtin}\nmodels: [Meta-Llama-3.3-70B-Instruct]\nload: ${load}\n`);
      for (const args of [['validate', file], ['run', file, '--out', path.join(dir, name)]]) {
        const io = captureIo({});
        assert.equal(await main(args, io), 2, io.err());
        assert.ok(io.err().includes(`${file}: load.warmup: ${message}, so the cell would measure nothing: lower it`), io.err());
      }
    }
  }));
