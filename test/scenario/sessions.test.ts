/** Multi-turn sessions in a scenario: the syntax, what it rules out, and the prompts it builds. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { loadTokenizer } from '../../src/metrics/tokenizers.ts';
import { selectDatasetPrompts } from '../../src/load/dataset-prompts.ts';
import { buildSyntheticPrompts } from '../../src/load/synthetic-prompts.ts';
import { conversationOf } from '../../src/scenario/datasets.ts';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import type { DatasetPrompts } from '../../src/types.ts';
import { withTempDir } from '../helpers.ts';

const text = (load: string, prompts: string) => `name: s\ntarget: {baseURL: builtin}\nmodels: [m]\nload: ${load}\nprompts: ${prompts}\n`;
const SESSIONS = '{synthetic: {inputTokens: 10, turns: 3}}';

function problemsOf(scenario: string, file = 's.yaml'): string[] {
  try {
    parseScenario(scenario, file, {});
  } catch (error) {
    assert.ok(error instanceof ScenarioError, String(error));
    return error.problems;
  }
  assert.fail('the scenario loaded');
}

test('think time: a duration, or a fixed, uniform or exponential distribution of durations', () => {
  const thinkTimeOf = (value: string) => parseScenario(text(`{concurrency: 2, requests: 4, thinkTime: ${value}}`, SESSIONS), 's.yaml', {}).load.thinkTime;
  assert.deepEqual(thinkTimeOf('2s'), { kind: 'fixed', ms: 2000 });
  assert.deepEqual(thinkTimeOf('0.5'), { kind: 'fixed', ms: 500 });
  assert.deepEqual(thinkTimeOf('{distribution: fixed, value: 250ms}'), { kind: 'fixed', ms: 250 });
  assert.deepEqual(thinkTimeOf('{distribution: uniform, min: 0s, max: 3s}'), { kind: 'uniform', minMs: 0, maxMs: 3000 });
  assert.deepEqual(thinkTimeOf('{distribution: exponential, mean: 1.5s}'), { kind: 'exponential', meanMs: 1500 });
  assert.deepEqual(parseScenario(text('{concurrency: 2, requests: 4}', SESSIONS), 's.yaml', {}).prompts, {
    synthetic: true,
    count: 100,
    inputTokens: { kind: 'fixed', value: 10 },
    turns: 3,
  });
});

test('what sessions rule out is reported at once, each problem with the file and its path', () => {
  assert.deepEqual(problemsOf(text('{rate: 2, requests: 4, workers: 2}', SESSIONS)), [
    's.yaml: load.rate: multi-turn sessions run in a closed loop: set load.concurrency (sessions in flight) instead',
    's.yaml: load.workers: multi-turn sessions run on one thread: set 1 or leave it unset',
  ]);
  assert.throws(
    () => parseScenario(text('{concurrency: 2, requests: 4}', SESSIONS), 's.yaml', {}, { workers: 3 }),
    (error: unknown) => error instanceof ScenarioError && error.problems.join() === 's.yaml: load.workers: multi-turn sessions run on one thread: --workers 3 cannot split them',
  );
  assert.deepEqual(problemsOf(text('{concurrency: 2, requests: 4, thinkTime: 1s}', '{synthetic: {inputTokens: 10, followUpTokens: 5}}')), [
    's.yaml: prompts.synthetic.followUpTokens: applies to multi-turn sessions only (prompts.synthetic.turns)',
    's.yaml: load.thinkTime: applies to multi-turn sessions only (prompts with turns)',
  ]);
  assert.deepEqual(problemsOf(text('{concurrency: 2, requests: 4, thinkTime: {distribution: uniform, min: 3s, max: 1s}}', '{synthetic: {inputTokens: 10, turns: 0}}')), [
    's.yaml: load.thinkTime: min must not exceed max',
    's.yaml: prompts.synthetic.turns: must be a positive integer',
  ]);
});

test('synthetic sessions: each turn a user message of exact length, the first of inputTokens, the later ones of followUpTokens', async () => {
  const tokenizer = await loadTokenizer('llama3');
  const prompts = buildSyntheticPrompts(
    { synthetic: true, count: 3, turns: 4, inputTokens: { kind: 'uniform', min: 50, max: 80 }, followUpTokens: { kind: 'fixed', value: 7 }, outputTokens: { kind: 'uniform', min: 5, max: 9 } },
    tokenizer,
    1,
  );
  assert.equal(prompts.length, 3);
  for (const prompt of prompts) {
    assert.ok(prompt.inputTokens! >= 50 && prompt.inputTokens! <= 80);
    assert.equal(tokenizer.encode(prompt.messages[0]!.content).length, prompt.inputTokens);
    assert.equal(prompt.followUps!.length, 3);
    for (const turn of prompt.followUps!) {
      assert.equal(turn.inputTokens, 7);
      assert.equal(tokenizer.encode(turn.messages[0]!.content).length, 7);
      assert.ok(turn.maxTokens! >= 5 && turn.maxTokens! <= 9);
    }
  }
  // Without turns, the prompts are today's: no followUps, the same draws as before.
  const single = buildSyntheticPrompts({ synthetic: true, count: 3, inputTokens: { kind: 'uniform', min: 50, max: 80 } }, tokenizer, 1);
  assert.ok(single.every((prompt) => prompt.followUps === undefined));
  assert.equal(single[0]!.messages[0]!.content, prompts[0]!.messages[0]!.content, 'session 0’s first turn is single-turn prompt 0');
});

test('a conversation as turns: each human message starts a turn, the first answer after it is its reference, system messages go with their turn', () => {
  assert.deepEqual(
    conversationOf([
      { role: 'assistant', content: 'an opening, not sent' },
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
      { role: 'assistant', content: 'A1 again' },
      { role: 'user', content: 'Q2' },
      { role: 'system', content: 'Now be long.' },
      { role: 'user', content: 'Q3' },
      { role: 'assistant', content: 'A3' },
      { role: 'user', content: '' },
    ]),
    {
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Q1' }],
      reference: 'A1',
      laterTurns: [
        { messages: [{ role: 'user', content: 'Q2' }] },
        { messages: [{ role: 'system', content: 'Now be long.' }, { role: 'user', content: 'Q3' }], reference: 'A3' },
      ],
    },
  );
  assert.equal(conversationOf([{ role: 'assistant', content: 'no question' }]), undefined);
});

test('ShareGPT and OpenAI chat files with turns: every human turn in order, up to turns, each reference answer a cap', () =>
  withTempDir(async (dir) => {
    const conversation = [
      { from: 'human', value: 'one' },
      { from: 'gpt', value: 'two three' },
      { from: 'human', value: 'four' },
      { from: 'gpt', value: 'five six seven' },
      { from: 'human', value: 'eight' },
    ];
    await writeFile(path.join(dir, 'data.json'), JSON.stringify([{ conversations: conversation }]));
    const chat = { messages: [{ role: 'user', content: 'one' }, { role: 'assistant', content: 'two three' }, { role: 'user', content: 'four' }] };
    await writeFile(path.join(dir, 'chat.jsonl'), JSON.stringify(chat) + '\n');
    const tokenizer = await loadTokenizer('llama3');
    const promptsOf = (file: string, format: string, turns: string) =>
      selectDatasetPrompts(parseScenario(text('{concurrency: 1, requests: 1}', `{file: ${file}, format: ${format}, turns: ${turns}}`), path.join(dir, 's.yaml'), {}).prompts as DatasetPrompts, tokenizer, 1);
    assert.deepEqual(promptsOf('data.json', 'sharegpt', 'all'), [
      {
        messages: [{ role: 'user', content: 'one' }],
        referenceTokens: 2,
        followUps: [{ messages: [{ role: 'user', content: 'four' }], referenceTokens: 3 }, { messages: [{ role: 'user', content: 'eight' }] }],
      },
    ]);
    assert.deepEqual(promptsOf('data.json', 'sharegpt', '2')[0]!.followUps, [{ messages: [{ role: 'user', content: 'four' }], referenceTokens: 3 }]);
    assert.deepEqual(promptsOf('chat.jsonl', 'openai-chat', 'all'), [
      { messages: [{ role: 'user', content: 'one' }], referenceTokens: 2, followUps: [{ messages: [{ role: 'user', content: 'four' }] }] },
    ]);
    assert.deepEqual(problemsOf(text('{concurrency: 1, requests: 1}', '{file: chat.jsonl, turns: 2}'), path.join(dir, 's.yaml')), [
      `${path.join(dir, 's.yaml')}: prompts.turns: applies to conversations only (format: sharegpt or openai-chat)`,
    ]);
  }));

test('synthetic sessions with a shared prefix: the first turn opens with its group’s prefix, later turns are plain user messages', async () => {
  const tokenizer = await loadTokenizer('llama3');
  const prompts = buildSyntheticPrompts(
    { synthetic: true, count: 4, turns: 3, inputTokens: { kind: 'fixed', value: 20 }, followUpTokens: { kind: 'fixed', value: 6 }, sharedPrefix: { tokens: 30, groups: 2, as: 'system' } },
    tokenizer,
    1,
  );
  for (const [i, prompt] of prompts.entries()) {
    assert.deepEqual(prompt.messages.map((m) => m.role), ['system', 'user']);
    assert.equal(prompt.messages[0]!.content, prompts[i % 2]!.messages[0]!.content, 'prompt i has group i mod 2’s prefix');
    assert.equal(tokenizer.encode(prompt.messages[0]!.content).length, 30);
    assert.equal(prompt.inputTokens, 50);
    assert.deepEqual(prompt.followUps!.map((turn) => [turn.messages.length, turn.messages[0]!.role, tokenizer.encode(turn.messages[0]!.content).length]), [[1, 'user', 6], [1, 'user', 6]]);
  }
  assert.notEqual(prompts[0]!.messages[0]!.content, prompts[1]!.messages[0]!.content);
});
