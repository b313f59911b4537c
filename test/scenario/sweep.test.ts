import assert from 'node:assert/strict';
import { test } from 'node:test';
import { throughputConcurrency } from '../../src/load/sweep.ts';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';

const scenario = (load: string, sweep = '') => `name: s\ntarget: {baseURL: builtin}\nmodels: [m]\nprompts: [hi]\nload: ${load}\n${sweep}`;

test("sweep's defaults: 10 rates; the throughput probe at the scenario's highest concurrency when above 1, else 256", () => {
  const cases: [string, string, { rates: number; maxConcurrency: number }][] = [
    ['{concurrency: 1, requests: 4}', '', { rates: 10, maxConcurrency: 256 }],
    ['{concurrency: [1, 32, 4], requests: 4}', '', { rates: 10, maxConcurrency: 32 }],
    ['{rate: [2, 5], requests: 4}', '', { rates: 10, maxConcurrency: 256 }],
    ['{concurrency: [1, 32], requests: 4}', 'sweep: {rates: 3, maxConcurrency: 64}\n', { rates: 3, maxConcurrency: 64 }],
    ['{concurrency: 1, requests: 4}', 'sweep: {maxConcurrency: 2}\n', { rates: 10, maxConcurrency: 2 }],
  ];
  for (const [load, sweep, expected] of cases) {
    const parsed = parseScenario(scenario(load, sweep), 's.yaml', {});
    assert.deepEqual({ rates: parsed.sweep.rates, maxConcurrency: throughputConcurrency(parsed) }, expected, `${load} ${sweep}`);
  }
});

test('a sweep block out of range: every problem at once, each with its path', () => {
  const text = scenario('{concurrency: 1, requests: 4}', 'sweep: {rates: 0, maxConcurrency: 1, steps: 3}\n');
  assert.throws(
    () => parseScenario(text, 's.yaml', {}),
    (error: unknown) => {
      assert.ok(error instanceof ScenarioError);
      const problems = error.problems.join('\n');
      assert.match(problems, /s\.yaml: sweep\.rates: must be a positive integer/);
      assert.match(problems, /s\.yaml: sweep\.maxConcurrency: must be at least 2 \(the synchronous probe is c=1\)/);
      assert.match(problems, /s\.yaml: sweep.*steps/);
      return true;
    },
  );
});

test("a throughput probe past the soft limit of streams is refused as a concurrency level is, unless load.allowLargeLoad", () => {
  const text = (allow: string) => scenario(`{concurrency: 1, requests: 4${allow}}`, 'sweep: {maxConcurrency: 20000}\n');
  assert.throws(() => parseScenario(text(''), 's.yaml', {}), /s\.yaml: sweep\.maxConcurrency: 20,000 is more streams than one thread measures well \(10,000 each\)/);
  assert.equal(throughputConcurrency(parseScenario(text(', allowLargeLoad: true'), 's.yaml', {})), 20000);
});
