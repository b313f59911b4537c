import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { selectDatasetPrompts } from '../../src/load/dataset-prompts.ts';
import { loadTokenizer } from '../../src/metrics/tokenizers.ts';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import type { DatasetEntry, DatasetPrompts } from '../../src/types.ts';
import { withTempDir } from '../helpers.ts';

const scenarioText = (prompts: string) =>
  `name: p\ntarget: {baseURL: builtin}\nmodels: [m]\nload: {concurrency: 1, requests: 1}\nprompts: ${prompts}\n`;

const sha256Of = (text: string) => createHash('sha256').update(text).digest('hex');

/** The scenario's problems, or a failure when it loads. */
function problemsOf(text: string, file: string): string[] {
  try {
    parseScenario(text, file, {});
  } catch (error) {
    assert.ok(error instanceof ScenarioError, String(error));
    return error.problems;
  }
  assert.fail('the scenario loaded');
}

test('ShareGPT: the first human turn (after its system turn) is sent, the first gpt turn after it is the reference', () =>
  withTempDir(async (dir) => {
    const conversations = [
      { id: 'a', conversations: [{ from: 'human', value: 'Hi there' }, { from: 'gpt', value: 'Hello!' }, { from: 'human', value: 'More' }] },
      { conversations: [{ from: 'system', value: 'Be brief.' }, { from: 'human', value: 'Why?' }, { from: 'gpt', value: 'Because.' }] },
      // ShareGPT_V3's other spellings: user for human, chatgpt for gpt.
      { conversations: [{ from: 'gpt', value: 'An opening' }, { from: 'user', value: 'Q' }, { from: 'chatgpt', value: 'A' }] },
      { conversations: [{ from: 'human', value: 'No answer recorded' }] },
      { conversations: [{ from: 'gpt', value: 'no human turn: left out' }] },
      { conversations: [] },
    ];
    await writeFile(path.join(dir, 'data.json'), JSON.stringify(conversations));
    const scenario = parseScenario(scenarioText('{file: data.json, format: sharegpt}'), path.join(dir, 's.yaml'), {});
    assert.deepEqual(scenario.prompts, {
      dataset: true,
      file: path.join(dir, 'data.json'),
      format: 'sharegpt',
      sha256: sha256Of(JSON.stringify(conversations)),
      sample: 'first',
      skipped: 2,
      entries: [
        { messages: [{ role: 'user', content: 'Hi there' }], reference: 'Hello!' },
        {
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Why?' },
          ],
          reference: 'Because.',
        },
        { messages: [{ role: 'user', content: 'Q' }], reference: 'A' },
        { messages: [{ role: 'user', content: 'No answer recorded' }] },
      ],
    } satisfies DatasetPrompts);
  }));

test('ShareGPT: every malformed entry is reported at once, with its array index', () =>
  withTempDir(async (dir) => {
    const entries = [
      { conversations: [{ from: 'human', value: 'ok' }] },
      'not an object',
      { conversations: [{ from: 'robot', value: 'x' }, { from: 'human', value: 'fine' }, { from: 'gpt', value: 3 }] },
      { messages: [] },
    ];
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify(entries));
    const file = path.join(dir, 's.yaml');
    const data = path.join(dir, 'bad.json');
    assert.deepEqual(problemsOf(scenarioText('{file: bad.json, format: sharegpt}'), file), [
      `${file}: prompts.file: ${data}[1]: must be an object with conversations (a list of {from, value})`,
      `${file}: prompts.file: ${data}[2]: conversations[0] must be {from: human|gpt|system, value: string}`,
      `${file}: prompts.file: ${data}[2]: conversations[2] must be {from: human|gpt|system, value: string}`,
      `${file}: prompts.file: ${data}[3]: must be an object with conversations (a list of {from, value})`,
    ]);
  }));

test('ShareGPT: a file that is not JSON, not an array, or has nothing to send is one problem naming it', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 's.yaml');
    const cases: [string, RegExp][] = [
      ['[{"conversations": [', /^.*prompts\.file: .*d\.json: not valid JSON \(/],
      ['{"conversations": []}', /^.*prompts\.file: .*d\.json: must be a JSON array of \{conversations: \[\{from, value\}, \.\.\.\]\} \(ShareGPT\)$/],
      ['[{"conversations": [{"from": "gpt", "value": "x"}]}]', /^.*prompts\.file: .*d\.json: has no conversation with a human turn to send$/],
    ];
    for (const [text, expected] of cases) {
      await writeFile(path.join(dir, 'd.json'), text);
      const problems = problemsOf(scenarioText('{file: d.json, format: sharegpt}'), file);
      assert.equal(problems.length, 1, text);
      assert.match(problems[0]!, expected);
    }
  }));

test('OpenAI chat JSONL: a final assistant message is the reference answer, not sent; max_tokens kept', () =>
  withTempDir(async (dir) => {
    await writeFile(
      path.join(dir, 'chat.jsonl'),
      [
        '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"}]}',
        '',
        '{"messages": [{"role": "user", "content": "No reference"}], "max_tokens": 8}',
      ].join('\n'),
    );
    const scenario = parseScenario(scenarioText('{file: chat.jsonl, format: openai-chat}'), path.join(dir, 's.yaml'), {});
    assert.deepEqual((scenario.prompts as DatasetPrompts).entries, [
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
        reference: 'Hello there',
      },
      { messages: [{ role: 'user', content: 'No reference' }], maxTokens: 8 },
    ]);
  }));

test('OpenAI chat JSONL: every bad line is reported with its line number', () =>
  withTempDir(async (dir) => {
    await writeFile(
      path.join(dir, 'chat.jsonl'),
      [
        '{"messages": [{"role": "user", "content": "ok"}]}',
        '{"messages": [{"role": "assistant", "content": "only an answer"}]}',
        '{nope',
        '{"messages": [{"role": "user", "content": 1}]}',
      ].join('\n'),
    );
    const file = path.join(dir, 's.yaml');
    const data = path.join(dir, 'chat.jsonl');
    assert.deepEqual(problemsOf(scenarioText('{file: chat.jsonl, format: openai-chat}'), file), [
      `${file}: prompts.file: ${data}:2: has only an assistant message: nothing to send`,
      `${file}: prompts.file: ${data}:3: not valid JSON`,
      `${file}: prompts.file: ${data}:4: messages[0] must be {role: system|user|assistant|developer|tool, content: string}`,
    ]);
  }));

test('the dataset fields are checked: format, filter bounds in order, limit', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 's.yaml');
    await writeFile(path.join(dir, 'p.jsonl'), '{"prompt": "x"}\n');
    assert.deepEqual(problemsOf(scenarioText('{file: p.jsonl, format: csv}'), file), [`${file}: prompts.format: must be one of jsonl, sharegpt, openai-chat`]);
    assert.deepEqual(problemsOf(scenarioText('{file: p.jsonl, minInputTokens: 10, maxInputTokens: 5, limit: 0}'), file), [
      `${file}: prompts.limit: must be a positive integer`,
      `${file}: prompts.minInputTokens: must not exceed maxInputTokens`,
    ]);
  }));

test('a JSONL prompt file is a dataset, with nothing to select unless a filter or limit is set: each model gets its prompts in file order', () =>
  withTempDir(async (dir) => {
    const text = '{"prompt": "x", "max_tokens": 3}\n{"prompt": "y"}\n';
    await writeFile(path.join(dir, 'p.jsonl'), text);
    const file = path.join(dir, 's.yaml');
    const plain = parseScenario(scenarioText('{file: p.jsonl}'), file, {}).prompts as DatasetPrompts;
    const prompts: DatasetEntry[] = [{ messages: [{ role: 'user', content: 'x' }], maxTokens: 3 }, { messages: [{ role: 'user', content: 'y' }] }];
    assert.deepEqual(plain, { dataset: true, file: path.join(dir, 'p.jsonl'), format: 'jsonl', sha256: sha256Of(text), sample: 'first', skipped: 0, entries: prompts } satisfies DatasetPrompts);
    assert.deepEqual(selectDatasetPrompts(plain, await loadTokenizer('o200k'), 1), prompts);
    await writeFile(path.join(dir, 'p.jsonl'), '{"prompt": "x", "max_tokens": 3}\n');
    assert.deepEqual(parseScenario(scenarioText('{file: p.jsonl, limit: 5, sample: random}'), file, {}).prompts, {
      dataset: true,
      file: path.join(dir, 'p.jsonl'),
      format: 'jsonl',
      sha256: sha256Of('{"prompt": "x", "max_tokens": 3}\n'),
      sample: 'random',
      skipped: 0,
      limit: 5,
      entries: [{ messages: [{ role: 'user', content: 'x' }], maxTokens: 3 }],
    } satisfies DatasetPrompts);
  }));
