import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { assertChartsLaidOut, inspectInChromium } from '../browser.ts';
import { captureIo, withTempDir } from '../helpers.ts';
import { runVirtualInto } from '../virtual-server.ts';

test('compare: two models side by side per load level, the better value marked, differences with intervals; the page renders in Chromium', (t) =>
  withTempDir(async (dir) => {
    // On simulated time (test/virtual-server.ts), so the difference is the servers', whatever the machine is doing.
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
    const text = io.out();
    assert.match(text, /^at c=2\nmetric +fast-model +slow-model\n/);
    assert.match(text, /\nat c=4\n/);
    // TTFT doubled: the fast model is marked best, the slow one +~100% with an interval around it.
    const ttft = /TTFT p50 \(ms\) +([\d.]+) \* +([\d.]+) \(\+(\d+\.\d)% \[\+(\d+\.\d)%, \+(\d+\.\d)%\]\)/.exec(text);
    assert.ok(ttft, text);
    const [, fast, slow, change, low, high] = ttft.map(Number);
    assert.ok(slow! > fast! * 1.8, `${fast} vs ${slow}`);
    assert.ok(low! <= change! && change! <= high! && low! > 60, `${change} in [${low}, ${high}]`);
    assert.match(text, /output tok\/s \(tokens\/s\) +[\d.]+ \* +[\d.]+ \(-\d+\.\d%\)/);

    assert.match(await readFile(path.join(out, 'compare.md'), 'utf8'), /\| TTFT p50 \(ms\) \| [\d.]+ \*\*★\*\* \| [\d.]+ \(\+/);
    await inspectInChromium(path.join(out, 'compare.html'), async (page) => {
      await assertChartsLaidOut(page, ['latency-throughput', 'load-ttft', 'load-tpot', 'load-throughput', 'percentiles-ttft', 'percentiles-tpot', 'percentiles-itl', 'tokens-per-chunk']);
      // The same headline function as the run report: a row per contender.
      assert.deepEqual(await page.$$eval('table[data-table="headline"] tbody th', (cells) => cells.map((cell) => cell.textContent)), ['fast-model', 'slow-model']);
      assert.equal(await page.$$eval('table[data-table="compare"]', (tables) => tables.length), 2);
      assert.equal(await page.$$eval('table[data-table="compare"] td.best', (cells) => cells.length) >= 10, true);
    }, (line) => t.diagnostic(line));

    const one = captureIo();
    assert.equal(await main(['compare', path.join(dir, 'nothing')], one), 2);
  }));
