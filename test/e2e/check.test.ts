import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { captureIo, runScenarioText, withTempDir } from '../helpers.ts';

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

describe('CI gates', () => {
  test('thresholds: run exits 99 after writing every output, and names each failing threshold with its value', () =>
    withTempDir(async (dir) => {
      const stepSummary = path.join(dir, 'step-summary.md');
      const { code, io, out } = await runInto(
        dir,
        'gate',
        scenario({ thresholds: 'thresholds:\n  - "ttft.p95 < 5ms"\n  - "tpot.p99 <= 40ms"\n  - "errors.rate < 1%"\n  - "output_tokens_per_s{concurrency=8} > 1000000"\n' }),
        { GITHUB_STEP_SUMMARY: stepSummary },
      );
      assert.equal(code, 99, io.err());
      const out1 = io.out();
      assert.match(out1, /thresholds: 2 of 4 failed/);
      assert.match(out1, /FAIL  ttft\.p95 < 5ms  \(Meta-Llama-3\.3-70B-Instruct @ c=8: \d+(\.\d+)? ms\)/);
      assert.match(out1, /FAIL  output_tokens_per_s\{concurrency=8\} > 1000000  \(Meta-Llama-3\.3-70B-Instruct @ c=8: \d+(\.\d+)? tok\/s\)/);
      assert.match(out1, /ok    tpot\.p99 <= 40ms/);
      assert.match(out1, /ok    errors\.rate < 1%  \(Meta-Llama-3\.3-70B-Instruct @ c=8: 0%\)/);
      const junit = await readFile(path.join(out, 'thresholds.junit.xml'), 'utf8');
      assert.match(junit, /<testsuites name="tokenmeter" tests="4" failures="2" errors="0">/);
      assert.match(await readFile(stepSummary, 'utf8'), /### tokenmeter: ci: 2 of 4 thresholds failed/);
      assert.ok((await readFile(path.join(out, 'summary.csv'), 'utf8')).length > 0, 'the results are written too');

      const passing = await runInto(dir, 'pass', scenario({ thresholds: 'thresholds: ["ttft.p95 < 2s", "output_tokens_per_s > 1"]\n' }));
      assert.equal(passing.code, 0, passing.io.err());
      assert.match(passing.io.out(), /thresholds: all hold/);
    }));

  test('check: a simulator made 30% slower to first token fails the check and names the metric', () =>
    withTempDir(async (dir) => {
      const baseline = await runInto(dir, 'baseline', scenario({ seed: 1 }));
      const slowed = await runInto(dir, 'slowed', scenario({ seed: 2, ttftMs: 130 }));
      assert.equal(baseline.code, 0);
      assert.equal(slowed.code, 0);
      const io = captureIo();
      // The median, and the p95, which a few slow outliers on a busy machine can widen past the margin.
      const rules = 'ttft.p50=10%,ttft.p95=10%,tpot.p50=10%,decode_tokens_per_s.p50=10%,errors.rate=1%';
      const code = await main(['check', slowed.out, '--baseline', baseline.out, '--max-regression', rules], io);
      assert.equal(code, 99, io.out() + io.err());
      // TTFT is 30% slower; decoding is not, and nothing failed.
      assert.match(io.out(), /regression\(s\): ttft\.p50 in Meta-Llama-3\.3-70B-Instruct @ c=8 \+\d+\.\d%/);
      assert.match(io.out(), /tpot\.p50 .* ok\n/);
      assert.match(io.out(), /decode_tokens_per_s\.p50 .* ok\n/);
      assert.match(io.out(), /errors\.rate +0% +0% +\+0\.0pp .* ok\n/);
      const regressions = io.out().match(/REGRESSION\n/g)!.length;
      const junit = await readFile(path.join(slowed.out, 'check.junit.xml'), 'utf8');
      assert.match(junit, new RegExp(`tests="5" failures="${regressions}"`));
      assert.match(junit, /<failure message="ttft\.p50 /);
    }));

  test('check: twenty runs of the same simulator with different seeds never flag a regression', () =>
    withTempDir(async (dir) => {
      const baseline = await runInto(dir, 'baseline', scenario({ seed: 100 }));
      assert.equal(baseline.code, 0);
      for (let seed = 1; seed <= 20; seed++) {
        const run = await runInto(dir, `run-${seed}`, scenario({ seed }));
        const io = captureIo();
        const code = await main(['check', run.out, '--baseline', baseline.out], io);
        assert.equal(code, 0, `seed ${seed} flagged:\n${io.out()}`);
      }
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
