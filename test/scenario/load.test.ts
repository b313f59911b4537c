import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { durationMs } from '../../src/scenario/normalize.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { captureIo, withTempDir } from '../helpers.ts';

const VALID = `name: ok
target: {baseURL: builtin}
models: [Meta-Llama-3.3-70B-Instruct]
load: {concurrency: [1, 2], requests: 4}
prompts: ["hi"]
`;

/** Each kind of bad file, and the line(s) it must produce (`FILE` stands for the path). */
const BAD_FILES: { name: string; text: string | undefined; expected: string[] }[] = [
  { name: 'a missing file', text: undefined, expected: ['FILE: cannot read the file (ENOENT)'] },
  { name: 'a YAML syntax error, with line and column', text: 'name: [\nload: 1\n', expected: ['FILE:2:1: '] },
  { name: 'a file that is not a mapping', text: '- a\n- b\n', expected: ['FILE: (top level): must be a mapping'] },
  {
    name: 'missing sections',
    text: 'name: x\n',
    expected: ['FILE: target: ', 'FILE: models: ', 'FILE: load: ', 'FILE: prompts: '],
  },
  {
    name: 'a bad concurrency level, reported with its index',
    text: VALID.replace('[1, 2]', '[1, 0, 4]'),
    expected: ['FILE: load.concurrency[1]: must be a positive integer'],
  },
  { name: 'an unknown key', text: VALID.replace('requests: 4', 'requests: 4, concurrancy: 3'), expected: ['FILE: load.concurrancy: unknown key'] },
  {
    name: 'an unset environment variable',
    text: VALID.replace('baseURL: builtin', 'baseURL: "https://x.example/v1", apiKey: "${TM_TEST_UNSET_KEY}"'),
    expected: ['FILE: target.apiKey: environment variable TM_TEST_UNSET_KEY is not set'],
  },
  {
    name: 'an unknown tokenizer',
    text: VALID.replace('[Meta-Llama-3.3-70B-Instruct]', '[{name: m, tokenizer: bert}]'),
    expected: ['FILE: models[0].tokenizer: must be one of llama3, o200k, cl100k'],
  },
  {
    name: 'a base URL that is not http(s)',
    text: VALID.replace('baseURL: builtin', 'baseURL: "ftp://x"'),
    expected: ['FILE: target.baseURL: must be "builtin" or an http(s) URL'],
  },
  {
    name: 'a bad duration',
    text: VALID.replace('baseURL: builtin', 'baseURL: builtin, timeout: "soon"'),
    expected: ['FILE: target.timeout: must be a duration'],
  },
  {
    name: 'a zero duration',
    text: VALID.replace('baseURL: builtin', 'baseURL: builtin, idleTimeout: "0ms"'),
    expected: ['FILE: target.idleTimeout: must be longer than zero'],
  },
  {
    name: 'a concurrency level listed twice',
    text: VALID.replace('[1, 2]', '[2, 2]'),
    expected: ['FILE: load.concurrency: must not list a level twice'],
  },
  {
    name: 'a fractional simulator token count',
    text: VALID.replace('baseURL: builtin', 'baseURL: builtin, simulator: {defaults: {tokensPerChunk: 2.5}}'),
    expected: ['FILE: target.simulator.defaults.tokensPerChunk: must be a positive integer or a [min, max] pair'],
  },
  {
    name: 'a prompt message with a bad role',
    text: VALID.replace('["hi"]', '[{messages: [{role: robot, content: hi}]}]'),
    expected: ['FILE: prompts[0].messages[0].role: must be one of system, user'],
  },
  {
    name: 'several problems at once, all reported',
    text: VALID.replace('requests: 4', 'requests: -1').replace('name: ok', 'name: "no spaces allowed"'),
    expected: ['FILE: name: must start with a letter or digit', 'FILE: load.requests: must be a positive integer'],
  },
];

describe('scenario errors: every problem with its file and path, exit 2, no stack trace', () => {
  for (const bad of BAD_FILES) {
    test(bad.name, () =>
      withTempDir(async (dir) => {
        const file = path.join(dir, 'bad.yaml');
        if (bad.text !== undefined) await writeFile(file, bad.text);
        const io = captureIo();
        const code = await main(['validate', file], io);
        assert.equal(code, 2);
        const stderr = io.err();
        for (const expected of bad.expected) assert.ok(stderr.includes(expected.replace('FILE', file)), `missing "${expected}" in:\n${stderr}`);
        assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
        assert.equal(io.out(), '');
      }),
    );
  }
});

describe('scenario loading', () => {
  test('a valid file is normalized: levels as a list, prompts as messages, defaults filled', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'ok.yaml');
      await writeFile(file, VALID.replace('baseURL: builtin', 'baseURL: builtin, apiKey: "${TM_TEST_KEY}", idleTimeout: 500ms'));
      const scenario = await loadScenario(file, { TM_TEST_KEY: 'sk-secret' });
      assert.deepEqual(scenario.load, { concurrency: [1, 2], requests: 4 });
      assert.deepEqual(scenario.prompts, [{ messages: [{ role: 'user', content: 'hi' }] }]);
      assert.equal(scenario.target.apiKey, 'sk-secret');
      assert.equal(scenario.target.idleTimeoutMs, 500);
      assert.equal(scenario.target.timeoutMs, 600_000);
      assert.deepEqual(scenario.models, [{ name: 'Meta-Llama-3.3-70B-Instruct', params: {} }]);
    }));

  test('an unset key is no problem with the built-in simulator; ${VAR:-default} falls back', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'ok.yaml');
      await writeFile(file, VALID.replace('baseURL: builtin', 'baseURL: builtin, apiKey: "${TM_TEST_UNSET}"').replace('name: ok', 'name: "${TM_NAME:-fallback}"'));
      const scenario = await loadScenario(file, {});
      assert.equal(scenario.target.apiKey, undefined);
      assert.equal(scenario.name, 'fallback');
    }));

  const durations: [string | number, number][] = [['250ms', 250], ['30s', 30_000], ['5m', 300_000], ['1h', 3_600_000], [2, 2000]];
  for (const [input, ms] of durations) test(`duration ${input} is ${ms} ms`, () => assert.equal(durationMs(input), ms));
});
