/**
 * End to end: the simulator in-process on port 0, `tokenmeter run` against it,
 * and the files checked against the simulator's ground truth.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { main } from '../../src/cli/main.ts';
import { decodeHistogram } from '../../src/metrics/histograms.ts';
import { DEFAULT_SIM_PROFILE } from '../../src/sim/profile.ts';
import { startSimulator, type SimRequestTruth } from '../../src/sim/server.ts';
import { startSimulatorThread } from '../../src/sim/threaded.ts';
import type { SimConfig } from '../../src/types.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const GPT_OSS = 'gpt-oss-120b';

interface Line {
  id: string;
  model: string;
  concurrency: number;
  warmup: boolean;
  outcome: string;
  ttft_ms: number;
  tpot_ms: number | null;
  output_tokens: number;
  tokens_per_chunk: number[];
  chunk_times_ms: number[];
  token_source: string;
  usage_mismatch: number | null;
  connect_ms: number | null;
}

async function runAgainst(simulator: { baseURL: string }, dir: string, scenarioBody: string, api = 'chat') {
  const file = path.join(dir, 'scenario.yaml');
  await writeFile(file, `name: e2e\ntarget: {baseURL: "${simulator.baseURL}", api: ${api}}\n${scenarioBody}`);
  const out = path.join(dir, 'out');
  const io = captureIo();
  const code = await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io);
  const lines = await readRequests<Line>(out);
  return { code, io, out, lines };
}

/** requests.jsonl rounds times to 0.001 ms: an ordering between a rounded and an exact time may be off by half of that. */
const ROUNDING_MS = 0.0005;

/**
 * Every token chunk reached the client no earlier, after the request was sent, than the simulator wrote it
 * after the request arrived: `t_i - t0 >= write_i - receivedAt`. Each side is a difference on one thread's
 * performance.now(), so the clocks' origins (and the threaded simulator's offset between them) cancel; both
 * threads read the same monotonic clock, and t0 < receivedAt <= write_i < t_i in real time. An ordering,
 * not a duration: however late the machine runs either side, it holds.
 */
function assertChunksAfterWrites(line: Line, truth: SimRequestTruth): void {
  assert.equal(line.chunk_times_ms.length, truth.chunks.length, `one time per chunk of ${line.id}`);
  line.chunk_times_ms.forEach((ms, i) => {
    const written = truth.chunks[i]!.at - truth.receivedAt;
    assert.ok(ms >= written - ROUNDING_MS, `${line.id} chunk ${i}: arrived ${ms} ms after t0, written ${written} ms after the request arrived`);
  });
}

/**
 * TPOT as METRICS.md defines it, from a request's own chunk times and token counts: per choice
 * `(t_l - t_f) / (N - k_f)`, and for the request the choices' decode times and tokens summed.
 */
function tpotFromChunks(line: Line & { chunk_choices?: number[] }): { request: number | null; perChoice: Map<number, number | null> } {
  const byChoice = new Map<number, { at: number; tokens: number }[]>();
  line.chunk_times_ms.forEach((at, i) => {
    const choice = line.chunk_choices?.[i] ?? 0;
    byChoice.set(choice, [...(byChoice.get(choice) ?? []), { at, tokens: line.tokens_per_chunk[i]! }]);
  });
  let decodeMs = 0;
  let decodeTokens = 0;
  const perChoice = new Map<number, number | null>();
  for (const [choice, chunks] of byChoice) {
    const tokens = chunks.slice(1).reduce((n, c) => n + c.tokens, 0);
    decodeMs += chunks.at(-1)!.at - chunks[0]!.at;
    decodeTokens += tokens;
    perChoice.set(choice, tokens > 0 ? (chunks.at(-1)!.at - chunks[0]!.at) / tokens : null);
  }
  return { request: decodeTokens > 0 ? decodeMs / decodeTokens : null, perChoice };
}

/** Equal up to the rounding of requests.jsonl (inputs and result to 0.001 ms). */
const assertTpotClose = (actual: number | null, expected: number | null, what: string): void => {
  if (expected === null) return assert.equal(actual, null, what);
  assert.ok(actual !== null && Math.abs(actual - expected) <= 0.002, `${what}: ${actual} vs ${expected} from the chunk times`);
};

describe('end to end against the simulator', () => {
  // How close the client's times come to the simulator's (TTFT, chunk drift, TPOT) depends on how busy the
  // machine is: `npm run bench` measures it ("Timing accuracy against the simulator's truth"). The tests
  // hold what is true however busy it is: counts, token attribution, and orderings between the two sides.
  test('at concurrency 64: per-chunk tokens equal the truth, no chunk arrives before it was written, every request once', () =>
    withTempDir(async (dir) => {
      const config: SimConfig = {
        seed: 3,
        defaults: DEFAULT_SIM_PROFILE,
        models: {
          // Moderate pacing: the simulator shares this process's event loop, so an overloaded loop would show as client latency.
          [LLAMA]: { ttftMs: 100, tokensPerSecond: 200, tokensPerChunk: [1, 5], outputTokens: [120, 200], capacity: 64, usageExtraTokens: 0 },
          [GPT_OSS]: { ttftMs: 50, tokensPerSecond: 250, tokensPerChunk: 3, outputTokens: 60, capacity: 64, usageExtraTokens: 0 },
        },
      };
      // On its own thread, as `baseURL: builtin` runs it: the client's loop is the client's alone.
      const simulator = await startSimulatorThread(config, { keepTruth: true });
      try {
        const { code, io, out, lines } = await runAgainst(
          simulator,
          dir,
          `models: [${LLAMA}, ${GPT_OSS}]\nload: {concurrency: 64, requests: 128}\nprompts: ["Tell me a story", "Why is the sky blue?"]\nparams: {max_tokens: 300}\n`,
        );
        assert.equal(code, 0, io.err());

        // The preflight request is the server's to see, not the run's to record.
        const truth = (await simulator.truth()).filter((t) => !t.requestId?.startsWith('preflight-'));
        // Every request the simulator saw is in requests.jsonl exactly once, and nothing else is.
        const ids = lines.map((line) => line.id);
        assert.equal(new Set(ids).size, ids.length, 'no duplicates');
        assert.deepEqual(new Set(ids), new Set(truth.map((t) => t.requestId)));
        assert.equal(lines.length, 2 * (64 + 128), 'warm-up (one per slot) plus measured, per model');
        assert.equal(lines.filter((l) => !l.warmup).length, 256);

        const truthById = new Map<string, SimRequestTruth>(truth.map((t) => [t.requestId!, t]));
        for (const line of lines) {
          const truth = truthById.get(line.id)!;
          assert.equal(line.outcome, 'ok');
          assert.equal(truth.model, line.model);
          assert.deepEqual(line.tokens_per_chunk, truth.chunks.map((c) => c.tokens), `chunk tokens of ${line.id}`);
          assert.equal(line.output_tokens, truth.completionTokens);
          assert.equal(line.token_source, 'tokenizer');
          assertChunksAfterWrites(line, truth);
          assertTpotClose(line.tpot_ms, tpotFromChunks(line).request, `TPOT of ${line.id}`);
        }
        assert.ok(
          lines.some((l) => l.tokens_per_chunk.some((k) => k > 1)),
          'the multi-token effect is there to be counted',
        );

        const measured = lines.filter((l) => !l.warmup && l.model === LLAMA);
        // Warm-up opened the connections; measured requests reuse them.
        assert.ok(measured.every((l) => l.connect_ms === null), 'measured requests run on warm connections');

        // summary.csv: one row per cell with the counts and columns the issue names.
        const rows = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
        assert.deepEqual(
          rows.map((r) => [r.model, r.concurrency, r.requests, r.ok, r.errors]),
          [
            [LLAMA, '64', '128', '128', '0'],
            [GPT_OSS, '64', '128', '128', '0'],
          ],
        );
        const gpt = rows[1]!;
        // gpt-oss: 60 tokens in chunks of 3.
        assert.equal(gpt.tokens_per_chunk_mean, '3');
        // The server's own timings (SambaNova-style usage) beside the client's, and their difference. The
        // simulator writes no first token before ttftMs (50, less its 0.5 ms timer slack) after admitting a
        // request; a late timer only adds to it.
        assert.ok(Number(gpt.server_ttft_p50_ms) >= 49, `server TTFT p50 ${gpt.server_ttft_p50_ms}`);
        // The client's TTFT and E2E contain the server's, request by request (each a difference on its own
        // thread's clock): never below them, but for histogram rounding.
        assert.ok(Number(gpt.ttft_minus_server_p50_ms) > -1, `client - server TTFT ${gpt.ttft_minus_server_p50_ms}`);
        assert.ok(Number(gpt.e2e_minus_server_p50_ms) > -1, `client - server E2E ${gpt.e2e_minus_server_p50_ms}`);
        for (const column of ['output_tokens_per_s', 'requests_per_s', 'ttft_p50_ms', 'ttft_p99_ms', 'itl_p95_ms', 'e2e_max_ms']) {
          assert.ok(Number(gpt[column]) > 0, `${column} = ${gpt[column]}`);
        }

        // histograms.json decodes to the same counts; histograms.csv has every metric.
        const histograms = JSON.parse(await readFile(path.join(out, 'histograms.json'), 'utf8'));
        const ttft = decodeHistogram(histograms.cells[0].histograms.ttft.encoded);
        assert.equal(ttft.totalCount, 128);
        const itlCount = decodeHistogram(histograms.cells[1].histograms.itl.encoded).totalCount;
        assert.equal(itlCount, 128 * 57, 'one ITL sample per token after the first chunk');
        const csv = parseCsv(await readFile(path.join(out, 'histograms.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
        assert.deepEqual(Object.keys(csv[0]!), ['model', 'concurrency', 'rate_rps', 'metric', 'unit', 'value', 'percentile', 'total_count', 'inverse_percentile', 'repeat']);
        assert.ok(new Set(csv.map((r) => r.metric)).has('tokens_per_chunk'));

        const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
        assert.equal(run.completed, true);
        assert.match(io.out(), /TTFT ms/);
      } finally {
        await simulator.close();
      }
    }));

  test('a server whose usage counts a stop token: the server total wins, the mismatch is reported', () =>
    withTempDir(async (dir) => {
      const profile = { ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: 2, outputTokens: 10, capacity: 8, usageExtraTokens: 1 };
      const simulator = await startSimulator({ seed: 1, defaults: profile, models: {} }, { keepTruth: true });
      try {
        const { code, out, lines } = await runAgainst(simulator, dir, `models: [${LLAMA}]\nload: {concurrency: 2, requests: 4}\nprompts: [hi]\n`);
        assert.equal(code, 0);
        for (const line of lines) {
          assert.equal(line.output_tokens, 11);
          assert.deepEqual(line.tokens_per_chunk, [2, 2, 2, 2, 3], 'the difference goes to the last chunk');
          assert.equal(line.token_source, 'tokenizer+usage');
          assert.equal(line.usage_mismatch, 1);
        }
        const [row] = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
        assert.equal(row!.usage_mismatch_rate, '1');
        assert.equal(row!.token_sources, 'tokenizer+usage=4');
      } finally {
        await simulator.close();
      }
    }));

  describe('a server whose tokens are no public tokenizer’s (two words each)', () => {
    const profile = { ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: [1, 4] as [number, number], outputTokens: [10, 30] as [number, number], capacity: 8, usageExtraTokens: 0, wordsPerToken: 2 };
    const cases: { name: string; params: string; source: string; exactChunks: boolean; api?: string }[] = [
      { name: 'logprobs count it exactly, chunk by chunk', params: '{logprobs: true}', source: 'logprobs', exactChunks: true },
      { name: 'legacy completions logprobs (logprobs: 1) count it exactly too', params: '{logprobs: 1}', source: 'logprobs', exactChunks: true, api: 'completions' },
      {
        name: 'continuous usage counts it exactly, chunk by chunk',
        params: '{stream_options: {continuous_usage_stats: true}}',
        source: 'continuous_usage',
        exactChunks: true,
      },
      { name: 'the tokenizer path reports the mismatch and uses the server’s total', params: '{}', source: 'tokenizer+usage', exactChunks: false },
    ];
    for (const c of cases) {
      test(c.name, () =>
        withTempDir(async (dir) => {
          const simulator = await startSimulator({ seed: 9, defaults: profile, models: {} }, { keepTruth: true });
          try {
            const { code, out, lines } = await runAgainst(simulator, dir, `models: [${LLAMA}]\nload: {concurrency: 4, requests: 8}\nprompts: [hi]\nparams: ${c.params}\n`, c.api);
            assert.equal(code, 0);
            const truthById = new Map(simulator.truth.map((t) => [t.requestId!, t]));
            for (const line of lines) {
              const truth = truthById.get(line.id)!;
              assert.equal(line.token_source, c.source, line.id);
              assert.equal(line.output_tokens, truth.completionTokens, 'N is the server’s count');
              if (c.exactChunks) assert.deepEqual(line.tokens_per_chunk, truth.chunks.map((k) => k.tokens));
              else assert.equal(line.usage_mismatch, -truth.completionTokens, 'the tokenizer saw twice the tokens');
            }
            const [row] = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
            assert.equal(row!.usage_mismatch_rate, c.exactChunks ? '0' : '1');
          } finally {
            await simulator.close();
          }
        }),
      );
    }
  });

  for (const api of ['chat', 'completions', 'responses', 'messages']) {
    test(`api ${api}: per-chunk tokens equal the simulator's truth, no chunk arrives before it was written, TPOT from the chunk times`, () =>
      withTempDir(async (dir) => {
        const profile = { ttftMs: 30, tokensPerSecond: 500, tokensPerChunk: [1, 4] as [number, number], outputTokens: [30, 50] as [number, number], capacity: 8, usageExtraTokens: 0 };
        const simulator = await startSimulator({ seed: 8, defaults: profile, models: {} }, { keepTruth: true });
        try {
          const { code, io, lines } = await runAgainst(simulator, dir, `models: [${GPT_OSS}]\nload: {concurrency: 4, requests: 8}\nprompts: [hi]\n`, api);
          assert.equal(code, 0, io.err());
          const truthById = new Map(simulator.truth.map((t) => [t.requestId!, t]));
          for (const line of lines) {
            const truth = truthById.get(line.id)!;
            assert.equal(line.outcome, 'ok');
            assert.deepEqual(line.tokens_per_chunk, truth.chunks.map((c) => c.tokens));
            assert.equal(line.output_tokens, truth.completionTokens);
            assert.equal(line.token_source, 'tokenizer');
            const simTtft = truth.chunks[0]!.at - truth.receivedAt;
            assert.ok(line.ttft_ms >= simTtft - ROUNDING_MS, `TTFT ${line.ttft_ms} vs the simulator's ${simTtft}`);
            assertChunksAfterWrites(line, truth);
            assertTpotClose(line.tpot_ms, tpotFromChunks(line).request, `TPOT of ${line.id}`);
          }
        } finally {
          await simulator.close();
        }
      }),
    );
  }

  test('n = 3: three token streams, each counted and timed on its own', () =>
    withTempDir(async (dir) => {
      const profile = { ttftMs: 10, tokensPerSecond: 500, tokensPerChunk: [1, 3] as [number, number], outputTokens: [20, 40] as [number, number], capacity: 8, usageExtraTokens: 0 };
      const simulator = await startSimulator({ seed: 6, defaults: profile, models: {} }, { keepTruth: true });
      try {
        const { code, lines } = await runAgainst(simulator, dir, `models: [${LLAMA}]\nload: {concurrency: 2, requests: 4}\nprompts: [hi]\nparams: {n: 3}\n`);
        assert.equal(code, 0);
        const truthById = new Map(simulator.truth.map((t) => [t.requestId!, t]));
        for (const line of lines as (Line & { chunk_choices: number[]; choices: { choice: number; output_tokens: number; tpot_ms: number | null }[] })[]) {
          const truth = truthById.get(line.id)!;
          assert.deepEqual(line.tokens_per_chunk, truth.chunks.map((c) => c.tokens));
          assert.deepEqual(line.chunk_choices, truth.chunks.map((c) => c.choice));
          assert.equal(line.output_tokens, truth.completionTokens, 'N sums the choices');
          assert.deepEqual(
            line.choices.map((c) => c.output_tokens),
            [0, 1, 2].map((choice) => truth.chunks.filter((c) => c.choice === choice).reduce((n, c) => n + c.tokens, 0)),
          );
          assertChunksAfterWrites(line, truth);
          // Each choice's TPOT from its own chunks only; the request's from the choices' decode times and tokens summed.
          const expected = tpotFromChunks(line);
          assert.deepEqual(line.choices.map((c) => c.choice), [0, 1, 2]);
          for (const c of line.choices) assertTpotClose(c.tpot_ms, expected.perChoice.get(c.choice)!, `${line.id} choice ${c.choice} TPOT`);
          assertTpotClose(line.tpot_ms, expected.request, `${line.id} TPOT`);
        }
      } finally {
        await simulator.close();
      }
    }));

  test('stream: false reports E2E and tokens/s, and no TTFT or TPOT (not applicable, never zero)', () =>
    withTempDir(async (dir) => {
      const profile = { ttftMs: 10, tokensPerSecond: 1000, tokensPerChunk: 2, outputTokens: [20, 30] as [number, number], capacity: 8, usageExtraTokens: 0 };
      const simulator = await startSimulator({ seed: 2, defaults: profile, models: {} }, { keepTruth: true });
      try {
        const { code, out, lines } = await runAgainst(simulator, dir, `models: [${LLAMA}]\nload: {concurrency: 2, requests: 4}\nprompts: [hi]\nparams: {stream: false}\n`);
        assert.equal(code, 0);
        const truthById = new Map(simulator.truth.map((t) => [t.requestId!, t]));
        for (const line of lines as (Line & { e2e_ms: number; output_tokens_per_s: number })[]) {
          assert.equal(simulator.truth.find((t) => t.requestId === line.id)!.stream, false);
          assert.equal(line.outcome, 'ok');
          assert.equal(line.ttft_ms, null);
          assert.equal(line.tpot_ms, null);
          assert.equal(line.output_tokens, truthById.get(line.id)!.completionTokens);
          assert.equal(line.token_source, 'usage');
          assert.ok(line.e2e_ms > 10 && line.output_tokens_per_s > 0);
        }
        const [row] = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
        assert.equal(row!.ttft_p50_ms, '');
        assert.equal(row!.tpot_p50_ms, '');
        assert.ok(Number(row!.e2e_p50_ms) > 10);
        assert.ok(Number(row!.output_tokens_per_s) > 0);
      } finally {
        await simulator.close();
      }
    }));

  test('a reasoning stream: TTFT < TTFO, reasoning tokens counted apart', () =>
    withTempDir(async (dir) => {
      const profile = { ttftMs: 10, tokensPerSecond: 1000, tokensPerChunk: [1, 3] as [number, number], outputTokens: 40, capacity: 8, usageExtraTokens: 0, reasoningTokens: [10, 20] as [number, number] };
      const simulator = await startSimulator({ seed: 4, defaults: profile, models: {} }, { keepTruth: true });
      try {
        const { code, out, lines } = await runAgainst(simulator, dir, `models: [${GPT_OSS}]\nload: {concurrency: 2, requests: 6}\nprompts: [hi]\n`);
        assert.equal(code, 0);
        const truthById = new Map(simulator.truth.map((t) => [t.requestId!, t]));
        for (const line of lines as (Line & { ttfo_ms: number; reasoning_tokens: number })[]) {
          const truth = truthById.get(line.id)!;
          const reasoning = truth.chunks.filter((c) => c.reasoning).reduce((n, c) => n + c.tokens, 0);
          assert.ok(reasoning >= 10 && reasoning <= 20);
          assert.equal(line.reasoning_tokens, reasoning);
          assert.deepEqual(line.tokens_per_chunk, truth.chunks.map((c) => c.tokens));
          // Reasoning comes first; on a busy machine its last chunk may share a read with the first answer chunk.
          assert.ok(line.ttft_ms <= line.ttfo_ms, `${line.ttft_ms} <= ${line.ttfo_ms}`);
        }
        const [row] = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
        // At least, not more: a late timer can put the last reasoning chunk in the same read as the first answer chunk.
        assert.ok(Number(row!.ttfo_p50_ms) >= Number(row!.ttft_p50_ms));
        assert.ok(Number(row!.reasoning_tokens_mean) >= 10);
      } finally {
        await simulator.close();
      }
    }));

  test('failed requests are recorded and counted by class; the run goes on', () =>
    withTempDir(async (dir) => {
      const simulator = await startSimulator(
        { seed: 1, defaults: { ...DEFAULT_SIM_PROFILE, ttftMs: 1, tokensPerSecond: 5000, outputTokens: 8 }, models: {} },
        { apiKey: 'right-key', keepTruth: true },
      );
      try {
        const file = path.join(dir, 's.yaml');
        await writeFile(
          file,
          `name: wrongkey\ntarget: {baseURL: "${simulator.baseURL}", apiKey: "\${TM_KEY}"}\nmodels: [m]\nload: {concurrency: 2, requests: 3}\nprompts: [hi]\n`,
        );
        const io = captureIo({ TM_KEY: 'wrong-key-123456' });
        const out = path.join(dir, 'out');
        // Past the preflight, which would stop this run at its first 401 (test/cli/preflight.test.ts): here every failure is recorded.
        const code = await main(['run', file, '--out', out, '--no-preflight'], io);
        assert.equal(code, 1, 'no request succeeded');
        const text = await readFile(path.join(out, 'requests.jsonl'), 'utf8');
        const lines = text.trim().split('\n').map((l) => JSON.parse(l));
        assert.equal(lines.length, 5);
        assert.ok(lines.every((l) => l.outcome === 'error' && l.error.class === 'auth' && l.status === 401));
        const [row] = parseCsv(await readFile(path.join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
        assert.equal(row!.errors, '3');
        assert.equal(row!.errors_by_class, 'auth=3');
        assert.match(io.out(), /errors in m @ c=2: auth 3/);
        assert.match(io.err(), /no tokenizer known for model "m"/);
        // The key is nowhere in the output.
        for (const name of ['requests.jsonl', 'run.json', 'summary.csv']) {
          assert.ok(!(await readFile(path.join(out, name), 'utf8')).includes('wrong-key-123456'), name);
        }
        assert.ok(!io.out().includes('wrong-key-123456') && !io.err().includes('wrong-key-123456'));
      } finally {
        await simulator.close();
      }
    }));
});
