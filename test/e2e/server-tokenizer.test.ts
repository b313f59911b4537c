/**
 * `tokenizer: server` end to end: `tokenmeter run` against the simulator,
 * whose tokens (two words each) no public tokenizer knows, so only its own
 * tokenize endpoint can count them chunk by chunk. And what happens when that
 * endpoint is missing, fails or answers garbage.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { main } from '../../src/cli/main.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/server.ts';
import type { TokenizeMode } from '../../src/sim/tokenize.ts';
import type { SimModelProfile } from '../../src/types.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

const PROFILE: SimModelProfile = {
  ttftMs: 2,
  tokensPerSecond: 2000,
  tokensPerChunk: [1, 4],
  outputTokens: [10, 30],
  capacity: 8,
  usageExtraTokens: 0,
  wordsPerToken: 2,
};

interface Line {
  id: string;
  warmup: boolean;
  outcome: string;
  output_tokens: number;
  tokens_per_chunk: number[];
  token_source: string;
  tokenizer: string;
  usage_mismatch: number | null;
}

async function withSimulator<T>(options: { tokenize?: TokenizeMode; apiKey?: string }, body: (sim: RunningSimulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ seed: 5, defaults: PROFILE, models: {} }, { keepTruth: true, ...options });
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}

async function run(sim: RunningSimulator, dir: string, target: string, models: string, load = '{concurrency: 4, requests: 8}') {
  const file = path.join(dir, 'scenario.yaml');
  await writeFile(file, `name: servertok\ntarget: {baseURL: "${sim.baseURL}", ${target}}\nmodels: ${models}\nload: ${load}\nprompts: [hi]\n`);
  const out = path.join(dir, 'out');
  const io = captureIo();
  const code = await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io);
  return { code, io, out, lines: await readRequests<Line>(out) };
}

describe('tokenizer: server against a server whose tokens no public tokenizer knows', () => {
  const cases: { name: string; target: string; models: string; mode?: TokenizeMode }[] = [
    { name: 'vLLM’s format (token_strs)', target: 'provider: vllm', models: '[{name: Meta-Llama-3.3-70B-Instruct, tokenizer: server}]' },
    { name: 'vLLM’s format without token_strs (each id detokenized)', target: 'provider: vllm', models: '[{name: Meta-Llama-3.3-70B-Instruct, tokenizer: server}]', mode: 'noTokenStrs' },
    { name: 'llama.cpp’s format (pieces)', target: 'provider: llamacpp', models: '[{name: Meta-Llama-3.3-70B-Instruct, tokenizer: server}]' },
    { name: 'the vllm provider’s default for a model name no local tokenizer matches', target: 'provider: vllm', models: '[acme/mystery-7b]' },
    { name: 'the llamacpp provider’s default, with the API key sent as the chat requests send it', target: 'provider: llamacpp, apiKey: sekrit-key', models: '[mystery.gguf]' },
  ];
  for (const c of cases) {
    test(`${c.name}: per-chunk counts equal the simulator’s truth`, () =>
      withSimulator({ ...(c.mode ? { tokenize: c.mode } : {}), ...(c.target.includes('apiKey') ? { apiKey: 'sekrit-key' } : {}) }, (sim) =>
        withTempDir(async (dir) => {
          const { code, io, lines } = await run(sim, dir, c.target, c.models);
          assert.equal(code, 0, io.err());
          assert.doesNotMatch(io.err(), /warning/);
          const truthById = new Map(sim.truth.map((t) => [t.requestId!, t]));
          assert.equal(lines.length, 8 + 4);
          for (const line of lines) {
            const truth = truthById.get(line.id)!;
            assert.equal(line.outcome, 'ok');
            assert.equal(line.token_source, 'tokenizer', line.id);
            assert.equal(line.tokenizer, 'server');
            assert.deepEqual(line.tokens_per_chunk, truth.chunks.map((chunk) => chunk.tokens), line.id);
            assert.equal(line.output_tokens, truth.completionTokens);
            assert.equal(line.usage_mismatch, null, 'the server’s tokens agree with its usage');
          }
          assert.ok(sim.tokenizeArrivals.length > 0);
        }),
      ));
  }

  test('the tokenize calls happen after each cell’s last stream ended, and before the next cell’s first request', () =>
    withSimulator({}, (sim) =>
      withTempDir(async (dir) => {
        const { code, io } = await run(sim, dir, 'provider: vllm', '[{name: m, tokenizer: server}]', '{concurrency: [2, 4], requests: 8}');
        assert.equal(code, 0, io.err());
        const cells = ['c1', 'c2'].map((cell) => sim.truth.filter((t) => t.requestId!.startsWith(`${cell}-`)));
        const lastEnd = (cell: typeof sim.truth) => Math.max(...cell.map((t) => t.finalEventsAt[0]!));
        const firstReceived = (cell: typeof sim.truth) => Math.min(...cell.map((t) => t.receivedAt));
        const inCell1 = sim.tokenizeArrivals.filter((at) => at < firstReceived(cells[1]!));
        const inCell2 = sim.tokenizeArrivals.filter((at) => at >= firstReceived(cells[1]!));
        assert.ok(inCell1.length > 0 && inCell2.length > 0, 'each cell asked the tokenizer');
        for (const at of inCell1) assert.ok(at > lastEnd(cells[0]!), 'cell 1: a tokenize call while a stream was in flight');
        for (const at of inCell2) assert.ok(at > lastEnd(cells[1]!), 'cell 2: a tokenize call while a stream was in flight');
      }),
    ));
});

describe('a tokenize endpoint that cannot be used: one warning, the next source, and the records say which', () => {
  for (const mode of ['missing', 'error', 'garbage'] as const) {
    test(`${mode}: the fallback tokenizer, reconciled with usage, over two cells`, () =>
      withSimulator({ tokenize: mode }, (sim) =>
        withTempDir(async (dir) => {
          const { code, io, out, lines } = await run(sim, dir, 'provider: vllm', '[{name: m, tokenizer: server}]', '{concurrency: [2, 4], requests: 8}');
          assert.equal(code, 0, io.err());
          const warnings = io.err().match(/tokenize endpoint failed/g) ?? [];
          assert.equal(warnings.length, 1, io.err());
          assert.match(io.err(), /m: the server's tokenize endpoint failed \(POST http:\/\/127\.0\.0\.1:\d+\/tokenize answered (HTTP (404|500)|a body that is not JSON)/);
          assert.match(io.err(), /counting with the fallback o200k tokenizer instead/);
          const truthById = new Map(sim.truth.map((t) => [t.requestId!, t]));
          assert.equal(lines.length, 8 + 2 + 8 + 4, 'measured and warm-up requests of both cells');
          for (const line of lines) {
            assert.equal(line.outcome, 'ok');
            // o200k sees two tokens per server token: the server's usage total wins, and the record says so.
            assert.equal(line.token_source, 'fallback+usage', line.id);
            assert.equal(line.tokenizer, 'o200k');
            assert.equal(line.output_tokens, truthById.get(line.id)!.completionTokens);
            assert.equal(line.usage_mismatch, -truthById.get(line.id)!.completionTokens);
          }
          // Once failed, the endpoint is not asked again: no call after the first cell.
          const secondCell = Math.min(...sim.truth.filter((t) => t.requestId!.startsWith('c2-')).map((t) => t.receivedAt));
          assert.deepEqual(sim.tokenizeArrivals.filter((at) => at > secondCell), []);
          const rows = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
          assert.deepEqual(rows.map((row) => row.token_sources), ['fallback+usage=8', 'fallback+usage=8']);
          const runJson = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
          assert.equal(runJson.warnings.filter((w: string) => w.includes('tokenize endpoint failed')).length, 1);
        }),
      ));
  }
});
