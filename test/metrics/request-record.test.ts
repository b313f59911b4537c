import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toRequestRecord, uncountedRecord } from '../../src/metrics/request-record.ts';
import { loadTokenizer } from '../../src/metrics/tokenizers.ts';
import type { Exchange } from '../../src/types.ts';

const tokenizer = await loadTokenizer('llama3');
const context = { model: 'm', load: { kind: 'concurrency' as const, value: 1 }, warmup: false, prompt: 0, messages: [{ role: 'user' as const, content: 'hi there' }], tokenizer, fallback: false };

const exchange = (usage: Record<string, unknown> | undefined, texts: string[] = [' the cat', ' sat']): Exchange => ({
  id: 'r',
  ts: 0,
  t0: 0,
  tb: 5,
  tEnd: 100,
  chunks: texts.map((text, i) => ({ at: 50 + i * 10, text, choice: 0 })),
  ...(usage ? { usage } : {}),
});

describe('request records', () => {
  test('usage that agrees: tokenizer counts, usage prompt tokens', () => {
    const record = toRequestRecord(exchange({ completion_tokens: 3, prompt_tokens: 12 }), context);
    assert.deepEqual(record.metrics.tokensPerChunk, [2, 1]);
    assert.equal(record.tokenSource, 'tokenizer');
    assert.equal(record.metrics.inputTokens, 12);
    assert.equal(record.outcome, 'ok');
  });

  test('without usage, input tokens are the tokenizer’s count of the prompt', () => {
    const record = toRequestRecord(exchange(undefined), context);
    assert.equal(record.metrics.inputTokens, tokenizer.encode('hi there').length);
  });

  for (const bad of [3.5, -4, '3', null]) {
    test(`a usage count that is not a non-negative integer (${JSON.stringify(bad)}) is ignored`, () => {
      const record = toRequestRecord(exchange({ completion_tokens: bad }), context);
      assert.deepEqual(record.metrics.tokensPerChunk, [2, 1]);
      assert.equal(record.tokenSource, 'tokenizer');
      assert.equal(record.usageMismatch, undefined);
    });
  }

  test('usage for a reply that streamed no text: N = U, but no TTFT or TPOT', () => {
    const record = toRequestRecord(exchange({ completion_tokens: 5 }, []), context);
    assert.equal(record.metrics.outputTokens, 5);
    assert.equal(record.metrics.ttftMs, undefined);
    assert.equal(record.metrics.tpotMs, undefined);
    assert.equal(record.metrics.outputTokensPerS, 50);
    assert.equal(record.usageMismatch, 5);
  });

  test('the server’s own timings found by the client are kept beside the client’s, never mixed in', () => {
    const record = toRequestRecord({ ...exchange({ completion_tokens: 3 }), serverTtftMs: 20, serverE2eMs: 90 }, context);
    assert.equal(record.serverTtftMs, 20);
    assert.equal(record.serverE2eMs, 90);
    assert.equal(record.metrics.ttftMs, 50);
    assert.equal(record.metrics.e2eMs, 100);
    const without = toRequestRecord(exchange({ completion_tokens: 3, time_to_first_token: 0.02 }), context);
    assert.equal(without.serverTtftMs, undefined, 'reading a usage block is the API adapter’s job, not the record’s');
  });

  test('a response that cannot be counted becomes an error record, timestamps kept', () => {
    const record = uncountedRecord(exchange({ completion_tokens: 3 }), context, new Error('tokenizer broke'));
    assert.equal(record.outcome, 'error');
    assert.equal(record.error?.class, 'bad_response');
    assert.match(record.error!.message, /tokenizer broke/);
    assert.equal(record.metrics.e2eMs, 100);
    assert.equal(record.metrics.ttfbMs, 5);
  });
});
