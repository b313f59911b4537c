/**
 * A ramp's and a trace's cells keep their identity across runs: a trace is the same scenario at
 * another path when its bytes are the same (check, merge), and a ramp is never the steady cell of
 * its starting rate (check, compare). Runs on the virtual server: simulated time, exact.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { scenarioDifferences } from '../../src/merge.ts';
import { captureIo, withTempDir } from '../helpers.ts';
import { runVirtualInto, type VirtualServerProfile } from '../virtual-server.ts';

const MODEL = 'Meta-Llama-3.3-70B-Instruct';
const PROFILE: VirtualServerProfile = { ttftMs: 50, ttftJitter: 0.1, tokensPerSecond: 1000, tokensPerChunk: [1, 3], outputTokens: [10, 20], capacity: 64 };

/** 31 arrivals over 3 s (10 req/s as recorded, 20 at ×2), token lines. */
const traceText = (outputTokens = 8) =>
  Array.from({ length: 31 }, (_, i) => JSON.stringify({ timestamp: i / 10, input_tokens: 20, output_tokens: outputTokens })).join('\n') + '\n';

const traceScenario = (file: string) => `name: replay\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${MODEL}]\nload: {trace: {file: "${file}", speedup: [1, 2]}}\nseed: 3\n`;

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

test("a trace's bytes at another path are the same scenario: check compares the runs and merge merges them; one changed byte is another trace", () =>
  withTempDir(async (dir) => {
    for (const checkout of ['checkout-a', 'checkout-b']) {
      await mkdir(path.join(dir, checkout));
      await writeFile(path.join(dir, checkout, 'trace.jsonl'), traceText());
    }
    await writeFile(path.join(dir, 'other.jsonl'), traceText(9));
    const baseline = await runVirtualInto(dir, 'baseline', traceScenario(path.join(dir, 'checkout-a', 'trace.jsonl')), PROFILE, 1);
    const moved = await runVirtualInto(dir, 'moved', traceScenario(path.join(dir, 'checkout-b', 'trace.jsonl')), PROFILE, 2);
    const other = await runVirtualInto(dir, 'other', traceScenario(path.join(dir, 'other.jsonl')), PROFILE, 2);
    const movedRun = await readJson(path.join(moved, 'run.json'));
    assert.equal(movedRun.scenario.prompts.file, path.join(dir, 'checkout-b', 'trace.jsonl'));
    assert.equal(movedRun.scenario.load.trace.file, path.join(dir, 'checkout-b', 'trace.jsonl'));

    const same = captureIo();
    const code = await main(['check', moved, '--baseline', baseline, '--inconclusive', 'pass'], same);
    assert.doesNotMatch(same.err(), /different scenarios/);
    assert.notEqual(code, ExitCode.CONFIG_ERROR, same.err());
    // Each trace cell by its speed-up, in the terminal, check.md and the JUnit file; none missing, none new.
    for (const text of [same.out(), await readFile(path.join(moved, 'check.md'), 'utf8'), await readFile(path.join(moved, 'check.junit.xml'), 'utf8')]) {
      assert.match(text, new RegExp(`${MODEL} @ trace ×1 \\(10 req/s\\)`));
      assert.match(text, new RegExp(`${MODEL} @ trace ×2 \\(20 req/s\\)`));
      assert.doesNotMatch(text, /@ (10|20) req\/s/);
    }
    assert.doesNotMatch(same.err(), /not in the baseline/);

    const merged = captureIo();
    assert.equal(await main(['merge', baseline, moved, '--out', path.join(dir, 'merged')], merged), ExitCode.OK, merged.err());
    const summary = await readJson(path.join(dir, 'merged', 'summary.json'));
    assert.deepEqual(
      summary.cells.filter((cell: { repeat?: number }) => cell.repeat === undefined).map((cell: { load: unknown; requests: number }) => [cell.load, cell.requests]),
      // Each run measures 30 of the 31 lines: the first is its warm-up.
      [
        [{ kind: 'rate', value: 10, trace: { speedup: 1 } }, 60],
        [{ kind: 'rate', value: 20, trace: { speedup: 2 } }, 60],
      ],
    );

    // histograms.json names each cell by its speed-up too: a folder whose two files disagree on it is not one run.
    const histograms = await readJson(path.join(moved, 'histograms.json'));
    histograms.cells[1].trace_speedup = 3;
    await writeFile(path.join(moved, 'histograms.json'), JSON.stringify(histograms));
    const mismatched = captureIo();
    assert.equal(await main(['check', moved, '--baseline', baseline], mismatched), ExitCode.CONFIG_ERROR);
    assert.match(mismatched.err(), new RegExp(`histograms\\.json: cells\\[1\\] is not summary\\.json's cells\\[1\\] \\(${MODEL} @ trace ×2 \\(20 req/s\\)\\)`));

    const differentCheck = captureIo();
    assert.equal(await main(['check', other, '--baseline', baseline], differentCheck), ExitCode.CONFIG_ERROR);
    assert.match(differentCheck.err(), /runs of different scenarios \(run\.json differs at load\.trace\.sha256\)/);
    const differentMerge = captureIo();
    assert.equal(await main(['merge', baseline, other, '--out', path.join(dir, 'refused')], differentMerge), ExitCode.CONFIG_ERROR);
    assert.match(differentMerge.err(), /ran a different scenario from .* \(they differ in load\.trace\.sha256\)/);
  }));

test('scenarioDifferences: a trace is told by load.trace.sha256, its prompts by the same hash; without hashes the paths still count', () => {
  const scenario = (file: string, sha256?: string) => ({
    name: 'replay',
    load: { kind: 'rate', levels: [10], trace: { file, ...(sha256 ? { sha256 } : {}), speedups: [1], arrivals: 31 } },
    prompts: { trace: true, file, lines: 31 },
  });
  assert.deepEqual(scenarioDifferences(scenario('/a/trace.jsonl', 'abc'), scenario('/b/trace.jsonl', 'abc')), []);
  assert.deepEqual(scenarioDifferences(scenario('/a/trace.jsonl', 'abc'), scenario('/b/trace.jsonl', 'abd')), ['load.trace.sha256']);
  assert.deepEqual(scenarioDifferences(scenario('/a/trace.jsonl'), scenario('/b/trace.jsonl')), ['load.trace.file', 'prompts.file']);
});

test('scenarioDifferences: a prompt list against a prompt file kept by its hash says what an older run.json looks like', () => {
  const listed = { name: 'p', prompts: [{ messages: [{ role: 'user', content: 'hi' }] }] };
  const hashed = { name: 'p', prompts: { dataset: true, file: '/a/p.jsonl', format: 'jsonl', sha256: 'abc', skipped: 0, sample: 'first' } };
  const [difference] = scenarioDifferences(listed, hashed);
  assert.match(difference!, /^prompts \(one run lists its prompts, the other names a file by its hash: a run recorded before tokenmeter kept prompt files by hash looks so; record it again\)$/);
  assert.deepEqual(scenarioDifferences(hashed, listed), [difference]);
});

test('a 2→20 req/s ramp is not the steady 2 req/s cell: check refuses them as different scenarios, and judged anyway they share no cell; compare sets none side by side', () =>
  withTempDir(async (dir) => {
    const head = `name: ramp\ntarget: {baseURL: "http://virtual.invalid/v1"}\nmodels: [${MODEL}]\nprompts: [hi]\nseed: 3\n`;
    const steady = await runVirtualInto(dir, 'steady', `${head}load: {rate: 2, requests: 40}\n`, PROFILE, 1);
    const ramp = await runVirtualInto(dir, 'ramp', `${head}load: {rate: {from: 2, to: 20, over: 4s}}\n`, PROFILE, 2);

    const refused = captureIo();
    assert.equal(await main(['check', ramp, '--baseline', steady], refused), ExitCode.CONFIG_ERROR);
    assert.match(refused.err(), /runs of different scenarios \(run\.json differs at load\.ramp, load\.requests\)/);

    const judged = captureIo();
    assert.equal(await main(['check', ramp, '--baseline', steady, '--allow-different'], judged), ExitCode.THRESHOLDS_FAILED, judged.err());
    assert.match(judged.err(), new RegExp(`warning: ${MODEL} @ 2→20 req/s over 4s is not in the baseline: not compared`));
    const markdown = await readFile(path.join(ramp, 'check.md'), 'utf8');
    assert.match(markdown, new RegExp(`${MODEL} @ 2 req/s`), 'the steady cell is missing');
    assert.doesNotMatch(markdown, /2→20/, 'the ramp is compared with nothing');

    const compared = captureIo();
    assert.equal(await main(['compare', steady, ramp, '--out', path.join(dir, 'compare')], compared), ExitCode.OK, compared.err());
    assert.match(compared.err(), /the contenders share no load level/);
    assert.match(compared.out(), /2→20 req\/s over 4s/);
  }));
