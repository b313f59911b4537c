import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { seededRandom } from '../../src/util/random.ts';
import { buildSyntheticPrompts, buildTracePrompts, drawLength } from '../../src/load/synthetic-prompts.ts';
import { loadTokenizer, loadTokenizerFile, TOKENIZER_NAMES, type Tokenizer } from '../../src/metrics/tokenizers.ts';
import type { LengthDistribution, Prompt, SyntheticPrompts } from '../../src/types.ts';
import { withTempDir } from '../helpers.ts';
import { byteLevelTokenizerJson, sentencePieceTokenizerJson, wordMerges } from '../tokenizer-fixtures.ts';

const spec = (inputTokens: LengthDistribution, count: number, outputTokens?: LengthDistribution): SyntheticPrompts => ({
  synthetic: true,
  count,
  inputTokens,
  ...(outputTokens ? { outputTokens } : {}),
});

const contentOf = (prompt: Prompt): string => prompt.messages[0]!.content;

function assertExact(prompts: Prompt[], tokenizer: Tokenizer): void {
  for (const [index, prompt] of prompts.entries()) {
    assert.equal(prompt.messages.length, 1);
    assert.equal(prompt.messages[0]!.role, 'user');
    assert.equal(tokenizer.encode(contentOf(prompt)).length, prompt.inputTokens, `prompt ${index} of ${tokenizer.name}`);
    assert.equal(contentOf(prompt), contentOf(prompt).trim(), 'no space at either end: chat templates trim it');
  }
}

describe('synthetic prompts', () => {
  for (const name of TOKENIZER_NAMES) {
    test(`${name}: every prompt has exactly its token count, from 1 to 2000 tokens`, async () => {
      const tokenizer = await loadTokenizer(name);
      for (const length of [1, 2, 3, 17, 256, 2000]) {
        const prompts = buildSyntheticPrompts(spec({ kind: 'fixed', value: length }, 3), tokenizer, 7);
        assert.deepEqual(prompts.map((p) => p.inputTokens), [length, length, length]);
        assertExact(prompts, tokenizer);
      }
      assertExact(buildSyntheticPrompts(spec({ kind: 'uniform', min: 1, max: 2000 }, 30), tokenizer, 11), tokenizer);
    });
  }

  test('the same seed gives the same prompts in the same order; another seed other prompts', async () => {
    const tokenizer = await loadTokenizer('o200k');
    const lengths = spec({ kind: 'uniform', min: 5, max: 50 }, 20, { kind: 'uniform', min: 10, max: 100 });
    const first = buildSyntheticPrompts(lengths, tokenizer, 42);
    assert.deepEqual(buildSyntheticPrompts(lengths, tokenizer, 42), first);
    const other = buildSyntheticPrompts(lengths, tokenizer, 43);
    assert.notDeepEqual(other.map((p) => p.inputTokens), first.map((p) => p.inputTokens));
    assert.ok(other.every((prompt, i) => contentOf(prompt) !== contentOf(first[i]!)));
  });

  test('every model gets the same lengths in the same order, whatever its tokenizer', async () => {
    const lengths = spec({ kind: 'normal', mean: 300, stdev: 100, min: 1, max: 1000 }, 50, { kind: 'lognormal', mean: 200, stdev: 80, min: 1, max: 4000 });
    const [llama3, o200k, cl100k] = await Promise.all(TOKENIZER_NAMES.map((name) => loadTokenizer(name)));
    const byLlama = buildSyntheticPrompts(lengths, llama3!, 5);
    for (const tokenizer of [o200k!, cl100k!]) {
      const prompts = buildSyntheticPrompts(lengths, tokenizer, 5);
      assert.deepEqual(prompts.map((p) => p.inputTokens), byLlama.map((p) => p.inputTokens));
      assert.deepEqual(prompts.map((p) => p.maxTokens), byLlama.map((p) => p.maxTokens));
      assertExact(prompts, tokenizer);
    }
    assert.ok(byLlama.every((p) => Number.isInteger(p.maxTokens) && p.maxTokens! >= 1));
  });

  test('prompt i does not depend on how many prompts are drawn', async () => {
    const tokenizer = await loadTokenizer('cl100k');
    const lengths = (count: number) => spec({ kind: 'uniform', min: 1, max: 100 }, count, { kind: 'uniform', min: 1, max: 100 });
    assert.deepEqual(buildSyntheticPrompts(lengths(10), tokenizer, 3).slice(0, 4), buildSyntheticPrompts(lengths(4), tokenizer, 3));
  });

  test('without outputTokens a prompt carries no maxTokens', async () => {
    const [prompt] = buildSyntheticPrompts(spec({ kind: 'fixed', value: 4 }, 1), await loadTokenizer('llama3'), 1);
    assert.deepEqual(Object.keys(prompt!).sort(), ['inputTokens', 'messages']);
  });

  test('prompts differ from their first words on, so a prefix cache finds no shared block', async () => {
    const tokenizer = await loadTokenizer('llama3');
    const prompts = buildSyntheticPrompts(spec({ kind: 'fixed', value: 64 }, 300), tokenizer, 9);
    const prefixes = new Set(prompts.map((p) => contentOf(p).split(' ').slice(0, 8).join(' ')));
    assert.equal(prefixes.size, prompts.length);
  });
});

describe('drawing a length', () => {
  const draws = (distribution: LengthDistribution, count = 20_000, seed = 1): number[] => {
    const random = seededRandom(seed);
    return Array.from({ length: count }, () => drawLength(distribution, random));
  };
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const stdev = (values: number[]) => {
    const m = mean(values);
    return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
  };
  const within = (actual: number, expected: number, share: number, what: string) =>
    assert.ok(Math.abs(actual - expected) <= expected * share, `${what} ${actual}, expected ${expected} ± ${share * 100}%`);

  test('fixed is its value', () => {
    assert.deepEqual(new Set(draws({ kind: 'fixed', value: 128 }, 100)), new Set([128]));
  });

  test('uniform covers [min, max], both ends included, evenly', () => {
    const values = draws({ kind: 'uniform', min: 3, max: 9 }, 7000);
    const counts = new Map<number, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [3, 4, 5, 6, 7, 8, 9]);
    for (const [value, count] of counts) within(count, 1000, 0.15, `draws of ${value}`);
  });

  test('normal: the sample mean and stdev are near the spec’s', () => {
    const values = draws({ kind: 'normal', mean: 1000, stdev: 100, min: 1, max: 100_000 });
    assert.ok(values.every(Number.isInteger));
    within(mean(values), 1000, 0.01, 'mean');
    within(stdev(values), 100, 0.05, 'stdev');
  });

  test('lognormal: mean and stdev are the length’s own, not the underlying normal’s', () => {
    const values = draws({ kind: 'lognormal', mean: 500, stdev: 300, min: 1, max: 1_000_000 });
    assert.ok(values.every(Number.isInteger));
    within(mean(values), 500, 0.03, 'mean');
    within(stdev(values), 300, 0.1, 'stdev');
    const median = [...values].sort((a, b) => a - b)[values.length / 2]!;
    assert.ok(median < 480, `right-skewed: median ${median} below the mean`);
  });

  test('draws are clamped to [min, max]', () => {
    for (const kind of ['normal', 'lognormal'] as const) {
      const values = draws({ kind, mean: 100, stdev: 100, min: 80, max: 120 }, 2000);
      assert.equal(Math.min(...values), 80, kind);
      assert.equal(Math.max(...values), 120, kind);
    }
  });
});

describe('synthetic prompts with a tokenizer.json', () => {
  test('a byte-level BPE vocabulary that has a few of the words as tokens: exact lengths', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'tokenizer.json');
      await writeFile(file, JSON.stringify(byteLevelTokenizerJson(wordMerges(['the', 'of', 'and', 'river', 'garden', 'summer']))));
      const tokenizer = await loadTokenizerFile(file);
      const prompts = buildSyntheticPrompts(spec({ kind: 'uniform', min: 1, max: 300 }, 20), tokenizer, 1);
      assertExact(prompts, tokenizer);
      assert.ok(contentOf(prompts[0]!).split(' ').every((word) => ['the', 'of', 'and', 'river', 'garden', 'summer'].includes(word)));
    }));

  test('a SentencePiece (Unigram) vocabulary: exact lengths', () =>
    withTempDir(async (dir) => {
      const json = sentencePieceTokenizerJson([
        ...['the', 'of', 'water', 'light'].map((word): [string, number] => [`▁${word}`, -1]),
        ...['▁', ...'abcdefghijklmnopqrstuvwxyz'].map((piece): [string, number] => [piece, -2]),
      ]);
      const file = path.join(dir, 'tokenizer.json');
      await writeFile(file, JSON.stringify(json));
      const tokenizer = await loadTokenizerFile(file);
      assertExact(buildSyntheticPrompts(spec({ kind: 'uniform', min: 1, max: 300 }, 20), tokenizer, 2), tokenizer);
    }));

  test('a vocabulary with no word as one token: a clear error, not a wrong length', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'tokenizer.json');
      await writeFile(file, JSON.stringify(byteLevelTokenizerJson([])));
      const tokenizer = await loadTokenizerFile(file);
      assert.throws(
        () => buildSyntheticPrompts(spec({ kind: 'fixed', value: 10 }, 1), tokenizer, 1),
        /^Error: synthetic prompts: cannot build a prompt of exactly 10 tokens with tokenizer .*tokenizer\.json: none of tokenmeter's \d+ prompt words is a single token in it at the start of a text$/,
      );
    }));
});

test("a trace's token lines become prompts of exactly input_tokens in each tokenizer, with output_tokens exact; messages lines as written", async () => {
  const lines = [
    { inputTokens: 1, outputTokens: 5 },
    { messages: [{ role: 'user' as const, content: 'hello there' }], maxTokens: 9 },
    { inputTokens: 37, outputTokens: 2 },
    { messages: [{ role: 'system' as const, content: 'terse' }, { role: 'user' as const, content: 'why' }] },
    { inputTokens: 512, outputTokens: 128 },
  ];
  for (const name of TOKENIZER_NAMES) {
    const tokenizer = await loadTokenizer(name);
    const prompts = buildTracePrompts(lines, tokenizer, 3);
    assertExact([prompts[0]!, prompts[2]!, prompts[4]!], tokenizer);
    assert.deepEqual([prompts[0], prompts[2], prompts[4]].map((prompt) => [prompt!.inputTokens, prompt!.maxTokens, prompt!.exactOutput]), [
      [1, 5, true],
      [37, 2, true],
      [512, 128, true],
    ]);
    assert.deepEqual(prompts[1], { messages: lines[1]!.messages, maxTokens: 9 });
    assert.deepEqual(prompts[3], { messages: (lines[3] as { messages: Prompt['messages'] }).messages });
    // Seeded: the same seed gives the same texts; no two lines share a prefix.
    assert.deepEqual(buildTracePrompts(lines, tokenizer, 3), prompts);
    assert.notEqual(contentOf(buildTracePrompts(lines, tokenizer, 4)[4]!), contentOf(prompts[4]!));
  }
});
