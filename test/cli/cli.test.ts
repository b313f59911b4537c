import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { createOutputDir, utcStamp } from '../../src/cli/files.ts';
import { scenarioJsonSchema } from '../../src/scenario/json-schema.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { startSimulator } from '../../src/sim/server.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, REPO_ROOT, withTempDir } from '../helpers.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'tokenmeter.js');

/** Runs the real executable; resolves with its exit code and output. */
function runBin(args: string[], options: { cwd?: string; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      options.onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const FAST_SIM = `  simulator:
    defaults: {ttftMs: 5, tokensPerSecond: 2000, tokensPerChunk: [2, 4], outputTokens: [20, 30], capacity: 64}
`;

describe('the command line', () => {
  for (const command of ['run', 'capacity', 'check', 'compare', 'report', 'validate', 'sim']) {
    test(`${command} --help says what it does, with an example`, async () => {
      const io = captureIo();
      await main([command, '--help'], io);
      assert.match(io.out(), new RegExp(`tokenmeter ${command}`));
      assert.match(io.out(), /Examples:/);
    });
  }

  test('an unknown command is a usage error, exit 2', async () => {
    const io = captureIo();
    assert.equal(await main(['frobnicate'], io), 2);
  });

  test('every example scenario loads', async () => {
    const dir = path.join(REPO_ROOT, 'scenarios');
    const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f));
    assert.ok(files.includes('quickstart.yaml') && files.includes('sambanova.yaml'));
    for (const file of files) {
      const scenario = await loadScenario(path.join(dir, file), { SAMBANOVA_API_KEY: 'k', SAMBANOVA_BASE_URL: 'https://api.sambanova.ai/v1' });
      assert.ok(scenario.models.length > 0, file);
    }
  });

  test('validate checks every file it is given; an unset ${VAR} is a warning naming it, exit 0', async () => {
    const io = captureIo({});
    const code = await main(['validate', path.join(REPO_ROOT, 'scenarios', 'sambanova.yaml'), path.join(REPO_ROOT, 'scenarios', 'quickstart.yaml')], io);
    assert.equal(code, 0, io.err());
    assert.match(io.err(), /^warning: .*sambanova\.yaml: target\.apiKey: environment variable SAMBANOVA_API_KEY is not set \(run refuses it\)$/m);
    assert.match(io.out(), /sambanova\.yaml: ok \(2 model\(s\), /);
    assert.match(io.out(), /quickstart\.yaml: ok \(1 model\(s\), 3 cell\(s\), 2 prompt\(s\)\)/);
  });

  test('validate --strict makes an unset ${VAR} an error, exit 2, and goes on to the next file', async () => {
    const io = captureIo({});
    const code = await main(['validate', '--strict', path.join(REPO_ROOT, 'scenarios', 'sambanova.yaml'), path.join(REPO_ROOT, 'scenarios', 'quickstart.yaml')], io);
    assert.equal(code, 2);
    assert.match(io.err(), /^\S*sambanova\.yaml: target\.apiKey: environment variable SAMBANOVA_API_KEY is not set$/m);
    assert.doesNotMatch(io.err(), /warning/);
    assert.match(io.out(), /quickstart\.yaml: ok/);
  });

  test('validate without --strict still fails a field that is invalid once its unset ${VAR} reads as empty', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 's.yaml');
      await writeFile(file, 'name: s\ntarget: {baseURL: "${TM_UNSET_URL}"}\nmodels: [m]\nload: {concurrency: [1]}\nprompts: [hi]\n');
      const io = captureIo({});
      assert.equal(await main(['validate', file], io), 2);
      assert.match(io.err(), /target\.baseURL: environment variable TM_UNSET_URL is not set, and read as empty the value must be "builtin" or an http\(s\) URL/);
    }));

  test('run still refuses an unset ${VAR}: exit 2, nothing sent', () =>
    withTempDir(async (dir) => {
      const io = captureIo({});
      assert.equal(await main(['run', path.join(REPO_ROOT, 'scenarios', 'sambanova.yaml'), '--out', path.join(dir, 'out')], io), 2);
      assert.match(io.err(), /target\.apiKey: environment variable SAMBANOVA_API_KEY is not set/);
    }));

  test('the committed JSON Schema is the one the zod schema generates (run `npm run schema`)', async () => {
    const committed = await readFile(path.join(REPO_ROOT, 'schema', 'scenario.schema.json'), 'utf8');
    assert.equal(committed, scenarioJsonSchema());
  });

  test('a run never overwrites an earlier one', () =>
    withTempDir(async (dir) => {
      const when = new Date('2026-11-26T10:00:00Z');
      assert.equal(utcStamp(when), '20261126T100000Z');
      const first = await createOutputDir(undefined, 'x', when, dir);
      const second = await createOutputDir(undefined, 'x', when, dir);
      assert.equal(path.basename(first), '20261126T100000Z-x');
      assert.equal(path.basename(second), '20261126T100000Z-x-2');
      await writeFile(path.join(first, 'summary.csv'), 'old');
      await assert.rejects(createOutputDir(first, 'x', when, dir), /not empty/);
      const file = path.join(first, 'summary.csv');
      await assert.rejects(createOutputDir(file, 'x', when, dir), { name: 'UsageError', message: `--out ${file}: is a file, not a directory; name a new or empty directory` });
    }));

  test('run on the built-in simulator writes every file and prints the table; the key stays secret', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 's.yaml');
      await writeFile(
        file,
        `name: tiny\ntarget:\n  baseURL: builtin\n  apiKey: \${TM_SECRET}\n${FAST_SIM}models: [Meta-Llama-3.3-70B-Instruct]\nload: {concurrency: [1, 4], requests: 8}\nprompts: [hi]\n`,
      );
      const io = captureIo({ TM_SECRET: 'sk-very-secret-value' });
      const out = path.join(dir, 'out');
      assert.equal(await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io), 0, io.err());
      assert.deepEqual((await readdir(out)).sort(), [
        'histograms.csv',
        'histograms.json',
        'report.html',
        'requests.jsonl',
        'run.json',
        'summary.csv',
        'summary.json',
      ]);
      const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
      assert.equal(run.completed, true);
      assert.equal(run.scenario.target.apiKey, '[redacted]');
      assert.equal(run.node, process.version);
      for (const name of await readdir(out)) {
        assert.ok(!(await readFile(path.join(out, name), 'utf8')).includes('sk-very-secret-value'), name);
      }
      assert.match(io.out(), /Meta-Llama-3.3-70B-Instruct\s+c=1\s+8\/8/);
      assert.match(io.out(), /Meta-Llama-3.3-70B-Instruct\s+c=4\s+8\/8/);
      const lines = await readRequests(out);
      assert.equal(lines.length, 1 + 8 + 4 + 8, 'warm-up defaults to one request per slot');
    }));

  test('the default output directory is results/<UTC time>-<name>/', () =>
    withTempDir(async (dir) => {
      await mkdir(path.join(dir, 'scenarios'));
      await writeFile(
        path.join(dir, 'scenarios', 's.yaml'),
        `name: named\ntarget:\n  baseURL: builtin\n${FAST_SIM}models: [m]\nload: {concurrency: 1, requests: 2, warmup: 0}\nprompts: [hi]\n`,
      );
      const result = await runBin(['run', 'scenarios/s.yaml', ...NOT_ABOUT_CLIENT_HEALTH], { cwd: dir });
      assert.equal(result.code, 0, result.stderr);
      const [runDir] = await readdir(path.join(dir, 'results'));
      assert.match(runDir!, /^\d{8}T\d{6}Z-named$/);
      // No tokenizer is known for "m": the built-in simulator's own tokenize endpoint counts it, exactly.
      assert.doesNotMatch(result.stderr, /no tokenizer known/);
      const lines = await readRequests<{ tokenizer: string; token_source: string; approximate: boolean }>(path.join(dir, 'results', runDir!));
      assert.ok(lines.length > 0 && lines.every((line) => line.tokenizer === 'server' && line.token_source === 'tokenizer' && !line.approximate), JSON.stringify(lines[0]));
    }));

  test('a bad scenario exits 2 from the real executable, without a stack trace', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'bad.yaml');
      await writeFile(file, 'name: x\nload: {concurrency: [1, 0], requests: 1}\n');
      const result = await runBin(['run', file]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /load\.concurrency\[1\]: must be a positive integer/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }));

  test('Ctrl-C stops the run, writes what was gathered, marks it incomplete, exits 130', () =>
    withTempDir(async (dir) => {
      // An external simulator, so the test can tell when requests have finished instead of guessing a delay.
      const sim = await startSimulator(
        { seed: 1, defaults: { ttftMs: 20, tokensPerSecond: 200, tokensPerChunk: 2, outputTokens: 40, capacity: 64, usageExtraTokens: 0 }, models: {} },
        { keepTruth: true },
      );
      try {
        const file = path.join(dir, 'long.yaml');
        await writeFile(
          file,
          `name: long\ntarget: {baseURL: "${sim.baseURL}"}\nmodels: [Meta-Llama-3.3-70B-Instruct]\nload: {concurrency: 4, requests: 1000}\nprompts: [hi]\n`,
        );
        const out = path.join(dir, 'out');
        const child = spawn(process.execPath, [BIN, 'run', file, '--out', out], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        const finished = () => sim.truth.filter((t) => t.finished && !t.requestId?.startsWith('preflight-')).length;
        while (finished() < 12 && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
        const finishedAtSignal = finished();
        child.kill('SIGINT');
        assert.equal(await exited, 130, stderr);
        const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
        assert.equal(run.completed, false);
        assert.match(run.incomplete_reason, /^interrupted \(Ctrl-C/);
        const lines = await readRequests(out);
        const ok = lines.filter((l) => l.outcome === 'ok').length;
        const interrupted = lines.filter((l) => l.error?.class === 'interrupted').length;
        // An answer the server finished may still be on its way when the signal lands, and is then cut:
        // at most the 4 in flight.
        assert.ok(ok >= finishedAtSignal - 4 && finishedAtSignal >= 12, `the requests that completed are there (${ok} of ${finishedAtSignal})`);
        assert.ok(interrupted >= 1 && interrupted <= 4, `requests in flight were recorded as interrupted (${interrupted})`);
        const recorded = new Set(lines.map((l) => l.id));
        const preflight = sim.truth.filter((t) => t.requestId?.startsWith('preflight-'));
        assert.equal(preflight.length, 1, 'one preflight request');
        assert.ok(sim.truth.every((t) => recorded.has(t.requestId) || preflight.includes(t)), 'every request the server saw is recorded');
        assert.match(stdout, /TTFT ms/);
      } finally {
        await sim.close();
      }
    }));

  test('a second Ctrl-C quits at once, exit 130, and leaves no temporary file', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'long.yaml');
      await writeFile(file, `name: long\ntarget:\n  baseURL: builtin\n${FAST_SIM}models: [m]\nload: {concurrency: 4, requests: 100000}\nprompts: [hi]\n`);
      const out = path.join(dir, 'out');
      let signalled = 0;
      // The first Ctrl-C once the run is under way, the second as soon as it says it is stopping:
      // whether that finds files still being written or the run already done, no .tmp file may stay.
      const result = await runBin(['run', file, '--out', out], {
        onStderr: (text, child) => {
          if (signalled === 0 && text.includes('writing')) child.kill('SIGINT'), (signalled = 1);
          else if (signalled === 1 && text.includes('stopping')) child.kill('SIGINT'), (signalled = 2);
        },
      });
      assert.equal(signalled, 2, result.stderr);
      assert.equal(result.code, 130, result.stderr);
      const left = await readdir(out).catch(() => [] as string[]);
      assert.deepEqual(left.filter((name) => name.endsWith('.tmp')), [], `left in ${out}: ${left.join(', ')}`);
    }));
});
