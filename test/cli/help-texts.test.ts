import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_REGRESSION } from '../../src/check/baseline.ts';
import { DEFAULT_SWEEP_MAX_CONCURRENCY, DEFAULT_SWEEP_RATES } from '../../src/types.ts';
import { main } from '../../src/cli/main.ts';
import { createOutputDir, utcStamp } from '../../src/cli/files.ts';
import { captureIo, withTempDir } from '../helpers.ts';

/** yargs wraps long descriptions, even inside a word: compare the help with all its white space removed. */
async function help(command: string): Promise<string> {
  const io = captureIo();
  assert.equal(await main([command, '--help'], io), 0);
  return io.out().replace(/\s+/g, '');
}

test('check --help lists the defaults --max-regression really has, errors.rate=1% included', async () => {
  assert.match(DEFAULT_MAX_REGRESSION, /errors\.rate=1%/);
  assert.ok((await help('check')).includes(`(default${DEFAULT_MAX_REGRESSION})`), await help('check'));
});

test("report --help's example folder is named as run names its folders", () =>
  withTempDir(async (dir) => {
    const when = new Date('2026-11-26T10:00:00Z');
    const folder = await createOutputDir(undefined, 'quickstart', when, dir);
    assert.equal(utcStamp(when), '20261126T100000Z');
    assert.ok((await help('report')).includes(`results/${folder.slice(dir.length + 1)}`), await help('report'));
  }));

test('validate --help offers --strict for an unset ${VAR}', async () => {
  assert.match(await help('validate'), /--strictAnunset\$\{VAR\}isanerror\(exit2\)/);
});

test("sweep --help gives --rates' and --max-concurrency's real defaults, and offers no --repeat (it refuses one)", async () => {
  const text = await help('sweep');
  assert.ok(text.includes(`(winsoversweep.rates;default${DEFAULT_SWEEP_RATES})`), text);
  assert.ok(text.includes(`default the highest load.concurrency if above 1, else ${DEFAULT_SWEEP_MAX_CONCURRENCY})`.replace(/\s+/g, '')), text);
  assert.ok(text.includes('sweepscenarios/sweep.yaml'), text);
  assert.ok(!text.includes('--repeat'), text);
});
