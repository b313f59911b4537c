import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reconcileWithUsage, tokensPerChunk } from '../../src/metrics/attribution.ts';
import { loadTokenizer, TOKENIZER_NAMES, tokenizerForModelName } from '../../src/metrics/tokenizers.ts';

describe('token attribution by tokenizer offsets', () => {
  for (const name of TOKENIZER_NAMES) {
    test(`${name}: token byte lengths cover the text exactly, multi-byte text included`, async () => {
      const tokenizer = await loadTokenizer(name);
      const text = 'Hello, naïve wörld! 🙂 日本語のテキスト and tokenization.';
      const lengths = tokenizer.tokenByteLengths(text);
      assert.equal(
        lengths.reduce((a, b) => a + b, 0),
        Buffer.byteLength(text),
      );
    });
  }

  test('a token split across two chunks counts once, in the chunk where it ends', async () => {
    const tokenizer = await loadTokenizer('o200k');
    const whole = tokenizer.encode(' The unbelievable story');
    assert.equal(whole.length, 3, 'premise: three tokens');
    // " unbel" + "ievable": the second piece completes the token " unbelievable".
    const chunks = [' The', ' unbel', 'ievable story'];
    const counts = tokensPerChunk(chunks, tokenizer);
    assert.deepEqual(counts, [1, 0, 2]);
    // Tokenizing each chunk alone would overcount.
    const naive = chunks.reduce((n, c) => n + tokenizer.encode(c).length, 0);
    assert.ok(naive > 3, `naive per-chunk count ${naive} should overcount`);
  });

  test('a multi-byte character whose bytes span two tokens goes to its chunk', async () => {
    const tokenizer = await loadTokenizer('llama3');
    const chunks = ['A', '🙂', '🙂 ok'];
    const counts = tokensPerChunk(chunks, tokenizer);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      tokenizer.encode(chunks.join('')).length,
    );
    assert.ok(counts[1]! >= 1 && counts[2]! >= 1, `counts ${counts}`);
  });

  test('chunks of whole tokens count exactly those tokens', async () => {
    const tokenizer = await loadTokenizer('llama3');
    assert.deepEqual(tokensPerChunk([' the cat', ' sat', ' on the', ' mat'], tokenizer), [2, 1, 2, 1]);
  });

  for (const name of TOKENIZER_NAMES) {
    test(`${name}: special-token text in the output is counted as text, never thrown on`, async () => {
      const tokenizer = await loadTokenizer(name);
      const counts = tokensPerChunk([' hello <|endoftext|>', ' <|begin_of_text|> world'], tokenizer);
      assert.ok(counts[0]! > 1 && counts[1]! > 1, `counts ${counts}`);
    });
  }

  test('no chunks, no tokens', async () => {
    assert.deepEqual(tokensPerChunk([], await loadTokenizer('cl100k')), []);
  });
});

describe('reconciliation with the server’s usage', () => {
  const cases: { name: string; counts: number[]; usage: number | undefined; expected: number[]; mismatch?: number }[] = [
    { name: 'agreement changes nothing', counts: [2, 3], usage: 5, expected: [2, 3] },
    { name: 'no usage changes nothing', counts: [2, 3], usage: undefined, expected: [2, 3] },
    { name: 'a server that counts more (a stop token) adds to the last chunk', counts: [2, 3], usage: 6, expected: [2, 4], mismatch: 1 },
    { name: 'a server that counts fewer takes from the end, never below zero', counts: [2, 1, 1], usage: 2, expected: [2, 0, 0], mismatch: -2 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = reconcileWithUsage(c.counts, c.usage);
      assert.deepEqual(result.counts, c.expected);
      assert.equal(result.mismatch, c.mismatch);
    });
  }
});

describe('tokenizer by model name', () => {
  const cases: [string, string | undefined][] = [
    ['Meta-Llama-3.3-70B-Instruct', 'llama3'],
    ['meta-llama/Llama-3.1-8B-Instruct', 'llama3'],
    ['Llama-4-Maverick-17B-128E-Instruct', 'llama3'],
    ['gpt-oss-120b', 'o200k'],
    ['gpt-4o-mini', 'o200k'],
    ['o3-mini', 'o200k'],
    ['gpt-4-turbo', 'cl100k'],
    ['DeepSeek-R1', undefined],
  ];
  for (const [model, expected] of cases) {
    test(`${model} → ${expected ?? 'unknown'}`, () => assert.equal(tokenizerForModelName(model), expected));
  }
});
