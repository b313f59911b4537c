import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import type { DatasetPrompts } from '../../src/types.ts';
import { withTempDir } from '../helpers.ts';

const scenarioText = (prompts: string) =>
  `name: p\ntarget: {baseURL: builtin}\nmodels: [m]\nload: {concurrency: 1, requests: 1}\nprompts: ${prompts}\n`;

test('a JSONL prompt file: {messages} and {prompt} lines, per-line max_tokens, blank lines skipped', () =>
  withTempDir(async (dir) => {
    await writeFile(
      path.join(dir, 'prompts.jsonl'),
      [
        '\uFEFF{"prompt": "Why is the sky blue?"}', // a byte-order mark, as Windows editors write
        '',
        '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "max_tokens": 64}',
      ].join('\n'),
    );
    const scenario = parseScenario(scenarioText('{file: prompts.jsonl}'), path.join(dir, 's.yaml'), {});
    assert.deepEqual((scenario.prompts as DatasetPrompts).entries, [
      { messages: [{ role: 'user', content: 'Why is the sky blue?' }] },
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
        maxTokens: 64,
      },
    ]);
  }));

test('every bad line of a prompt file is reported with its line number', () =>
  withTempDir(async (dir) => {
    await writeFile(
      path.join(dir, 'bad.jsonl'),
      ['{"prompt": "ok"}', '{not json', '{"prompt": "x", "max_tokens": -1}', '{"messages": [{"role": "robot", "content": "x"}]}', '[1]'].join('\n'),
    );
    const file = path.join(dir, 's.yaml');
    assert.throws(
      () => parseScenario(scenarioText('{file: bad.jsonl}'), file, {}),
      (error: unknown) => {
        assert.ok(error instanceof ScenarioError);
        const jsonl = path.join(dir, 'bad.jsonl');
        assert.deepEqual(error.problems, [
          `${file}: prompts.file: ${jsonl}:2: not valid JSON`,
          `${file}: prompts.file: ${jsonl}:3: max_tokens must be a positive integer`,
          `${file}: prompts.file: ${jsonl}:4: messages[0] must be {role: system|user|assistant|developer|tool, content: string}`,
          `${file}: prompts.file: ${jsonl}:5: must be a JSON object with messages or prompt`,
        ]);
        return true;
      },
    );
  }));

test('a missing prompt file is a scenario error naming the file', () =>
  withTempDir(async (dir) => {
    const file = path.join(dir, 's.yaml');
    assert.throws(() => parseScenario(scenarioText('{file: nope.jsonl}'), file, {}), /prompts\.file: .*nope\.jsonl: cannot read the prompt file \(ENOENT\)/);
  }));
