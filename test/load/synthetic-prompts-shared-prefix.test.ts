import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildSyntheticPrompts } from '../../src/load/synthetic-prompts.ts';
import { prepareWorkloads, requestParams } from '../../src/load/workload.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { loadTokenizer, loadTokenizerFile, TOKENIZER_NAMES, type Tokenizer } from '../../src/metrics/tokenizers.ts';
import type { LengthDistribution, Prompt, SharedPrefixPlace, SyntheticPrompts } from '../../src/types.ts';
import { withTempDir } from '../helpers.ts';
import { byteLevelTokenizerJson, sentencePieceTokenizerJson, wordMerges } from '../tokenizer-fixtures.ts';

const FIXTURE_WORDS = ['the', 'of', 'and', 'river', 'garden', 'summer'];

/** Every tokenizer tokenmeter ships, and two tokenizer.json files (byte-level BPE, SentencePiece Unigram) with a few words as tokens. */
const TOKENIZERS: { name: string; load: (dir: string) => Promise<Tokenizer> }[] = [
  ...TOKENIZER_NAMES.map((name) => ({ name, load: () => loadTokenizer(name) })),
  {
    name: 'byte-level tokenizer.json',
    load: async (dir) => {
      const file = path.join(dir, 'bpe.json');
      await writeFile(file, JSON.stringify(byteLevelTokenizerJson(wordMerges(FIXTURE_WORDS))));
      return loadTokenizerFile(file);
    },
  },
  {
    name: 'SentencePiece tokenizer.json',
    load: async (dir) => {
      const pieces = [...['the', 'of', 'water', 'light', 'sea'].map((word): [string, number] => [`▁${word}`, -1])];
      pieces.push(...['▁', ...'abcdefghijklmnopqrstuvwxyz'].map((piece): [string, number] => [piece, -2]));
      const file = path.join(dir, 'unigram.json');
      await writeFile(file, JSON.stringify(sentencePieceTokenizerJson(pieces)));
      return loadTokenizerFile(file);
    },
  },
];

const spec = (inputTokens: LengthDistribution, count: number, tokens: number, groups: number, as: SharedPrefixPlace): SyntheticPrompts => ({
  synthetic: true,
  count,
  inputTokens,
  sharedPrefix: { tokens, groups, as },
});

/** A prompt's tokens as the server's prefix cache sees them in order: each message's text, encoded whole. */
const tokensOf = (prompt: Prompt, tokenizer: Tokenizer): number[] => prompt.messages.flatMap((message) => tokenizer.encode(message.content));

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * The shared-prefix contract for one build: every prompt has exactly P + its own length tokens;
 * the prompts of a group (i mod G) share exactly P leading tokens, their next tokens pairwise
 * different; prompts of different groups differ from their first token.
 */
function assertSharedPrefix(prompts: Prompt[], tokenizer: Tokenizer, P: number, G: number, as: SharedPrefixPlace, ownLengths: number[]): void {
  const tokens = prompts.map((prompt) => tokensOf(prompt, tokenizer));
  for (const [i, prompt] of prompts.entries()) {
    const where = `prompt ${i} of ${tokenizer.name} (${as})`;
    assert.deepEqual(prompt.messages.map((m) => m.role), as === 'system' ? ['system', 'user'] : ['user'], where);
    assert.equal(prompt.inputTokens, P + ownLengths[i]!, where);
    assert.equal(tokens[i]!.length, P + ownLengths[i]!, where);
    if (as === 'system') assert.equal(tokenizer.encode(prompt.messages[0]!.content).length, P, `${where}: the system message is the prefix`);
    for (const message of prompt.messages) assert.equal(message.content, message.content.trim(), `${where}: no space at either end (chat templates trim it)`);
    for (let j = i + 1; j < prompts.length; j++) {
      const shared = commonPrefixLength(tokens[i]!, tokens[j]!);
      if (i % G === j % G) assert.equal(shared, P, `prompts ${i} and ${j} of group ${i % G} share exactly the prefix, in ${tokenizer.name} (${as})`);
      else assert.equal(shared, 0, `prompts ${i} and ${j} are of different groups: no first token in common, in ${tokenizer.name} (${as})`);
    }
  }
}

describe('synthetic prompts with a shared prefix', () => {
  for (const { name, load } of TOKENIZERS) {
    for (const as of ['system', 'user'] as const) {
      test(`${name}, prefix as ${as}: exactly P shared tokens in a group, none across groups, every length exact`, () =>
        withTempDir(async (dir) => {
          const tokenizer = await load(dir);
          const lengths = { kind: 'uniform', min: 1, max: 40 } as const;
          for (const [P, G, count] of [
            [1, 1, 3],
            [16, 4, 12],
            [300, 3, 13],
            [1000, 2, 6],
          ] as const) {
            const prompts = buildSyntheticPrompts(spec(lengths, count, P, G, as), tokenizer, 7);
            // The prompts' own lengths are those of the same spec without a prefix: drawn from the seed alone.
            const own = buildSyntheticPrompts({ synthetic: true, count, inputTokens: lengths }, tokenizer, 7).map((p) => p.inputTokens!);
            assertSharedPrefix(prompts, tokenizer, P, G, as, own);
          }
        }));
    }
  }

  test('the same seed gives the same prompts; every tokenizer gets the same lengths and groups', async () => {
    const lengths = spec({ kind: 'normal', mean: 50, stdev: 20, min: 1, max: 200 }, 20, 64, 5, 'user');
    const [llama3, ...others] = await Promise.all(TOKENIZER_NAMES.map((name) => loadTokenizer(name)));
    const first = buildSyntheticPrompts(lengths, llama3!, 3);
    assert.deepEqual(buildSyntheticPrompts(lengths, llama3!, 3), first);
    assert.notDeepEqual(buildSyntheticPrompts(lengths, llama3!, 4), first);
    for (const tokenizer of others) {
      const prompts = buildSyntheticPrompts(lengths, tokenizer, 3);
      assert.deepEqual(prompts.map((p) => p.inputTokens), first.map((p) => p.inputTokens));
    }
  });

  test('a group of more prompts than there are one-token words still shares exactly the prefix', () =>
    withTempDir(async (dir) => {
      const tokenizer = await TOKENIZERS.find((t) => t.name === 'byte-level tokenizer.json')!.load(dir);
      // Seven words ("an" among them) open the prompts' own parts: the 8th prompt of the group repeats the 1st's opening word.
      const prompts = buildSyntheticPrompts(spec({ kind: 'fixed', value: 30 }, 9, 20, 1, 'user'), tokenizer, 2);
      const tokens = prompts.map((prompt) => tokensOf(prompt, tokenizer));
      const shared = Math.min(...tokens.slice(1).map((t) => commonPrefixLength(tokens[0]!, t)));
      assert.equal(shared, 20);
      assert.ok(prompts.every((p) => tokensOf(p, tokenizer).length === 50));
    }));

  test('more groups than one-token words to open them: a clear error, not prefixes that share a token', () =>
    withTempDir(async (dir) => {
      const tokenizer = await TOKENIZERS.find((t) => t.name === 'byte-level tokenizer.json')!.load(dir);
      assert.throws(
        () => buildSyntheticPrompts(spec({ kind: 'fixed', value: 3 }, 10, 8, 8, 'system'), tokenizer, 1),
        /^Error: synthetic prompts: cannot give 8 shared-prefix groups distinct first tokens with tokenizer .*bpe\.json: only 7 of tokenmeter's \d+ prompt words are a single token in it at the start of a text$/,
      );
    }));

  test('a run builds each model its own prompts from the scenario: exact in its tokenizer, its output length exact', async () => {
    const scenario = parseScenario(
      'name: p\ntarget: {baseURL: builtin}\nmodels: [Meta-Llama-3.3-70B-Instruct, gpt-4o]\nload: {concurrency: 1, requests: 1}\n' +
        'prompts: {synthetic: {count: 6, inputTokens: 20, outputTokens: 8, sharedPrefix: {tokens: 200, groups: 3}}}\n',
      's.yaml',
      {},
    );
    const workloads = await prepareWorkloads(scenario, [], { baseURL: 'http://unused' });
    assert.deepEqual(workloads.map((w) => w.tokenizer.name), ['llama3', 'o200k']);
    for (const workload of workloads) {
      assertSharedPrefix(workload.prompts, workload.tokenizer, 200, 3, 'system', [20, 20, 20, 20, 20, 20]);
      // The built-in simulator takes vLLM's exact-length parameters.
      assert.deepEqual(requestParams(scenario, workload, 0), { max_tokens: 8, min_tokens: 8, ignore_eos: true });
    }
  });
});
