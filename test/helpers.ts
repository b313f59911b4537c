/** Shared test helpers: captured output streams and temp directories. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

/**
 * For real-time runs that test something other than the client's own health
 * (test/e2e/client-health.test.ts tests that): a busy test machine's scheduler
 * hiccups must not make their cells invalid, which would change the exit code
 * (98); nor a test server on the client's own thread, which keeps its loop busy.
 */
export const NOT_ABOUT_CLIENT_HEALTH = ['--set', 'load.maxClientLag=60s', '--set', 'load.maxClientUtilization=1'] as const;

/**
 * Writes scenario `text` to DIR/NAME.yaml and runs a tokenmeter command on it
 * (`run` unless told) with `--out DIR/NAME`: the exit code, the captured output, the results folder.
 */
export async function runScenarioText(
  dir: string,
  name: string,
  text: string,
  options: { command?: 'run' | 'capacity' | 'sweep'; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; io: CapturedIo; out: string }> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, text);
  const io = captureIo(options.env ?? {});
  const out = path.join(dir, name);
  const { main } = await import('../src/cli/main.ts');
  const code = await main([options.command ?? 'run', file, '--out', out, ...NOT_ABOUT_CLIENT_HEALTH, ...(options.args ?? [])], io);
  return { code, io, out };
}
