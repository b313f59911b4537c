import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { selectDatasetPrompts } from '../../src/load/dataset-prompts.ts';
import { prepareWorkloads, requestParams } from '../../src/load/workload.ts';
import { loadTokenizer, loadTokenizerFile } from '../../src/metrics/tokenizers.ts';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import type { DatasetEntry, DatasetPrompts } from '../../src/types.ts';
import { withTempDir } from '../helpers.ts';
import { byteLevelTokenizerJson } from '../tokenizer-fixtures.ts';

/** A tokenizer with no merges: one token per ASCII character, so lengths are plain to see. */
async function characterTokenizer(dir: string) {
  const file = path.join(dir, 'chars.json');
  await writeFile(file, JSON.stringify(byteLevelTokenizerJson([])));
  return { file, tokenizer: await loadTokenizerFile(file) };
}

const user = (content: string) => [{ role: 'user' as const, content }];

/** Entry i: a prompt of i+1 characters ("a", "bb", …) and a reference of 10·(i+1) characters. */
const ENTRIES: DatasetEntry[] = Array.from({ length: 6 }, (_, i) => ({
  messages: user(String.fromCharCode(97 + i).repeat(i + 1)),
  reference: 'x'.repeat(10 * (i + 1)),
}));

const dataset = (fields: Partial<DatasetPrompts> = {}): DatasetPrompts => ({
  dataset: true,
  file: 'data.json',
  format: 'sharegpt',
  sha256: '0'.repeat(64),
  entries: ENTRIES,
  skipped: 0,
  sample: 'first',
  ...fields,
});

test("each prompt's referenceTokens is its reference answer's token count in the model's tokenizer", () =>
  withTempDir(async (dir) => {
    const { tokenizer } = await characterTokenizer(dir);
    const prompts = selectDatasetPrompts(dataset(), tokenizer, 1);
    assert.deepEqual(
      prompts.map((p) => [p.messages[0]!.content, p.referenceTokens]),
      [['a', 10], ['bb', 20], ['ccc', 30], ['dddd', 40], ['eeeee', 50], ['ffffff', 60]],
    );
    // In another tokenizer, another count: "xxxxxxxxxx" is fewer tokens in llama3.
    const llama3 = await loadTokenizer('llama3');
    const reference = 'The sky is blue because air scatters blue light more than red.';
    const [prompt] = selectDatasetPrompts(dataset({ entries: [{ messages: user('Why?'), reference }] }), llama3, 1);
    assert.equal(prompt!.referenceTokens, llama3.encode(reference).length);
    assert.equal(prompt!.referenceTokens, 14);
    assert.ok(!('reference' in prompt!), 'the reference text is not carried to the load');
  }));

test('filters keep entries whose input and reference lengths are within the bounds, inclusive', () =>
  withTempDir(async (dir) => {
    const { tokenizer } = await characterTokenizer(dir);
    const contents = (fields: Partial<DatasetPrompts>) => selectDatasetPrompts(dataset(fields), tokenizer, 1).map((p) => p.messages[0]!.content);
    assert.deepEqual(contents({ minInputTokens: 2, maxInputTokens: 4 }), ['bb', 'ccc', 'dddd']);
    assert.deepEqual(contents({ minOutputTokens: 30, maxOutputTokens: 50 }), ['ccc', 'dddd', 'eeeee']);
    assert.deepEqual(contents({ maxInputTokens: 5, minOutputTokens: 40 }), ['dddd', 'eeeee']);
    // Input counts every message's text (a system prompt too), no chat template.
    const withSystem: DatasetEntry = { messages: [{ role: 'system', content: 'sys' }, ...user('q')] };
    assert.equal(selectDatasetPrompts(dataset({ entries: [withSystem], maxInputTokens: 3 }), tokenizer, 1).length, 0);
    assert.equal(selectDatasetPrompts(dataset({ entries: [withSystem], maxInputTokens: 4 }), tokenizer, 1).length, 1);
    // An output filter leaves out entries without a reference: their answer's length is unknown.
    const noReference: DatasetEntry = { messages: user('q') };
    assert.equal(selectDatasetPrompts(dataset({ entries: [noReference], maxOutputTokens: 100 }), tokenizer, 1).length, 0);
    assert.deepEqual(selectDatasetPrompts(dataset({ entries: [noReference] }), tokenizer, 1), [{ messages: user('q') }]);
  }));

test('limit keeps the first N that pass the filters, or with sample: random N in an order drawn from the seed', () =>
  withTempDir(async (dir) => {
    const { tokenizer } = await characterTokenizer(dir);
    const contents = (fields: Partial<DatasetPrompts>, seed = 1) => selectDatasetPrompts(dataset(fields), tokenizer, seed).map((p) => p.messages[0]!.content);
    assert.deepEqual(contents({ limit: 2, minInputTokens: 2 }), ['bb', 'ccc']);
    const random = contents({ limit: 3, sample: 'random' });
    assert.deepEqual(random, ['a', 'dddd', 'ffffff']);
    assert.deepEqual(contents({ limit: 3, sample: 'random' }), random, 'the same seed, the same sample');
    assert.notDeepEqual(contents({ limit: 3, sample: 'random' }, 2), random);
    // The order comes from the seed alone: a filter removes entries from it, it does not reshuffle.
    assert.deepEqual(contents({ sample: 'random', minInputTokens: 4 }), contents({ sample: 'random' }).filter((text) => text.length >= 4));
  }));

const scenarioText = (models: string, prompts: string, params = '') =>
  `name: p\ntarget: {baseURL: builtin}\nmodels: ${models}\nload: {concurrency: 1, requests: 1}\nprompts: ${prompts}\n${params}`;

test("each model's workload sends max_tokens = the reference's tokens in its own tokenizer, unless params set an output length", () =>
  withTempDir(async (dir) => {
    await characterTokenizer(dir);
    const reference = 'The sky is blue because air scatters blue light more than red.';
    await writeFile(
      path.join(dir, 'chat.jsonl'),
      [
        JSON.stringify({ messages: [...user('Why is the sky blue?'), { role: 'assistant', content: reference }] }),
        JSON.stringify({ messages: [...user('Own cap'), { role: 'assistant', content: reference }], max_tokens: 5 }),
      ].join('\n'),
    );
    const file = path.join(dir, 's.yaml');
    const models = '[{name: a, tokenizer: chars.json}, {name: b, tokenizer: llama3}]';
    const scenario = parseScenario(scenarioText(models, '{file: chat.jsonl, format: openai-chat}', 'params: {temperature: 0}\n'), file, {});
    const [a, b] = await prepareWorkloads(scenario, [], { baseURL: 'http://unused' });
    assert.deepEqual(requestParams(scenario, a!, 0), { temperature: 0, max_tokens: reference.length });
    assert.deepEqual(requestParams(scenario, b!, 0), { temperature: 0, max_tokens: 14 });
    // A line's own max_tokens wins over the reference (it is that entry's choice).
    assert.deepEqual(requestParams(scenario, b!, 1), { temperature: 0, max_tokens: 5 });
    // The scenario's (or the model's) output length wins over the reference: it is this run's choice.
    const capped = parseScenario(scenarioText(models, '{file: chat.jsonl, format: openai-chat}', 'params: {max_tokens: 64}\n'), file, {});
    const [cappedA] = await prepareWorkloads(capped, [], { baseURL: 'http://unused' });
    assert.deepEqual(requestParams(capped, cappedA!, 0), { max_tokens: 64 });
    assert.deepEqual(requestParams(capped, cappedA!, 1), { max_tokens: 5 });
  }));

test('filters apply in each model\'s tokenizer; a model left without prompts is a scenario error, fewer than limit a warning', () =>
  withTempDir(async (dir) => {
    await characterTokenizer(dir);
    // 20 characters: 20 tokens for the character tokenizer, 4 in llama3.
    const text = 'hello world foo bars';
    await writeFile(path.join(dir, 'chat.jsonl'), JSON.stringify({ messages: user(text) }));
    const file = path.join(dir, 's.yaml');
    const models = '[{name: a, tokenizer: chars.json}, {name: b, tokenizer: llama3}]';
    const scenario = parseScenario(scenarioText(models, '{file: chat.jsonl, format: openai-chat, maxInputTokens: 10, limit: 3}'), file, {});
    await assert.rejects(prepareWorkloads(scenario, [], { baseURL: 'http://unused' }), (error: unknown) => {
      assert.ok(error instanceof ScenarioError);
      assert.deepEqual(error.problems, [
        `${file}: prompts: no entry of ${path.join(dir, 'chat.jsonl')} passes the length filters in the ${path.basename(dir)}/chars.json tokenizer of model "a"`,
      ]);
      return true;
    });
    const onlyB = parseScenario(scenarioText('[{name: b, tokenizer: llama3}]', '{file: chat.jsonl, format: openai-chat, maxInputTokens: 10, limit: 3}'), file, {});
    const warnings: string[] = [];
    const [b] = await prepareWorkloads(onlyB, warnings, { baseURL: 'http://unused' });
    assert.deepEqual(b!.prompts, [{ messages: user(text) }]);
    assert.deepEqual(warnings, [`prompts.limit is 3, but only 1 entries of ${path.join(dir, 'chat.jsonl')} pass the filters for model "b"`]);
  }));
