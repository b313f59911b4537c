/** Shared test helpers: captured output streams and temp directories. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Io } from '../src/cli/commands/run.ts';

export interface CapturedIo extends Omit<Io, 'interrupt'> {
  out(): string;
  err(): string;
}

export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const stderr = Object.assign(sink((t) => (err += t)), { isTTY: false }) as unknown as NodeJS.WriteStream;
  return { stdout: sink((t) => (out += t)), stderr, env, out: () => out, err: () => err };
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tokenmeter-test-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** The lines of a run's requests.jsonl, parsed. */
export async function readRequests<T = Record<string, any>>(outDir: string): Promise<T[]> {
  const text = await readFile(path.join(outDir, 'requests.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as T);
}
