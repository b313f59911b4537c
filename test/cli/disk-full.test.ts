/**
 * A full disk (issue 13): output is written through an injected file system
 * that has only so many bytes free and fails with ENOSPC, as a real one does,
 * mid-write. The run stops, names the file, exits 1, and leaves no temporary
 * file and nothing under a final name that claims a complete run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { AtomicFile, nodeOutputFs, removeUnfinishedOutput, writeFileAtomic, type OutputFs } from '../../src/cli/files.ts';
import { installInterruptHandler, main } from '../../src/cli/main.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, withTempDir } from '../helpers.ts';

/**
 * node:fs with `freeBytes` free for the files whose name matches `on`: a write
 * that does not fit writes what fits, then fails with ENOSPC; removing a file
 * frees its bytes, as on a real disk. Other files are not counted.
 */
function fullDisk(freeBytes: number, on: RegExp = /./): OutputFs & { failures: string[] } {
  const sizes = new Map<string, number>();
  const failures: string[] = [];
  let free = freeBytes;
  return {
    ...nodeOutputFs,
    failures,
    async create(file) {
      const handle = await nodeOutputFs.create(file);
      const counted = on.test(path.basename(file));
      sizes.set(file, 0);
      return {
        async write(text) {
          const bytes = Buffer.byteLength(text);
          if (!counted || bytes <= free) {
            await handle.write(text);
            if (counted) (free -= bytes), sizes.set(file, sizes.get(file)! + bytes);
            return;
          }
          const fits = Buffer.from(text).subarray(0, free).toString();
          await handle.write(fits);
          sizes.set(file, sizes.get(file)! + Buffer.byteLength(fits));
          free -= Buffer.byteLength(fits);
          failures.push(path.basename(file));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
        },
        close: () => handle.close(),
      };
    },
    async rename(from, to) {
      await nodeOutputFs.rename(from, to);
      sizes.set(to, sizes.get(from) ?? 0);
      sizes.delete(from);
    },
    async remove(file) {
      await nodeOutputFs.remove(file);
      free += sizes.get(file) ?? 0;
      sizes.delete(file);
    },
  };
}

const SCENARIO = `name: disk
target:
  baseURL: builtin
  simulator: {seed: 1, defaults: {ttftMs: 1, tokensPerSecond: 5000, tokensPerChunk: 2, outputTokens: 8, capacity: 8}}
models: [m1]
load: {concurrency: [2, 4], requests: 40, warmup: 0}
prompts: ["hi"]
`;

/** Runs the scenario with its results on `fs`: the exit code, stderr, and what the results folder holds. */
async function runOn(dir: string, fs: OutputFs) {
  const file = path.join(dir, 'disk.yaml');
  await writeFile(file, SCENARIO);
  const out = path.join(dir, 'out');
  const io = { ...captureIo(), fs };
  const code = await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io);
  const left = await readdir(out);
  const runJson = left.includes('run.json') ? JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')) : undefined;
  return { code, stdout: io.out(), err: io.err(), out, left, runJson };
}

describe('a full disk', () => {
  test('mid-requests.jsonl: the run stops, exit 1, the file named; no requests.jsonl, no temporary file, run.json says completed: false and why', () =>
    withTempDir(async (dir) => {
      // A record is about 1 KB: the fifth one does not fit. Once its temporary file is gone, run.json (1.5 KB) does.
      const disk = fullDisk(4500);
      const { code, stdout, err, out, left, runJson } = await runOn(dir, disk);
      assert.equal(code, ExitCode.RUN_FAILED, err);
      assert.match(stdout, /c=2/, 'the table shows what was measured');
      assert.doesNotMatch(stdout, /c=4/, 'the run stopped: the second cell never started');
      assert.deepEqual(disk.failures, [`requests.jsonl.${process.pid}.tmp`]);
      assert.match(err, new RegExp(`error: cannot write ${path.join(out, 'requests.jsonl')} \\(ENOSPC: no space left on device, write\\)`));
      assert.deepEqual(left, ['run.json'], 'a cut requests.jsonl is not kept, and no other file was started');
      assert.equal(runJson.completed, false);
      assert.match(runJson.incomplete_reason, /^cannot write .*requests\.jsonl \(ENOSPC/);
      assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    }));

  test('with too little room for run.json too: the folder is left empty, nothing claims anything', () =>
    withTempDir(async (dir) => {
      const disk = fullDisk(1000);
      const { code, err, left } = await runOn(dir, disk);
      assert.equal(code, ExitCode.RUN_FAILED, err);
      assert.deepEqual(disk.failures, [`requests.jsonl.${process.pid}.tmp`, `run.json.${process.pid}.tmp`]);
      assert.deepEqual(left, []);
    }));

  test('at report.html: the files before it stay, report.html and its temporary file do not, run.json says completed: false', () =>
    withTempDir(async (dir) => {
      const disk = fullDisk(20_000, /^report\.html/);
      const { code, err, out, left, runJson } = await runOn(dir, disk);
      assert.equal(code, ExitCode.RUN_FAILED, err);
      assert.match(err, new RegExp(`cannot write ${path.join(out, 'report.html')} \\(ENOSPC`));
      assert.deepEqual(left.sort(), ['histograms.csv', 'histograms.json', 'requests.jsonl', 'run.json', 'summary.csv', 'summary.json']);
      assert.equal(runJson.completed, false);
      assert.match(runJson.incomplete_reason, /report\.html/);
      assert.doesNotMatch(err, /wrote .*thresholds/, 'no verdict is written for a run that could not be kept');
    }));

  test('writeFileAtomic: a failed write removes its temporary file and names the final one', () =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'a.txt');
      await assert.rejects(writeFileAtomic(file, 'x'.repeat(100), fullDisk(10)), { name: 'OutputFileError', message: `cannot write ${file} (ENOSPC: no space left on device, write)` });
      assert.deepEqual(await readdir(dir), []);
    }));
});

test('a real full disk: a 64 KiB tmpfs, where the machine lets the test mount one', (t) =>
  withTempDir(async (dir) => {
    const disk = path.join(dir, 'disk');
    await mkdir(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { stdio: 'ignore' });
    } catch {
      t.skip('cannot mount a tmpfs here (needs root): the injected disk above covers the same paths');
      return;
    }
    try {
      const file = path.join(dir, 'disk.yaml');
      await writeFile(file, SCENARIO.replace('requests: 40', 'requests: 200'));
      const out = path.join(disk, 'out');
      const io = captureIo();
      const code = await main(['run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH], io);
      assert.equal(code, ExitCode.RUN_FAILED, io.err());
      assert.match(io.err(), new RegExp(`cannot write ${path.join(out, 'requests.jsonl')} \\(ENOSPC`));
      assert.deepEqual(await readdir(out), ['run.json']);
      const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'));
      assert.equal(run.completed, false);
    } finally {
      execFileSync('umount', [disk]);
    }
  }));

describe('a second Ctrl-C', () => {
  test('removes the temporary files being written, then exits 130', () =>
    withTempDir(async (dir) => {
      const signals = new EventEmitter();
      const exits: number[] = [];
      const handler = installInterruptHandler(captureIo().stderr, (code) => exits.push(code), signals);
      try {
        const writer = await AtomicFile.open(path.join(dir, 'requests.jsonl'));
        await writer.write('{"id":1}\n');
        signals.emit('SIGINT');
        assert.equal(handler.signal.aborted, true, 'the first stops the run');
        assert.deepEqual(exits, []);
        assert.deepEqual(await readdir(dir), [`requests.jsonl.${process.pid}.tmp`]);
        signals.emit('SIGINT');
        assert.deepEqual(exits, [ExitCode.INTERRUPTED]);
        assert.deepEqual(await readdir(dir), []);
      } finally {
        handler.dispose();
        removeUnfinishedOutput();
      }
    }));
});
