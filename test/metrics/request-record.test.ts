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

  test('output characters count code points of every chunk: an accented letter and an emoji are one each', () => {
    assert.equal(toRequestRecord(exchange({ completion_tokens: 3 }), context).outputChars, ' the cat'.length + ' sat'.length);
    assert.equal(toRequestRecord(exchange(undefined, [' café', ' 🙂']), context).outputChars, 7);
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

/** Chunks of ' the cat', ' sat', ' down' (llama3: 2, 1, 1 tokens) with what the server said of each. */
const served = (extras: Partial<Exchange['chunks'][number]>[], usage?: Record<string, unknown>): Exchange => {
  const base = exchange(usage, [' the cat', ' sat', ' down']);
  base.chunks = base.chunks.map((chunk, i) => ({ ...chunk, ...extras[i] }));
  return base;
};

describe('server per-chunk counts are used only when they pass validation (METRICS.md)', () => {
  test('logprobs whose token texts spell each chunk: exact, from the server', () => {
    const record = toRequestRecord(
      served([{ logprobTokens: 2, logprobText: ' the cat' }, { logprobTokens: 1, logprobText: ' sat' }, { logprobTokens: 1, logprobText: ' down' }]),
      context,
    );
    assert.equal(record.tokenSource, 'logprobs');
    assert.deepEqual(record.metrics.tokensPerChunk, [2, 1, 1]);
    assert.equal(record.tokenSourceReason, undefined);
  });

  test('one logprob entry for an event that holds several tokens (llama.cpp): rejected with the reason, the tokenizer counts', () => {
    const record = toRequestRecord(
      served([{ logprobTokens: 1, logprobText: ' the cat' }, { logprobTokens: 1, logprobText: ' sat' }, { logprobTokens: 1, logprobText: ' down' }]),
      context,
    );
    // Within 2 tokens of the usage total a stop token could explain it: accepted, reconciled.
    assert.equal(record.tokenSource, 'logprobs');
    // Joined, the entries spell each chunk, but there are 3 for 8 tokens: the final usage gives them away.
    const flushed = exchange({ completion_tokens: 8 }, [' the cat sat on the mat', ' and', ' slept']);
    flushed.chunks = flushed.chunks.map((chunk) => ({ ...chunk, logprobTokens: 1, logprobText: chunk.text }));
    const counted = toRequestRecord(flushed, context);
    assert.equal(counted.tokenSource, 'tokenizer');
    assert.deepEqual(counted.metrics.tokensPerChunk, [6, 1, 1]);
    assert.equal(counted.tokenSourceReason, 'logprobs: 3 entries for the 8 tokens of the final usage');
    const mismatched = toRequestRecord(
      served([{ logprobTokens: 1, logprobText: ' the' }, { logprobTokens: 1, logprobText: ' sat' }, { logprobTokens: 1, logprobText: ' down' }]),
      context,
    );
    assert.equal(mismatched.tokenSource, 'tokenizer');
    assert.deepEqual(mismatched.metrics.tokensPerChunk, [2, 1, 1]);
    assert.equal(mismatched.tokenSourceReason, `logprobs: chunk 1's 1 entry spells " the", its text is " the cat"`);
  });

  test('logprobs on some chunks only, or without token texts: rejected, each with its reason', () => {
    const some = toRequestRecord(served([{ logprobTokens: 2, logprobText: ' the cat' }, {}, { logprobTokens: 1, logprobText: ' down' }]), context);
    assert.equal(some.tokenSource, 'tokenizer');
    assert.equal(some.tokenSourceReason, 'logprobs: 1 of 3 chunks had none');
    const textless = toRequestRecord(served([{ logprobTokens: 2 }, { logprobTokens: 1 }, { logprobTokens: 1 }]), context);
    assert.equal(textless.tokenSourceReason, "logprobs: chunk 1's entries carry no token text to check them by");
  });

  test('continuous usage that never falls and ends at the final usage: exact; otherwise rejected with the reason', () => {
    const good = toRequestRecord(served([{ cumulativeTokens: 2 }, { cumulativeTokens: 3 }, { cumulativeTokens: 4 }], { completion_tokens: 4 }), context);
    assert.equal(good.tokenSource, 'continuous_usage');
    assert.deepEqual(good.metrics.tokensPerChunk, [2, 1, 1]);
    const falling = toRequestRecord(served([{ cumulativeTokens: 3 }, { cumulativeTokens: 2 }, { cumulativeTokens: 4 }], { completion_tokens: 4 }), context);
    assert.equal(falling.tokenSource, 'tokenizer');
    assert.equal(falling.tokenSourceReason, 'continuous usage: fell from 3 to 2 at chunk 2');
    const short = toRequestRecord(served([{ cumulativeTokens: 1 }, { cumulativeTokens: 2 }, { cumulativeTokens: 3 }], { completion_tokens: 4 }), context);
    assert.equal(short.tokenSourceReason, 'continuous usage: its last value 3 is not the final usage 4');
    assert.deepEqual(short.metrics.tokensPerChunk, [2, 1, 1]);
  });
});

describe('reconciliation with the server total (METRICS.md)', () => {
  test('a difference within 2 tokens per choice goes to the last chunk; the counts stay exact', () => {
    const record = toRequestRecord(served([{}, {}, {}], { completion_tokens: 6 }), context);
    assert.equal(record.tokenSource, 'tokenizer+usage');
    assert.deepEqual(record.metrics.tokensPerChunk, [2, 1, 3]);
    assert.equal(record.approximate, undefined);
  });

  test('a larger one scales every chunk to the server total (largest remainder) and marks the request approximate', () => {
    const record = toRequestRecord(served([{}, {}, {}], { completion_tokens: 10 }), context);
    // 4 tokens counted, 10 reported: 2, 1, 1 × 2.5 = 5, 2.5, 2.5 → 5, 3, 2 (the tie goes to the earlier chunk).
    assert.deepEqual(record.metrics.tokensPerChunk, [5, 3, 2]);
    assert.equal(record.approximate, true);
    assert.equal(record.usageMismatch, 6);
  });

  test('the fallback tokenizer is never exact', () => {
    const record = toRequestRecord(served([{}, {}, {}], { completion_tokens: 4 }), { ...context, fallback: true });
    assert.equal(record.tokenSource, 'fallback');
    assert.equal(record.approximate, true);
  });

  test('cached prompt tokens are kept wherever the API reports them', () => {
    const chat = toRequestRecord(served([{}, {}, {}], { completion_tokens: 4, prompt_tokens_details: { cached_tokens: 7 } }), context);
    assert.equal(chat.cachedPromptTokens, 7);
    const responses = toRequestRecord(served([{}, {}, {}], { completion_tokens: 4, input_tokens_details: { cached_tokens: 5 } }), context);
    assert.equal(responses.cachedPromptTokens, 5);
    const messages = toRequestRecord(served([{}, {}, {}], { completion_tokens: 4, cache_read_input_tokens: 46 }), context);
    assert.equal(messages.cachedPromptTokens, 46);
  });
});
