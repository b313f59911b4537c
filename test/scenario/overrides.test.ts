import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadScenario, ScenarioError } from '../../src/scenario/load.ts';
import { applyOverrides, parsePath, redactOverride } from '../../src/scenario/overrides.ts';
import type { Scenario } from '../../src/types.ts';
import { REPO_ROOT } from '../helpers.ts';

const QUICKSTART = path.join(REPO_ROOT, 'scenarios', 'quickstart.yaml');
const MODEL = 'Meta-Llama-3.3-70B-Instruct';

describe('--set paths', () => {
  const cases: [string, (string | number)[] | RegExp][] = [
    ['load.requests', ['load', 'requests']],
    ['models[0].tokenizer', ['models', 0, 'tokenizer']],
    ['target.simulator.models["org/x.y"].ttftMs', ['target', 'simulator', 'models', 'org/x.y', 'ttftMs']],
    ['slo.ttft_p95_ms', ['slo', 'ttft_p95_ms']],
    ['target.headers.X-Trace', ['target', 'headers', 'X-Trace']],
    ['', /empty/],
    ['load..requests', /does not start with a key/],
    ['load.', /ends with/],
    ['[0]', /must start with a field name/],
    ['models[x]', /is not \[index\]/],
    ['models[0]tokenizer', /expected "\." or "\["/],
  ];
  for (const [text, expected] of cases) {
    test(`"${text}" parses to ${expected instanceof RegExp ? `a problem matching ${expected}` : JSON.stringify(expected)}`, () => {
      const parsed = parsePath(text);
      if (expected instanceof RegExp) assert.match(parsed as string, expected);
      else assert.deepEqual(parsed, expected);
    });
  }
});

describe('--set changes exactly the named field of a scenario file', () => {
  // Each case: the --set texts, and the same change made by hand to the scenario loaded without them.
  const cases: [string[], (scenario: Scenario) => void][] = [
    [['load.requests=200'], (s) => (s.load.requests = 200)],
    [['load.concurrency=[1,4]'], (s) => (s.load.levels = [1, 4])],
    [['target.timeout=30s'], (s) => (s.target.timeoutMs = 30_000)],
    [['models[0].tokenizer=llama3'], (s) => (s.models[0]!.tokenizer = 'llama3')],
    [['params.temperature=0.5'], (s) => (s.params.temperature = 0.5)],
    [['name=other-name'], (s) => (s.name = 'other-name')],
    [['load.warmup=5s'], (s) => (s.load.warmupMs = 5000)],
    [[`target.simulator.models["${MODEL}"].capacity=4`], (s) => (s.target.simulator.models[MODEL]!.capacity = 4)],
    [['prompts[0]=Tell me a joke'], (s) => ((s.prompts as { messages: unknown }[])[0] = { messages: [{ role: 'user', content: 'Tell me a joke' }] })],
    [['prompts[2]="1"'], (s) => (s.prompts as { messages: unknown }[]).push({ messages: [{ role: 'user', content: '1' }] })],
    [
      ['load.concurrency=', 'load.rate=[2, 4]'],
      (s) => {
        s.load.kind = 'rate';
        s.load.levels = [2, 4];
      },
    ],
    [['slo.ttft_p95_ms=500'], (s) => (s.slo = [{ metric: 'ttft', stat: 'p95', bound: 500, key: 'ttft_p95_ms' } as never])],
  ];
  for (const [sets, change] of cases) {
    test(sets.join(' '), async () => {
      const expected = await loadScenario(QUICKSTART, {});
      change(expected);
      expected.overrides = sets;
      const actual = await loadScenario(QUICKSTART, {}, { overrides: sets });
      if (sets[0]!.startsWith('slo.')) {
        // The SLO's parsed shape belongs to slo.ts; here only that it is the one bound set.
        assert.equal(actual.slo.length, 1);
        assert.equal(actual.slo[0]!.bound, 500);
        actual.slo = expected.slo;
      }
      assert.deepEqual(actual, expected);
    });
  }

  test('the parsed file is not changed in place', () => {
    const raw = { load: { concurrency: 1 } };
    const { value } = applyOverrides(raw, ['load.concurrency=2']);
    assert.deepEqual(raw, { load: { concurrency: 1 } });
    assert.deepEqual(value, { load: { concurrency: 2 } });
  });
});

describe('a bad --set is a scenario error naming the --set and the field', () => {
  const cases: [string, RegExp][] = [
    ['load.requestz=3', /quickstart\.yaml: load\.requestz: unknown key \(from --set load\.requestz=3\)/],
    ['load.requests=-1', /quickstart\.yaml: load\.requests: must be a positive integer \(from --set load\.requests=-1\)/],
    ['target.timeout=soon', /quickstart\.yaml: target\.timeout: must be a duration .*\(from --set target\.timeout=soon\)/],
    ['models[0].tokenizer=nope', /quickstart\.yaml: models\[0\]\.tokenizer: must be one of llama3.*\(from --set models\[0\]\.tokenizer=nope\)/],
    ['load.rate=2', /quickstart\.yaml: load: must set exactly one of concurrency .*\(from --set load\.rate=2\)/],
    ['load.requests', /quickstart\.yaml: --set load\.requests: must be PATH=VALUE/],
    ['load..requests=1', /quickstart\.yaml: --set load\.\.requests=1: the path "\.requests" does not start with a key/],
    ['models[5].name=x', /quickstart\.yaml: --set models\[5\]\.name=x: models has 1 item\(s\): index 5 is beyond its end/],
    ['name.first=x', /quickstart\.yaml: --set name\.first=x: name is a string \("quickstart"\), not a mapping/],
    ['load.concurrency=[1, 2', /quickstart\.yaml: --set load\.concurrency=\[1, 2: the value is not valid YAML/],
    ['target.apiKey=sk-typed-in', /quickstart\.yaml: target\.apiKey: must not be written on the command line: use --api-key-env VAR/],
    ['target={baseURL: builtin, apiKey: sk-typed-in}', /target\.apiKey: must not be written on the command line/],
  ];
  for (const [set, expected] of cases) {
    test(`--set ${set}`, async () => {
      const error = await loadScenario(QUICKSTART, {}, { overrides: [set] }).catch((e: unknown) => e);
      assert.ok(error instanceof ScenarioError, String(error));
      assert.match(error.message, expected);
      assert.ok(!error.message.includes('sk-typed-in'), 'a key typed in is not repeated');
    });
  }

  test('every bad --set is reported at once', async () => {
    const error = await loadScenario(QUICKSTART, {}, { overrides: ['load.requests', 'models[9]=x'] }).catch((e: unknown) => e);
    assert.ok(error instanceof ScenarioError);
    assert.equal(error.problems.length, 2);
  });

  test('a key from the environment through --set is fine', async () => {
    const scenario = await loadScenario(QUICKSTART, { MY_KEY: 'k' }, { overrides: ['target.apiKey=${MY_KEY}'] });
    assert.equal(scenario.target.apiKey, 'k');
  });
});

describe('--set values that touch secrets are redacted where recorded', () => {
  const cases: [string, string][] = [
    ['load.requests=200', 'load.requests=200'],
    ['target.apiKey=${KEY}', 'target.apiKey=[redacted]'],
    ['target.headers.Authorization=Bearer x', 'target.headers.Authorization=[redacted]'],
    ['target.headers={X-A: b}', 'target.headers=[redacted]'],
    ['target={baseURL: builtin}', 'target=[redacted]'],
    ['target.baseURL=http://h/v1', 'target.baseURL=http://h/v1'],
    ['load..x=1', 'load..x=1'],
    ['target..apiKey=sk-x', 'target..apiKey=[redacted]'],
  ];
  for (const [set, recorded] of cases) {
    test(`${set} → ${recorded}`, () => assert.equal(redactOverride(set), recorded));
  }
});
