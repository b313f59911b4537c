import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { relabel } from '../../src/cli/commands/compare.ts';
import { UsageError } from '../../src/cli/exit-codes.ts';
import { main } from '../../src/cli/main.ts';
import { assertChartsLaidOut, inspectInChromium } from '../browser.ts';
import { captureIo, withTempDir } from '../helpers.ts';
import { runVirtualInto, type VirtualServerProfile } from '../virtual-server.ts';

// On simulated time (test/virtual-server.ts), so every difference is the servers', whatever the machine is doing.
const PROFILE: VirtualServerProfile = { ttftMs: 100, ttftJitter: 0.3, tokensPerSecond: 400, tokensPerChunk: [1, 3], outputTokens: [20, 40], capacity: 64 };

const scenario = (models: string) => `name: cmp
target: {baseURL: "http://virtual.invalid/v1"}
models: ${models}
load: {concurrency: [4], requests: 48}
prompts: ["hi"]
`;

/** The rows of the table at a level, each as its cells (split on two or more spaces). */
function tableRows(text: string, level: string): string[][] {
  const lines = text.split('\n');
  const start = lines.indexOf(`at ${level}`);
  const end = lines.indexOf('', start);
  return lines.slice(start + 3, end).map((line) => line.split(/ {2,}/));
}

test('compare: the same seeded scenario run twice marks no winner anywhere; --label renames; the summary comes first', () =>
  withTempDir(async (dir) => {
    const before = await runVirtualInto(dir, 'before', scenario('[{name: m, tokenizer: llama3}]'), PROFILE);
    const after = await runVirtualInto(dir, 'after', scenario('[{name: m, tokenizer: llama3}]'), PROFILE);
    const io = captureIo();
    assert.equal(await main(['compare', before, after, '--label', 'before/m=old', '--label', '2=new', '--out', path.join(dir, 'cmp')], io), 0, io.err());
    const text = io.out();
    assert.match(text, /^summary\nmodel +max load within SLO +best goodput +best output throughput +tokens\/chunk mean\n-+[ -]+\nold +no SLO +no SLO +[\d.]+ tok\/s at c=4 +[\d.]+\nnew +/);
    assert.ok(text.indexOf('summary') < text.indexOf('at c=4'));
    assert.match(text, /\nat c=4\nmetric +old +new\n/);
    const rows = tableRows(text, 'c=4');
    assert.equal(rows.length, 14);
    for (const [metric, reference, other] of rows) {
      assert.doesNotMatch(`${reference} ${other}`, /\*/, `${metric}: no winner`);
      // Every judged difference reads as noise; ITL rows are not judged; goodput has no SLO here.
      if (!/^(ITL|goodput)/.test(metric!)) assert.match(other!, /\(~ /, metric);
    }
    assert.match(rows.find(([metric]) => metric === 'TTFT p50 (ms)')![2]!, /\(~ \+0\.0% \[-\d+\.\d%, \+\d+\.\d%\], p=1\.00, n=48\)$/);
    const markdown = await readFile(path.join(dir, 'cmp', 'compare.md'), 'utf8');
    assert.doesNotMatch(markdown.slice(0, markdown.indexOf('_★ marks')), /★/);
  }));

test('compare: TTFT 100 ms against 150 ms is marked with its interval, p-value and sample sizes; different tokenizers show chars/s with a note', () =>
  withTempDir(async (dir) => {
    const run = await runVirtualInto(dir, 'run', scenario('[{name: fast, tokenizer: llama3}, {name: slow, tokenizer: cl100k}]'), {
      ...PROFILE,
      models: { slow: { ...PROFILE, ttftMs: 150 } },
    });
    const io = captureIo();
    assert.equal(await main(['compare', run, '--out', path.join(dir, 'cmp')], io), 0, io.err());
    const text = io.out();
    assert.match(text, /\nnote: The contenders count tokens with different tokenizers \(fast: llama3, slow: cl100k\).*output chars\/s does\.\n/);
    const rows = new Map(tableRows(text, 'c=4').map(([metric, ...cells]) => [metric!, cells]));
    const [fast, slow] = rows.get('TTFT p50 (ms)')!;
    assert.match(fast!, /^[\d.]+ \* \(n=48\)$/);
    const ttft = /^[\d.]+ \(\+(\d+\.\d)% \[\+(\d+\.\d)%, \+(\d+\.\d)%\], p<0\.001, n=48\)$/.exec(slow!);
    assert.ok(ttft, slow);
    const [, change, low, high] = ttft.map(Number);
    assert.ok(low! <= change! && change! <= high! && low! > 30 && high! < 70, `${change} in [${low}, ${high}]`);
    // Decoding was alike: noise.
    assert.match(rows.get('TPOT p50 (ms)')![1]!, /^[\d.]+ \(~ /);
    assert.match(rows.get('output chars/s (chars/s)')![0]!, /^[\d.]+ \* \(n=48\)$/);
    assert.match(rows.get('output chars/s (chars/s)')![1]!, /^[\d.]+ \(-\d+\.\d%; per request -\d+\.\d% \[-[\d.]+%, -[\d.]+%\], p<0\.001, n=48\)$/);
  }));

test('compare: --label takes a name or a position, and refuses a name no contender has or two contenders with one name', () => {
  assert.deepEqual(relabel(['a/m', 'b/m'], ['a/m=old', '2=new']), ['old', 'new']);
  assert.throws(() => relabel(['a/m', 'b/m'], ['c/m=x']), (error) => error instanceof UsageError && /no contender is "c\/m"/.test(error.message));
  assert.throws(() => relabel(['a/m', 'b/m'], ['1=b/m']), (error) => error instanceof UsageError && /both be called b\/m/.test(error.message));
  assert.throws(() => relabel(['a/m', 'b/m'], ['old']), UsageError);
});

test('compare: the page has the headline first, the charts before the tables, and renders in Chromium', (t) =>
  withTempDir(async (dir) => {
    const run = await runVirtualInto(
      dir,
      'run',
      `name: two
target: {baseURL: "http://virtual.invalid/v1"}
models: [{name: fast-model, tokenizer: llama3}, {name: slow-model, tokenizer: llama3}]
load: {concurrency: [2, 4], requests: 24}
prompts: ["hi"]
`,
      {
        ttftMs: 40,
        ttftJitter: 0.2,
        tokensPerSecond: 800,
        tokensPerChunk: [1, 4],
        outputTokens: [20, 30],
        capacity: 64,
        models: { 'slow-model': { ttftMs: 80, ttftJitter: 0.2, tokensPerSecond: 400, tokensPerChunk: 1, outputTokens: [20, 30], capacity: 64 } },
      },
    );
    const io = captureIo();
    const out = path.join(dir, 'cmp');
    assert.equal(await main(['compare', run, '--out', out], io), 0, io.err());
    const html = await readFile(path.join(out, 'compare.html'), 'utf8');
    const at = (marker: string) => html.indexOf(marker);
    assert.ok(at('data-section="headline"') < at('<h2>Charts</h2>') && at('<h2>Charts</h2>') < at('data-section="compare"'));
    assert.match(await readFile(path.join(out, 'compare.md'), 'utf8'), /\| TTFT p50 \(ms\) \| [\d.]+ \*\*★\*\* \(n=\d+\) \| [\d.]+ \(\+/);
    await inspectInChromium(path.join(out, 'compare.html'), async (page) => {
      await assertChartsLaidOut(page, ['latency-throughput', 'load-ttft', 'load-tpot', 'load-throughput', 'percentiles-ttft', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk']);
      // The same headline function as the run report: a row per contender.
      assert.deepEqual(await page.$$eval('table[data-table="headline"] tbody th', (cells) => cells.map((cell) => cell.textContent)), ['fast-model', 'slow-model']);
      assert.equal(await page.$$eval('table[data-table="compare"]', (tables) => tables.length), 2);
      // TTFT doubled and decoding halved: the fast model wins those rows at both levels.
      assert.ok((await page.$$eval('table[data-table="compare"] td.best', (cells) => cells.length)) >= 6);
    }, (line) => t.diagnostic(line));

    const one = captureIo();
    assert.equal(await main(['compare', path.join(dir, 'nothing')], one), 2);
  }));
