import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { EXIT_CODES, ExitCode } from '../../src/cli/exit-codes.ts';
import { main } from '../../src/cli/main.ts';
import { captureIo, REPO_ROOT } from '../helpers.ts';

test('every exit code has its own name and number, and ExitCode names each', () => {
  assert.equal(new Set(EXIT_CODES.map((entry) => entry.name)).size, EXIT_CODES.length);
  assert.equal(new Set(EXIT_CODES.map((entry) => entry.code)).size, EXIT_CODES.length);
  for (const { name, code } of EXIT_CODES) assert.equal(ExitCode[name], code);
  assert.deepEqual(Object.keys(ExitCode), EXIT_CODES.map((entry) => entry.name));
});

test('tokenmeter --help lists every exit code of the table, one line each, with its name and meaning', async () => {
  const io = captureIo();
  assert.equal(await main(['--help'], io), ExitCode.OK);
  const help = io.out().slice(io.out().indexOf('Exit codes:'));
  assert.ok(help.startsWith('Exit codes:'), io.out());
  for (const { name, code, meaning } of EXIT_CODES) {
    assert.match(help, new RegExp(`^ +${code}  ${name} +${meaning.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `${code} ${name}`);
  }
});

test("the README's exit-code paragraph says what the table says", async () => {
  const readme = (await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8')).replace(/\s+/g, ' ');
  assert.match(readme, /Exit codes \(the table is `src\/cli\/exit-codes\.ts`; `tokenmeter --help` prints it\)/);
  for (const { code, meaning } of EXIT_CODES) assert.ok(readme.includes(`\`${code}\` ${meaning}`), `README: \`${code}\` ${meaning}`);
});
