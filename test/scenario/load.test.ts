import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { captureIo, withTempDir } from '../helpers.ts';

const VALID = `name: ok
target: {baseURL: builtin}
models: [Meta-Llama-3.3-70B-Instruct]
load: {concurrency: [1, 2], requests: 4}
prompts: ["hi"]
`;

/** Each kind of bad file, and the line(s) it must produce (`FILE` stands for the path). */
const BAD_FILES: { name: string; text: string | undefined; expected: string[]; args?: string[] }[] = [
  { name: 'a missing file', text: undefined, expected: ['FILE: cannot read the file (ENOENT)'] },
  { name: 'a YAML syntax error, with line and column', text: 'name: [\nload: 1\n', expected: ['FILE:2:1: '] },
  { name: 'a file that is not a mapping', text: '- a\n- b\n', expected: ['FILE: (top level): must be a mapping'] },
  {
    name: 'a YAML alias bomb ("billion laughs"): refused at its first alias, before it fills the heap',
    text: ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n') + '\n',
    expected: ['FILE:2:8: the YAML aliases (*name) expand too far'],
  },
  {
    name: 'a prompt file that is a directory: named with the scenario and its field',
    text: VALID.replace('["hi"]', '{file: .}'),
    expected: ['FILE: prompts.file: ', ': cannot read the prompt file (EISDIR)'],
  },
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
    name: 'an unset environment variable, with --strict (as run treats it; without, a warning)',
    text: VALID.replace('baseURL: builtin', 'baseURL: "https://x.example/v1", apiKey: "${TM_TEST_UNSET_KEY}"'),
    args: ['--strict'],
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
    name: 'both closed and open loop',
    text: VALID.replace('requests: 4', 'requests: 4, rate: 2'),
    expected: ['FILE: load: must set exactly one of concurrency (closed loop), rate or trace (open loop)'],
  },
  {
    name: 'neither a request count nor a duration',
    text: VALID.replace(', requests: 4', ''),
    expected: ['FILE: load: must set requests, duration, or both'],
  },
  {
    name: 'open-loop settings on a closed loop',
    text: VALID.replace('requests: 4', 'requests: 4, arrival: poisson, maxInFlight: 8'),
    expected: ['FILE: load.arrival: applies to open loop only (load.rate or load.trace)', 'FILE: load.maxInFlight: applies to open loop only'],
  },
  {
    name: 'a bad arrival and a bad warm-up',
    text: VALID.replace('concurrency: [1, 2], requests: 4', 'rate: [1, 2.5], duration: 10s, arrival: bursty, warmup: soon'),
    expected: ['FILE: load.arrival: must be one of constant, poisson, gamma', 'FILE: load.warmup: must be a count of requests or a duration'],
  },
  {
    name: 'burstiness without gamma arrivals',
    text: VALID.replace('concurrency: [1, 2], requests: 4', 'rate: 2, requests: 4, arrival: poisson, burstiness: 0.5'),
    expected: ['FILE: load.burstiness: applies to gamma arrivals only (load.arrival: gamma)'],
  },
  {
    name: 'a burstiness that is not positive',
    text: VALID.replace('concurrency: [1, 2], requests: 4', 'rate: 2, requests: 4, arrival: gamma, burstiness: 0'),
    expected: ['FILE: load.burstiness: must be a positive number'],
  },
  {
    name: 'bad SLO keys, each with its reason',
    text: VALID + 'slo: {ttft_p95: 500, tpot_p99_ms: 40, speed_p50_ms: 1}\n',
    expected: ['FILE: slo.ttft_p95: ttft is a time: write ttft_p95_ms', 'FILE: slo.speed_p50_ms: unknown SLO key'],
  },
  {
    name: 'a synthetic length distribution without its parameters',
    text: VALID.replace('["hi"]', '{synthetic: {inputTokens: {distribution: normal, mean: 100}}}'),
    expected: ['FILE: prompts.synthetic.inputTokens.stdev: '],
  },
  {
    name: 'a shared prefix of no tokens, placed neither in system nor in user',
    text: VALID.replace('["hi"]', '{synthetic: {count: 4, inputTokens: 10, sharedPrefix: {tokens: 0, groups: 2, as: assistant}}}'),
    expected: [
      'FILE: prompts.synthetic.sharedPrefix.tokens: must be a positive integer',
      'FILE: prompts.synthetic.sharedPrefix.as: must be one of system, user',
    ],
  },
  {
    name: 'a shared prefix with more groups than prompts (100 by default)',
    text: VALID.replace('["hi"]', '{synthetic: {inputTokens: 10, sharedPrefix: {tokens: 100, groups: 101}}}'),
    expected: ['FILE: prompts.synthetic.sharedPrefix.groups: must not exceed count (100): each group needs a prompt'],
  },
  {
    name: 'thresholds: every bad expression, with its column; one that is not a string hides none',
    text: VALID + 'thresholds: ["ttft.p100 < 5ms", 5, "bogus.p5 < 3"]\n',
    expected: ['FILE: thresholds[0]: col 6: unknown statistic "p100"', 'FILE: thresholds[1]: must be a string', 'FILE: thresholds[2]: col 1: unknown metric "bogus"'],
  },
  {
    name: 'thresholds that could never hold: an unknown model, a level not swept, goodput without an SLO',
    text: VALID + 'thresholds: ["ttft.p95{model=nope} < 1s", "ttft.p95{concurrency=3} < 1s", "ttft.p95{rate=2} < 1s", "goodput > 1"]\n',
    expected: [
      'FILE: thresholds[0]: ttft.p95{model=nope} < 1s: no model "nope" in models',
      'FILE: thresholds[1]: ttft.p95{concurrency=3} < 1s: concurrency 3 is not one of load.concurrency (1, 2)',
      'FILE: thresholds[2]: ttft.p95{rate=2} < 1s: the load is concurrency, not rate',
      'FILE: thresholds[3]: goodput > 1: goodput needs an slo',
    ],
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
        const code = await main(['validate', ...(bad.args ?? []), file], io);
        assert.equal(code, 2);
        const stderr = io.err();
        for (const expected of bad.expected) assert.ok(stderr.includes(expected.replace('FILE', file)), `missing "${expected}" in:\n${stderr}`);
        assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
        assert.equal(io.out(), '');
      }),
    );
  }
});

test('validate checks every file it is given and reports each, exit 2 when any is bad', () =>
  withTempDir(async (dir) => {
    const names = ['bomb.yaml', 'good.yaml', 'missing.yaml', 'bad-prompts.yaml', 'good2.yaml'];
    const [bomb, good, missing, badPrompts, good2] = names.map((name) => path.join(dir, name)) as [string, string, string, string, string];
    await writeFile(bomb, 'a: &a [x, x]\nb: &b [*a, *a]\n'.replace(/\n$/, '') + '\n' + Array.from({ length: 120 }, (_, i) => `k${i}: *b`).join('\n') + '\n');
    await writeFile(good, VALID);
    await writeFile(path.join(dir, 'p.jsonl'), '{"prompt": "hi"}\n{"prompt": 3}\n');
    await writeFile(badPrompts, VALID.replace('["hi"]', '{file: p.jsonl}'));
    await writeFile(good2, VALID);
    const io = captureIo();
    assert.equal(await main(['validate', bomb, good, missing, badPrompts, good2], io), 2);
    assert.match(io.err(), new RegExp(`${bomb}:\\d+:\\d+: the YAML aliases`));
    assert.match(io.err(), new RegExp(`${missing}: cannot read the file \\(ENOENT\\)`));
    assert.match(io.err(), new RegExp(`${badPrompts}: prompts\\.file: ${path.join(dir, 'p.jsonl')}:2: must have either prompt`));
    assert.equal(io.out(), `${good}: ok (1 model(s), 2 cell(s), 1 prompt(s))\n${good2}: ok (1 model(s), 2 cell(s), 1 prompt(s))\n`);
  }));

describe('scenario loading', () => {
  test('open-loop load, SLO, capacity and synthetic prompts are normalized', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'open.yaml');
      await writeFile(
        file,
        VALID.replace('concurrency: [1, 2], requests: 4', 'rate: [2, 4.5], arrival: poisson, maxInFlight: 64, duration: 30s, warmup: 5s, maxScheduleLag: 20ms, maxClientLag: 25ms, maxStartOffset: 2s')
          .replace('["hi"]', '{synthetic: {count: 10, inputTokens: {distribution: lognormal, mean: 500, stdev: 100}, outputTokens: {distribution: uniform, min: 50, max: 100}}}') +
          'seed: 9\nslo: {ttft_p95_ms: 500, decode_tokens_per_s_p5: 20, error_rate: 0.01}\ncapacity: {start: 2, tolerance: 0.5}\n',
      );
      const scenario = await loadScenario(file, {});
      assert.deepEqual(scenario.load, {
        kind: 'rate',
        levels: [2, 4.5],
        arrival: 'poisson',
        maxInFlight: 64,
        maxScheduleLagMs: 20,
        maxClientLagMs: 25,
        maxStartOffsetMs: 2000,
        durationMs: 30_000,
        warmupMs: 5000,
      });
      assert.deepEqual(scenario.prompts, {
        synthetic: true,
        count: 10,
        inputTokens: { kind: 'lognormal', mean: 500, stdev: 100, min: 1, max: 32_768 },
        outputTokens: { kind: 'uniform', min: 50, max: 100 },
      });
      assert.equal(scenario.seed, 9);
      assert.deepEqual(scenario.slo, [
        { key: 'ttft_p95_ms', metric: 'ttft', stat: 95, bound: 500, direction: 'max' },
        { key: 'decode_tokens_per_s_p5', metric: 'decode_tokens_per_s', stat: 5, bound: 20, direction: 'min' },
        { key: 'error_rate', metric: 'error_rate', bound: 0.01, direction: 'max' },
      ]);
      assert.deepEqual(scenario.capacity, { start: 2, max: 1024, tolerance: 0.5 });
    }));

  test('a shared prefix is normalized: one group and a system message unless the scenario says otherwise', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'prefix.yaml');
      const withPrefix = (prefix: string) => VALID.replace('["hi"]', `{synthetic: {count: 8, inputTokens: 300, outputTokens: 100, sharedPrefix: ${prefix}}}`);
      const normalized = (sharedPrefix: object) => ({
        synthetic: true,
        count: 8,
        inputTokens: { kind: 'fixed', value: 300 },
        outputTokens: { kind: 'fixed', value: 100 },
        sharedPrefix,
      });
      await writeFile(file, withPrefix('{tokens: 1000}'));
      assert.deepEqual((await loadScenario(file, {})).prompts, normalized({ tokens: 1000, groups: 1, as: 'system' }));
      await writeFile(file, withPrefix('{tokens: 1000, groups: 4, as: user}'));
      assert.deepEqual((await loadScenario(file, {})).prompts, normalized({ tokens: 1000, groups: 4, as: 'user' }));
    }));

  test('gamma arrivals keep their burstiness', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'gamma.yaml');
      await writeFile(file, VALID.replace('concurrency: [1, 2], requests: 4', 'rate: 4, requests: 8, arrival: gamma, burstiness: 0.25'));
      const scenario = await loadScenario(file, {});
      assert.equal(scenario.load.arrival, 'gamma');
      assert.equal(scenario.load.burstiness, 0.25);
    }));

  test('a valid file is normalized: levels as a list, prompts as messages, defaults filled', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'ok.yaml');
      await writeFile(file, VALID.replace('baseURL: builtin', 'baseURL: builtin, apiKey: "${TM_TEST_KEY}", idleTimeout: 500ms'));
      const scenario = await loadScenario(file, { TM_TEST_KEY: 'sk-secret' });
      assert.deepEqual(scenario.load, { kind: 'concurrency', levels: [1, 2], arrival: 'constant', maxInFlight: 1000, maxScheduleLagMs: 10, maxClientLagMs: 10, maxStartOffsetMs: 1000, requests: 4 });
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
});
