import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { captureIo, runScenarioText, withTempDir } from '../helpers.ts';
import { runVirtualInto, type VirtualServerProfile } from '../virtual-server.ts';

const LLAMA = 'Meta-Llama-3.3-70B-Instruct';

/** A small run on the built-in simulator (TTFT ~100 ms, a few ms of noise); the TTFT and seed vary, the rest is fixed. */
const scenario = ({ ttftMs = 100, seed = 1, thresholds = '' }: { ttftMs?: number; seed?: number; thresholds?: string }) => `name: ci
target:
  baseURL: builtin
  simulator: {seed: ${seed}, defaults: {ttftMs: ${ttftMs}, tokensPerSecond: 1000, tokensPerChunk: [1, 4], outputTokens: [20, 40], capacity: 64}}
models: [${LLAMA}]
load: {concurrency: 8, requests: 64}
prompts: ["Tell me a story"]
${thresholds}`;

const runInto = (dir: string, name: string, text: string, env: NodeJS.ProcessEnv = {}) => runScenarioText(dir, name, text, { env });

/** The same workload on simulated time: TTFT ~100 ms with ±10% noise drawn from the seed; the rest fixed. */
const virtualRun = (dir: string, name: string, { ttftMs = 100, seed = 1 }: { ttftMs?: number; seed?: number }) =>
  runVirtualInto(
    dir,
    name,
    `name: ci\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nload: {concurrency: 8, requests: 64}\nprompts: ["Tell me a story"]\n`,
    { ttftMs, ttftJitter: 0.1, tokensPerSecond: 1000, tokensPerChunk: [1, 4], outputTokens: [20, 40], capacity: 64 } satisfies VirtualServerProfile,
    seed,
  );

describe('CI gates', () => {
  test('thresholds: run exits 99 after writing every output, and names each failing threshold with its value', () =>
    withTempDir(async (dir) => {
      const stepSummary = path.join(dir, 'step-summary.md');
      const { code, io, out } = await runInto(
        dir,
        'gate',
        scenario({ thresholds: 'thresholds:\n  - "ttft.p95 < 5ms"\n  - "tpot.count >= 64"\n  - "errors.rate < 1%"\n  - "output_tokens_per_s{concurrency=8} > 1000000"\n' }),
        { GITHUB_STEP_SUMMARY: stepSummary },
      );
      assert.equal(code, 99, io.err());
      const out1 = io.out();
      assert.match(out1, /thresholds: 2 of 4 failed/);
      assert.match(out1, /FAIL  ttft\.p95 < 5ms  \(Meta-Llama-3\.3-70B-Instruct @ c=8: \d+(\.\d+)? ms\)/);
      assert.match(out1, /FAIL  output_tokens_per_s\{concurrency=8\} > 1000000  \(Meta-Llama-3\.3-70B-Instruct @ c=8: \d+(\.\d+)? tok\/s\)/);
      assert.match(out1, /ok    tpot\.count >= 64/);
      assert.match(out1, /ok    errors\.rate < 1%  \(Meta-Llama-3\.3-70B-Instruct @ c=8: 0%\)/);
      const junit = await readFile(path.join(out, 'thresholds.junit.xml'), 'utf8');
      assert.match(junit, /<testsuites name="tokenmeter" tests="4" failures="2" errors="0">/);
      assert.match(await readFile(stepSummary, 'utf8'), /### tokenmeter: ci: 2 of 4 thresholds failed/);
      assert.ok((await readFile(path.join(out, 'summary.csv'), 'utf8')).length > 0, 'the results are written too');

      // Bounds that hold however busy the machine is: a TTFT floor (the simulator waits 100 ms) and any throughput at all.
      const passing = await runInto(dir, 'pass', scenario({ thresholds: 'thresholds: ["ttft.p95 >= 50ms", "output_tokens_per_s > 0"]\n' }));
      assert.equal(passing.code, 0, passing.io.err());
      assert.match(passing.io.out(), /thresholds: all hold/);
    }));

  test('check: a server made 30% slower to first token fails the check and names the metric', () =>
    withTempDir(async (dir) => {
      const baseline = await virtualRun(dir, 'baseline', { seed: 1 });
      const slowed = await virtualRun(dir, 'slowed', { seed: 2, ttftMs: 130 });
      const io = captureIo();
      const rules = 'ttft.p50=10%,ttft.p95=10%,tpot.p50=10%,decode_tokens_per_s.p50=10%,errors.rate=1%';
      const code = await main(['check', slowed, '--baseline', baseline, '--max-regression', rules], io);
      assert.equal(code, 99, io.out() + io.err());
      // TTFT is 30% slower; decoding is not; nothing failed, but 64 requests cannot bound 1 point of errors, nor (at 95%) a p95 of 64.
      assert.match(io.out(), /1 regression\(s\): ttft\.p50 in Meta-Llama-3\.3-70B-Instruct @ c=8 \+\d+\.\d%/);
      assert.match(io.out(), /ttft\.p95 .* inconclusive\n/);
      assert.match(io.out(), /inconclusive: ttft\.p95 in Meta-Llama-3\.3-70B-Instruct @ c=8: 64 requests cannot bound a p95: it needs at least 73 a side/);
      assert.match(io.out(), /tpot\.p50 .* ok\n/);
      assert.match(io.out(), /decode_tokens_per_s\.p50 .* ok\n/);
      assert.match(io.out(), /errors\.rate +0% +0% +\+0\.0pp .* inconclusive\n/);
      const junit = await readFile(path.join(slowed, 'check.junit.xml'), 'utf8');
      assert.match(junit, /tests="5" failures="1"/);
      assert.match(junit, /<failure message="ttft\.p50 /);
    }));

  test('check: twenty runs of the same server with different noise never flag a regression: each is ok or inconclusive (exit 97, or 0 with --inconclusive pass)', () =>
    withTempDir(async (dir) => {
      const baseline = await virtualRun(dir, 'baseline', { seed: 100 });
      for (let seed = 1; seed <= 20; seed++) {
        const run = await virtualRun(dir, `run-${seed}`, { seed });
        const io = captureIo();
        const code = await main(['check', run, '--baseline', baseline], io);
        assert.equal(code, 97, `seed ${seed}:\n${io.out()}`);
        assert.doesNotMatch(io.out(), /REGRESSION/);
        assert.match(io.out(), /no regression found, but \d+ verdict\(s\) inconclusive/);
        if (seed === 1) {
          assert.equal(await main(['check', run, '--baseline', baseline, '--inconclusive', 'pass'], captureIo()), 0);
          assert.equal(await main(['check', run, '--baseline', baseline, '--inconclusive', 'fail'], captureIo()), 99);
        }
      }
    }));

  test('check: --repeat on one side only is said, since the spread between runs then goes unmeasured', () =>
    withTempDir(async (dir) => {
      const once = await runInto(dir, 'once', scenario({}));
      const repeated = await runScenarioText(dir, 'repeated', scenario({}), { args: ['--repeat', '2'] });
      assert.equal(repeated.code, 0, repeated.io.err());
      const io = captureIo();
      await main(['check', once.out, '--baseline', repeated.out, '--inconclusive', 'pass'], io);
      assert.match(io.err(), /warning: the baseline has --repeat runs and .*once has not: the spread between runs is not measured/);
      const both = captureIo();
      await main(['check', repeated.out, '--baseline', repeated.out, '--inconclusive', 'pass'], both);
      assert.doesNotMatch(both.err(), /has --repeat runs/);
    }));

  test('check: runs of different scenarios are refused with the differences listed (exit 2), unless --allow-different', () =>
    withTempDir(async (dir) => {
      const baseline = await virtualRun(dir, 'baseline', { seed: 1 });
      const other = await runVirtualInto(
        dir,
        'other',
        `name: ci\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${LLAMA}]\nload: {concurrency: 8, requests: 64}\nprompts: ["Tell me a joke"]\nparams: {max_tokens: 64}\n`,
        { ttftMs: 100, ttftJitter: 0.1, tokensPerSecond: 1000, tokensPerChunk: [1, 4], outputTokens: [20, 40], capacity: 64 },
        2,
      );
      const io = captureIo();
      assert.equal(await main(['check', other, '--baseline', baseline], io), 2);
      assert.match(io.err(), /runs of different scenarios \(run\.json differs at [^)]*prompts\[0\][^)]*\)/);
      assert.match(io.err(), /params/);
      const allowed = captureIo();
      assert.notEqual(await main(['check', other, '--baseline', baseline, '--allow-different'], allowed), 2, allowed.err());
    }));

  test('check: an invalid cell is never ok, at best inconclusive with its reason', () =>
    withTempDir(async (dir) => {
      const baseline = await virtualRun(dir, 'baseline', { seed: 1 });
      const run = await virtualRun(dir, 'run', { seed: 2 });
      const summaryFile = path.join(run, 'summary.json');
      const summary = JSON.parse(await readFile(summaryFile, 'utf8'));
      summary.cells[0].invalid = 'client event-loop delay p99 31 ms > 10 ms';
      await writeFile(summaryFile, JSON.stringify(summary));
      const io = captureIo();
      assert.equal(await main(['check', run, '--baseline', baseline, '--max-regression', 'ttft.p50=10%'], io), 97, io.out());
      assert.match(io.out(), /ttft\.p50 .* inconclusive\n/);
      assert.match(io.out(), /inconclusive: ttft\.p50 in .*: invalid in this run: client event-loop delay p99 31 ms > 10 ms/);
    }));

  test('check: a cell whose requests all fail, and a cell that did not run, are regressions', () =>
    withTempDir(async (dir) => {
      const line = (concurrency: number, ok: boolean, ttft: number) =>
        JSON.stringify({ model: 'm', concurrency, warmup: false, outcome: ok ? 'ok' : 'error', ttft_ms: ok ? ttft : null }) + '\n';
      // A results folder around hand-written requests: check reads every file, but compares only requests.jsonl.
      const folder = async (name: string, lines: string[]) => {
        await mkdir(path.join(dir, name));
        await writeFile(path.join(dir, name, 'run.json'), JSON.stringify({ completed: true, scenario: { name } }));
        await writeFile(path.join(dir, name, 'summary.json'), JSON.stringify({ cells: [] }));
        await writeFile(path.join(dir, name, 'histograms.json'), JSON.stringify({ format: 'hdrhistogram-compressed-base64', cells: [] }));
        await writeFile(path.join(dir, name, 'requests.jsonl'), lines.join(''));
        return path.join(dir, name);
      };
      const baseline = await folder('base', [...Array.from({ length: 40 }, (_, i) => line(4, true, 100 + i)), ...Array.from({ length: 40 }, (_, i) => line(8, true, 100 + i))]);
      const current = await folder('now', Array.from({ length: 40 }, () => line(4, false, 0)));
      const io = captureIo();
      assert.equal(await main(['check', current, '--baseline', baseline], io), 99, io.err());
      assert.match(io.out(), /m @ c=4 +errors\.rate +0% +100% +\+100\.0pp .* REGRESSION/);
      assert.match(io.out(), /2 regression\(s\): errors\.rate in m @ c=4 \+100\.0pp; m @ c=8 is in the baseline but not in this run/);
    }));

  test('check: bad arguments are usage errors (exit 2)', () =>
    withTempDir(async (dir) => {
      const io = captureIo();
      assert.equal(await main(['check', path.join(dir, 'a'), '--baseline', path.join(dir, 'b')], io), 2);
      assert.match(io.err(), /run\.json: cannot read it \(ENOENT\)/);
      const rule = captureIo();
      assert.equal(await main(['check', dir, '--baseline', dir, '--max-regression', 'ttft=10%'], rule), 2);
      assert.match(rule.err(), /--max-regression: "ttft=10%" must be METRIC\.pNN=N%/);
    }));
});
