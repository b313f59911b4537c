/** Output files: a fresh directory per run, and every file written atomically (temp file + rename). */
import { mkdir, open, readdir, rename, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './exit-codes.js';

/** `20261126T112519Z`: sortable, and safe in a file name. */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Creates the run's output directory. An explicit `--out` must be new or
 * empty; the default `results/<UTC time>-<name>/` gets a suffix if taken.
 * Either way an earlier run is never overwritten.
 */
export async function createOutputDir(explicit: string | undefined, name: string, now: Date, root = 'results'): Promise<string> {
  if (explicit !== undefined) {
    const existing = await readdir(explicit).catch(() => undefined);
    if (existing !== undefined && existing.length > 0) {
      throw new UsageError(`--out ${explicit}: the directory is not empty; refusing to overwrite an earlier run`);
    }
    await mkdir(explicit, { recursive: true });
    return explicit;
  }
  const base = path.join(root, `${utcStamp(now)}-${name}`);
  await mkdir(root, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const dir = attempt === 1 ? base : `${base}-${attempt}`;
    try {
      await mkdir(dir); // fails if it exists: no overwrite, no race
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, content);
  await rename(temp, file);
}

/** A file written line by line under a temp name, renamed into place on commit. */
export class AtomicLineWriter {
  private constructor(
    private readonly file: string,
    private readonly temp: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(file: string): Promise<AtomicLineWriter> {
    const temp = `${file}.${process.pid}.tmp`;
    return new AtomicLineWriter(file, temp, await open(temp, 'w'));
  }

  async write(text: string): Promise<void> {
    await this.handle.write(text);
  }

  async commit(): Promise<void> {
    await this.handle.close();
    await rename(this.temp, this.file);
  }
}
