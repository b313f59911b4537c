/**
 * Real servers' token-count behaviours (issue 11), each a simulator quirk:
 * per-chunk counts equal the simulator's truth, or the request says why it
 * is not exact; never silently wrong.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatClient } from '../../src/client/chat-client.ts';
import { toRequestRecord } from '../../src/metrics/request-record.ts';
import { loadTokenizer } from '../../src/metrics/tokenizers.ts';
import { startSimulator, type SimRequestTruth } from '../../src/sim/server.ts';
import type { Exchange, RequestRecord, SimModelProfile } from '../../src/types.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';
const PROFILE: SimModelProfile = { ttftMs: 1, tokensPerSecond: 5000, tokensPerChunk: 1, outputTokens: [20, 40], capacity: 16, usageExtraTokens: 0 };
const tokenizer = await loadTokenizer('llama3');

/** Sends `count` requests to a simulator with `profile`; each record beside the simulator's truth for it. */
async function served(profile: Partial<SimModelProfile>, params: Record<string, unknown>, count = 6): Promise<{ exchange: Exchange; record: RequestRecord; truth: SimRequestTruth }[]> {
  const sim = await startSimulator({ seed: 7, defaults: { ...PROFILE, ...profile }, models: {} }, { keepTruth: true });
  const client = new ChatClient({ baseURL: sim.baseURL });
  try {
    const results = [];
    for (let i = 0; i < count; i++) {
      const exchange = await client.send({ id: `q-${i}`, model: LLAMA, messages: [{ role: 'user', content: 'hi' }], params, timeoutMs: 30_000, idleTimeoutMs: 30_000 });
      assert.equal(exchange.error, undefined, JSON.stringify(exchange.error));
      const record = toRequestRecord(exchange, { model: LLAMA, load: { kind: 'concurrency', value: 1 }, warmup: false, prompt: 0, messages: [], tokenizer, fallback: false });
      results.push({ exchange, record, truth: sim.truth.find((t) => t.requestId === `q-${i}`)! });
    }
    return results;
  } finally {
    client.close();
    await sim.close();
  }
}

const truthCounts = (truth: SimRequestTruth): number[] => truth.chunks.map((chunk) => chunk.tokens);

describe('server quirks of token counting', () => {
  test('hold-back-flush with one logprob per event (llama.cpp, logprobs: true): logprobs rejected with the reason, the tokenizer counts every chunk exactly', async () => {
    const results = await served({ quirks: ['hold-back-flush', 'one-logprob-per-event'] }, { logprobs: true });
    assert.ok(results.some(({ truth }) => truth.chunks.some((chunk) => chunk.tokens > 1)), 'some events flushed held-back tokens');
    for (const { record, truth } of results) {
      assert.deepEqual(record.metrics.tokensPerChunk, truthCounts(truth));
      if (truth.chunks.some((chunk) => chunk.tokens > 1)) {
        assert.equal(record.tokenSource, 'tokenizer');
        assert.match(record.tokenSourceReason ?? '', /^logprobs: \d+ entries for the \d+ tokens of the final usage$/);
      }
    }
  });

  test('without the quirks the same logprobs are exact and used', async () => {
    for (const { record, truth } of await served({ tokensPerChunk: [1, 4] }, { logprobs: true })) {
      assert.equal(record.tokenSource, 'logprobs');
      assert.deepEqual(record.metrics.tokensPerChunk, truthCounts(truth));
    }
  });

  test('a server whose tokens no public tokenizer knows, with one logprob per event: marked approximate, the total still the server’s', async () => {
    for (const { record, truth } of await served({ wordsPerToken: 2, tokensPerChunk: [1, 3], quirks: ['one-logprob-per-event'] }, { logprobs: true })) {
      const total = truth.chunks.reduce((sum, chunk) => sum + chunk.tokens, 0);
      assert.equal(record.metrics.outputTokens, total);
      const exact = record.metrics.tokensPerChunk.every((k, i) => k === truth.chunks[i]!.tokens);
      assert.ok(exact || record.approximate === true, `counts ${record.metrics.tokensPerChunk} vs truth ${truthCounts(truth)} and not marked`);
    }
  });

  test('usage per choice (llama.cpp with n: 2) is summed, never overwritten', async () => {
    for (const { record, truth, exchange } of await served({ quirks: ['usage-per-choice'] }, { n: 2 })) {
      const total = truth.chunks.reduce((sum, chunk) => sum + chunk.tokens, 0);
      assert.equal(exchange.usage?.completion_tokens, total);
      assert.equal(record.metrics.outputTokens, total);
      assert.equal(record.tokenSource, 'tokenizer');
    }
  });

  test('a token with no text mid-stream: the total is the server’s, the one token goes to the last chunk within the allowance', async () => {
    for (const { record, truth } of await served({ quirks: ['textless-token'] }, {})) {
      const counts = truthCounts(truth);
      assert.equal(record.tokenSource, 'tokenizer+usage');
      assert.equal(record.usageMismatch, 1);
      assert.equal(record.approximate, undefined);
      assert.equal(
        record.metrics.tokensPerChunk.reduce((s, k) => s + k, 0),
        counts.reduce((s, k) => s + k, 0),
      );
      // Exactly one chunk (the one with the textless token) has one fewer; the last has one more.
      const differences = record.metrics.tokensPerChunk.map((k, i) => k - counts[i]!);
      assert.equal(differences.filter((d) => d !== 0).length, 2, String(differences));
      assert.equal(differences.at(-1), 1);
    }
  });

  test('llama.cpp timings on the final chunk are kept in the record', async () => {
    for (const { record } of await served({ quirks: ['llamacpp-timings'] }, {}, 2)) {
      const timings = record.timings as { prompt_ms: number; predicted_ms: number; predicted_n: number };
      assert.ok(timings, 'timings kept');
      assert.equal(timings.predicted_n, record.metrics.outputTokens);
      // The usage block's own timings (SambaNova-style in the simulator) win where a server sends both.
      assert.equal(typeof record.serverTtftMs, 'number');
    }
  });
});
