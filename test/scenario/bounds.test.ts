import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import { LIMITS, SOFT_LIMITS } from '../../src/scenario/schema.ts';

const scenario = (load: string, extra = '', name = 'bounds') =>
  `name: ${name}\ntarget: {baseURL: builtin${extra}}\nmodels: [m]\nload: ${load}\nprompts: [hi]\n`;

const problems = (text: string): string[] => {
  try {
    parseScenario(text, 'b.yaml', {});
    return [];
  } catch (error) {
    assert.ok(error instanceof ScenarioError, String(error));
    return error.problems;
  }
};

test('values one process cannot hold are scenario errors naming the field and why, not a crash', () => {
  const cases: [string, RegExp][] = [
    [scenario('{concurrency: [1, 1000000000], requests: 4}'), /b\.yaml: load\.concurrency\[1\]: must be at most 100,000 \(streams one process holds\)/],
    [scenario('{rate: 1000000, requests: 4}'), /b\.yaml: load\.rate: must be at most 100,000 \(arrivals per second/],
    [scenario('{rate: 2, requests: 4, maxInFlight: 1000000}'), /b\.yaml: load\.maxInFlight: must be at most 100,000/],
    [scenario('{concurrency: 1, requests: 10000000}'), /b\.yaml: load\.requests: must be at most 1,000,000 \(a cell's records are held in memory\)/],
    [scenario('{concurrency: 1, requests: 4}', ', timeout: 600h'), /b\.yaml: target\.timeout: must be at most 24 days \(Node's timers cannot wait longer\)/],
    [scenario('{concurrency: 1, duration: 1000h}'), /b\.yaml: load\.duration: must be at most 24 days/],
    [scenario('{concurrency: 1, requests: 4}', '', 'n'.repeat(300)), /b\.yaml: name: must be at most 100 characters \(it names the results folder\)/],
    [
      `name: b\ntarget: {baseURL: builtin}\nmodels: [m]\nload: {concurrency: 1, requests: 4}\nprompts: {synthetic: {inputTokens: 1000000000}}\n`,
      /b\.yaml: prompts\.synthetic\.inputTokens: must be at most 2,000,000/,
    ],
    [
      `name: b\ntarget: {baseURL: builtin, simulator: {defaults: {outputTokens: 1000000000}}}\nmodels: [m]\nload: {concurrency: 1, requests: 4}\nprompts: [hi]\n`,
      /b\.yaml: target\.simulator\.defaults\.outputTokens: must be at most 2,000,000/,
    ],
  ];
  for (const [text, expected] of cases) assert.match(problems(text).join('\n'), expected, text);
});

test('the limits themselves are allowed, past the soft limits with load.allowLargeLoad', () => {
  assert.deepEqual(problems(scenario(`{concurrency: ${LIMITS.inFlight}, requests: ${LIMITS.requestsPerCell}, allowLargeLoad: true}`, ', timeout: 596h', 'n'.repeat(LIMITS.nameChars))), []);
  assert.deepEqual(problems(scenario(`{rate: ${LIMITS.ratePerS}, duration: 10s, maxInFlight: ${LIMITS.inFlight}, allowLargeLoad: true}`)), []);
  assert.deepEqual(problems(scenario(`{concurrency: [1, ${SOFT_LIMITS.inFlight}], requests: 4}`)), []);
  assert.deepEqual(problems(scenario(`{rate: ${SOFT_LIMITS.ratePerS}, duration: 10s, maxInFlight: ${SOFT_LIMITS.inFlight}}`)), []);
});

test('past a soft limit, without load.allowLargeLoad: a scenario error that says how to go on', () => {
  const advice = 'split it over shards (--shard) or workers (--workers), or set load.allowLargeLoad: true';
  assert.deepEqual(problems(scenario('{concurrency: [1, 20000], requests: 4}')), [
    `b.yaml: load.concurrency[1]: 20,000 is more streams than one thread measures well (10,000 each); ${advice}`,
  ]);
  assert.deepEqual(problems(scenario('{rate: 50000, duration: 10s, maxInFlight: 20000}')), [
    `b.yaml: load.rate: 50,000 is more arrivals per second than one thread measures well (10,000 each); ${advice}`,
    `b.yaml: load.maxInFlight: 20,000 is more requests in flight than one thread measures well (10,000 each); ${advice}`,
  ]);
});

test('the soft limits are per reading thread: shards and workers each hold their share', () => {
  const load = '{concurrency: 40000, duration: 10s, workers: 2}';
  const parse = (options: { shards?: number; workers?: number }) => {
    try {
      parseScenario(scenario(load), 'b.yaml', {}, options);
      return [];
    } catch (error) {
      return (error as ScenarioError).problems;
    }
  };
  assert.match(parse({}).join('\n'), /40,000 is more streams than 2 threads \(shards × workers\) measure well/);
  assert.deepEqual(parse({ shards: 2 }), [], '2 shards × 2 workers: 10,000 each');
  assert.deepEqual(parse({ shards: 4, workers: 1 }), [], '--workers wins over load.workers');
  assert.equal(parse({ shards: 2, workers: 1 }).length, 1);
});
