import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import {
  DEFAULT_BUILTIN_MODEL,
  DEFAULT_QUICK_MAX_TOKENS,
  DEFAULT_QUICK_PROMPT,
  DEFAULT_QUICK_REQUESTS,
  QUICK_SCENARIO_FILE,
  redactArgv,
  scenarioFromArgs,
} from '../../src/cli/quick-scenario.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { startSimulator } from '../../src/sim/server.ts';
import { DEFAULT_SIM_PROFILE } from '../../src/types.ts';
import { captureIo, readRequests, REPO_ROOT, withTempDir } from '../helpers.ts';

const QUICKSTART = path.join(REPO_ROOT, 'scenarios', 'quickstart.yaml');

describe('a quick run from flags is the scenario an equivalent file gives', () => {
  test('every flag maps to its field, through the same schema and defaults', async () => {
    const env = { TM_QUICK_KEY: 'k' };
    const quick = await scenarioFromArgs(
      {
        quick: {
          baseUrl: 'http://localhost:8000/v1',
          model: ['a', 'b'],
          concurrency: '1,8',
          requests: '64',
          api: 'completions',
          provider: 'vllm',
          apiKeyEnv: 'TM_QUICK_KEY',
          prompt: ['hello', 'bye'],
          maxTokens: '32',
        },
        set: ['params.temperature=0'],
      },
      env,
    );
    const file = parseScenario(
      `name: quick
target: {baseURL: "http://localhost:8000/v1", api: completions, provider: vllm, apiKey: "\${TM_QUICK_KEY}"}
models: [a, b]
load: {concurrency: [1, 8], requests: 64}
prompts:
  - {messages: [{role: user, content: hello}], max_tokens: 32}
  - {messages: [{role: user, content: bye}], max_tokens: 32}
`,
      QUICK_SCENARIO_FILE,
      env,
      { overrides: ['params.temperature=0'] },
    );
    assert.deepEqual(quick, file);
    assert.equal(quick.target.apiKey, 'k');
    assert.deepEqual(quick.load.levels, [1, 8]);
    assert.deepEqual(quick.params, { temperature: 0 });
  });

  test('--base-url builtin alone: the simulator, one model, concurrency 1, the default prompt and counts', async () => {
    const quick = await scenarioFromArgs({ quick: { baseUrl: 'builtin' } }, {});
    const file = parseScenario(
      `name: quick
target: {baseURL: builtin}
models: [${DEFAULT_BUILTIN_MODEL}]
load: {concurrency: 1, requests: ${DEFAULT_QUICK_REQUESTS}}
prompts: [{messages: [{role: user, content: "${DEFAULT_QUICK_PROMPT}"}], max_tokens: ${DEFAULT_QUICK_MAX_TOKENS}}]
`,
      QUICK_SCENARIO_FILE,
      {},
    );
    assert.deepEqual(quick, file);
    assert.equal(quick.name, 'quick');
    assert.equal(quick.file, '(command line)');
  });

  test('--rate with --duration is an open loop with no request count', async () => {
    const quick = await scenarioFromArgs({ quick: { baseUrl: 'builtin', rate: '2,4.5', duration: '10s' } }, {});
    assert.equal(quick.load.kind, 'rate');
    assert.deepEqual(quick.load.levels, [2, 4.5]);
    assert.equal(quick.load.durationMs, 10_000);
    assert.equal(quick.load.requests, undefined);
  });
});

describe('bad flags and --sets exit 2, naming them', () => {
  const cases: [string[], RegExp][] = [
    [['run', '--base-url', 'builtin', '--concurrency', '0'], /\(command line\): load\.concurrency: must be a positive integer \(from --concurrency 0\)/],
    [['run', '--base-url', 'builtin', '--concurrency', '1,1'], /load\.concurrency: must not list a level twice \(from --concurrency 1,1\)/],
    [['run', '--base-url', 'builtin', '--requests', 'many'], /load\.requests: must be a positive integer \(from --requests many\)/],
    [['run', '--base-url', 'builtin', '--api', 'chatt'], /target\.api: must be one of chat, .* \(from --api chatt\)/],
    [['run', '--base-url', 'builtin', '--provider', 'acme'], /target\.provider: must be one of .* \(from --provider acme\)/],
    [['run', '--base-url', 'builtin', '--max-tokens', '0'], /prompts\[0\]\.max_tokens: must be a positive integer \(from --max-tokens 0\)/],
    [['run', '--base-url', 'builtin', '--duration', 'soon'], /load\.duration: must be a duration .*\(from --duration soon\)/],
    [['run', '--base-url', 'ftp://host', '--model', 'm'], /target\.baseURL: must be "builtin" or an http\(s\) URL \(from --base-url ftp:\/\/host\)/],
    [['run', '--base-url', 'http://h/v1', '--model', 'm', '--api-key-env', 'TM_UNSET_KEY'], /target\.apiKey: environment variable TM_UNSET_KEY is not set \(from --api-key-env TM_UNSET_KEY\)/],
    [['run', '--base-url', 'http://h/v1', '--model', 'm', '--api-key-env', 'sk-abc'], /--api-key-env must name an environment variable/],
    [['run', '--base-url', 'http://h/v1'], /--model is required with --base-url/],
    [['run', '--model', 'm'], /a quick run needs --base-url/],
    [['run'], /name a scenario file, or give --base-url and --model/],
    [['run', '--base-url', 'builtin', '--concurrency', '2', '--rate', '1'], /--concurrency \(closed loop\) and --rate \(open loop\) exclude each other/],
    [['run', '--base-url', 'builtin', '--prompt', ' '], /--prompt must not be empty/],
    [['run', QUICKSTART, '--model', 'm', '--requests', '3'], /--model, --requests: only for a quick run, without a scenario file; .* use --set/],
    [['run', '--base-url', 'builtin', '--set', 'load.requestz=1'], /\(command line\): load\.requestz: unknown key \(from --set load\.requestz=1\)/],
    [['run', QUICKSTART, '--set', 'load.requests=0'], /quickstart\.yaml: load\.requests: must be a positive integer \(from --set load\.requests=0\)/],
    [['run', QUICKSTART, '--set', 'models[3]=x'], /quickstart\.yaml: --set models\[3\]=x: models has 1 item\(s\)/],
    [['validate', QUICKSTART, '--set', 'load.rate=2'], /quickstart\.yaml: load: must set exactly one of concurrency .*\(from --set load\.rate=2\)/],
    [['capacity', QUICKSTART, '--set', 'load.requests=-2'], /load\.requests: must be a positive integer \(from --set load\.requests=-2\)/],
    [['capacity', '--base-url', 'builtin'], /\(command line\): slo: capacity needs an SLO/],
  ];
  for (const [argv, expected] of cases) {
    test(argv.map((arg) => (arg === QUICKSTART ? 'quickstart.yaml' : arg)).join(' '), async () => {
      const io = captureIo({});
      assert.equal(await main(argv, io), 2, io.err());
      assert.match(io.err(), expected);
      assert.doesNotMatch(io.err(), /\n\s+at /, 'no stack trace');
    });
  }

  test('validate applies the same --sets to every file', async () => {
    const io = captureIo({});
    const code = await main(['validate', QUICKSTART, '--set', 'load.concurrency=', '--set', 'load.rate=[1, 2]', '--set', 'models[0].tokenizer=llama3'], io);
    assert.equal(code, 0, io.err());
    assert.match(io.out(), /quickstart\.yaml: ok \(1 model\(s\), 2 cell\(s\), 2 prompt\(s\)\)/);
  });
});

describe('secrets on the command line', () => {
  test('the key named by --api-key-env reaches the server, and no output file or message', () =>
    withTempDir(async (dir) => {
      const secret = 'sk-quick-run-secret-4711';
      const headerSecret = 'trace-header-secret-0815';
      const sim = await startSimulator(
        { seed: 1, defaults: { ...DEFAULT_SIM_PROFILE, ttftMs: 1, tokensPerSecond: 5000, outputTokens: 8 }, models: {} },
        { apiKey: secret, keepTruth: true },
      );
      try {
        const out = path.join(dir, 'out');
        const argv = [
          'run',
          '--base-url',
          sim.baseURL,
          '--model',
          'm',
          '--api-key-env',
          'TM_QUICK_KEY',
          '--concurrency',
          '1,2',
          '--requests',
          '3',
          '--max-tokens',
          '8',
          '--set',
          'load.maxClientLag=60s',
          '--set',
          'load.maxClientUtilization=1',
          '--set',
          `target.headers.X-Trace=${headerSecret}`,
          '--out',
          out,
        ];
        const io = captureIo({ TM_QUICK_KEY: secret });
        assert.equal(await main(argv, io), 0, io.err());
        // The simulator answers 401 to any other key: every request got through with it.
        const lines = await readRequests(out);
        assert.equal(lines.length, 1 + 3 + 2 + 3, 'a warm-up request per slot, then 3 measured, at c=1 and c=2');
        assert.ok(lines.every((line) => line.outcome === 'ok'), JSON.stringify(lines[0]));
        // …and the preflight request, which carries the key too.
        assert.equal(sim.truth.length, lines.length + 1);
        assert.equal(sim.truth.filter((t) => t.requestId?.startsWith('preflight-')).length, 1);

        const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
        assert.equal(run.scenario.name, 'quick');
        assert.equal(run.scenario.target.apiKey, '[redacted]');
        assert.deepEqual(run.scenario.overrides, ['load.maxClientLag=60s', 'load.maxClientUtilization=1', 'target.headers.X-Trace=[redacted]']);
        assert.deepEqual(run.argv, redactArgv(argv));
        assert.ok(run.argv.includes('target.headers.X-Trace=[redacted]'));
        for (const name of await readdir(out)) {
          const text = await readFile(path.join(out, name), 'utf8');
          assert.ok(!text.includes(secret) && !text.includes(headerSecret), name);
        }
        assert.ok(![io.out(), io.err()].some((text) => text.includes(secret) || text.includes(headerSecret)));
      } finally {
        await sim.close();
      }
    }));

  test('redactArgv hides the values of --sets that touch secrets, in both spellings', () => {
    assert.deepEqual(
      redactArgv(['run', 'f.yaml', '--set', 'target.apiKey=${K}', '--set=target.headers.A=b', '--set', 'load.requests=2', '--prompt', 'x=y']),
      ['run', 'f.yaml', '--set', 'target.apiKey=[redacted]', '--set=target.headers.A=[redacted]', '--set', 'load.requests=2', '--prompt', 'x=y'],
    );
  });

  test('run.json of a file run records its --sets', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 's.yaml');
      await writeFile(
        file,
        `name: sets\ntarget:\n  baseURL: builtin\n  simulator:\n    defaults: {ttftMs: 1, tokensPerSecond: 5000, outputTokens: 8, capacity: 64}\nmodels: [m]\nload: {concurrency: 1, requests: 50}\nprompts: [hi]\n`,
      );
      const out = path.join(dir, 'out');
      const io = captureIo({});
      assert.equal(await main(['run', file, '--set', 'load.requests=2', '--set', 'load.maxClientLag=60s', '--set', 'load.maxClientUtilization=1', '--out', out], io), 0, io.err());
      const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
      assert.deepEqual(run.scenario.overrides, ['load.requests=2', 'load.maxClientLag=60s', 'load.maxClientUtilization=1']);
      assert.equal(run.scenario.load.requests, 2);
      assert.equal((await readRequests(out)).length, 1 + 2, 'one warm-up request, then the 2 measured');
    }));
});
