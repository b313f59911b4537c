import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_REGRESSION } from '../../src/check/baseline.ts';
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
