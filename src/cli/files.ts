/**
 * Output files: a fresh directory per run, and every file written under a
 * temporary name and renamed into place only when it is whole. A file that
 * cannot be written (a full disk) leaves no temporary file behind and no
 * file under its final name, and its error names the file.
 */
import { rmdirSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './exit-codes.js';

/** What output files are written with: node:fs, or in tests one that fails as a full disk does. */
export interface OutputFs {
  /** Like `fs.mkdir`: the first directory created, or undefined when it existed (recursive). */
  mkdir(dir: string, options?: { recursive?: boolean }): Promise<string | undefined>;
  readdir(dir: string): Promise<string[]>;
  /** A new file, open for writing; `write` writes all of the text or fails. */
  create(file: string): Promise<{ write(text: string): Promise<void>; close(): Promise<void> }>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it is not there. */
  remove(file: string): Promise<void>;
}

export const nodeOutputFs: OutputFs = {
  mkdir: (dir, options) => mkdir(dir, options),
  readdir: (dir) => readdir(dir),
  async create(file) {
    const handle = await open(file, 'w');
    // writeFile on a handle writes on until all of the text is written.
    return { write: (text) => handle.writeFile(text), close: () => handle.close() };
  },
  rename: (from, to) => rename(from, to),
  remove: (file) => rm(file, { force: true }),
};

/** A file that could not be written, by its final name, with the system's reason (`ENOSPC: no space left on device`). */
export class OutputFileError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`cannot write ${file} (${(cause as Error).message ?? String(cause)})`, { cause });
    this.name = 'OutputFileError';
  }
}

/**
 * What a quit at once (a second Ctrl-C) must not leave behind: the temporary
 * files being written, and the output folders this process made, if they are
 * still empty once those are gone.
 */
const unfinished = { temps: new Set<string>(), folders: new Set<string>() };

/** Removes every unfinished output (synchronously: the process is about to exit). */
export function removeUnfinishedOutput(): void {
  for (const temp of unfinished.temps) rmSync(temp, { force: true });
  unfinished.temps.clear();
  for (const folder of unfinished.folders) {
    try {
      rmdirSync(folder); // only when empty: a folder with results in it stays
    } catch {
      // not empty, or gone
    }
  }
}

/** `20261126T112519Z`: sortable, and safe in a file name. */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Creates the run's output directory. An explicit `--out` must be new or
 * empty; the default `results/<UTC time>-<name>/` gets a suffix if taken.
 * Either way an earlier run is never overwritten.
 */
export async function createOutputDir(explicit: string | undefined, name: string, now: Date, root = 'results', fs: OutputFs = nodeOutputFs): Promise<string> {
  if (explicit !== undefined) {
    let existing: string[] | undefined;
    try {
      existing = await fs.readdir(explicit);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new UsageError(`--out ${explicit}: is a file, not a directory; name a new or empty directory`);
      if (code !== 'ENOENT') throw new UsageError(`--out ${explicit}: cannot read it (${code ?? (error as Error).message})`);
    }
    if (existing !== undefined && existing.length > 0) {
      throw new UsageError(`--out ${explicit}: the directory is not empty; refusing to overwrite an earlier run`);
    }
    if (existing === undefined) {
      await mkdirNaming(fs, explicit, { recursive: true });
      unfinished.folders.add(explicit);
    }
    return explicit;
  }
  const base = path.join(root, `${utcStamp(now)}-${name}`);
  await mkdirNaming(fs, root, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const dir = attempt === 1 ? base : `${base}-${attempt}`;
    try {
      await fs.mkdir(dir); // fails if it exists: no overwrite, no race
      unfinished.folders.add(dir);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new OutputFileError(dir, error);
    }
  }
}

async function mkdirNaming(fs: OutputFs, dir: string, options: { recursive: boolean }): Promise<void> {
  try {
    await fs.mkdir(dir, options);
  } catch (error) {
    throw new OutputFileError(dir, error);
  }
}

/** The whole file at once, under its final name only when all of it is written. */
export async function writeFileAtomic(file: string, content: string, fs: OutputFs = nodeOutputFs): Promise<void> {
  const writer = await AtomicFile.open(file, fs);
  await writer.write(content);
  await writer.commit();
}

/**
 * A file written piece by piece under a temporary name, renamed into place
 * on commit. Any failure removes the temporary file and throws an
 * OutputFileError naming the file; the writer is then done.
 */
export class AtomicFile {
  private constructor(
    private readonly file: string,
    private readonly temp: string,
    private readonly fs: OutputFs,
    private readonly handle: Awaited<ReturnType<OutputFs['create']>>,
  ) {}

  static async open(file: string, fs: OutputFs = nodeOutputFs): Promise<AtomicFile> {
    const temp = `${file}.${process.pid}.tmp`;
    unfinished.temps.add(temp);
    try {
      return new AtomicFile(file, temp, fs, await fs.create(temp));
    } catch (error) {
      await fs.remove(temp).catch(() => {});
      unfinished.temps.delete(temp);
      throw new OutputFileError(file, error);
    }
  }

  async write(text: string): Promise<void> {
    await this.failingCleanly(() => this.handle.write(text));
  }

  async commit(): Promise<void> {
    await this.failingCleanly(async () => {
      await this.handle.close();
      await this.fs.rename(this.temp, this.file);
    });
    unfinished.temps.delete(this.temp);
  }

  /** Closes and removes the temporary file: nothing of it stays. */
  async discard(): Promise<void> {
    await this.handle.close().catch(() => {}); // already closed, or the disk is gone: the file goes either way
    // Left in the list when it cannot be removed, so a quit at once tries again.
    await this.fs.remove(this.temp).then(
      () => unfinished.temps.delete(this.temp),
      () => {},
    );
  }

  private async failingCleanly(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      await this.discard();
      throw new OutputFileError(this.file, error);
    }
  }
}
