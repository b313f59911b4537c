/**
 * The one way tokenmeter starts a browser (the report's browser test and the
 * screenshot script): puppeteer-core driving a headless Chromium, with nothing
 * that reaches for the network on its own.
 *
 * Which Chromium, and why: `npm test` must pass on a fresh machine with
 * nothing installed by hand, and the machines we run on reach only the npm
 * registry, so the browser comes from npm when the system has none. Of the
 * packages that ship Chromium inside the tarball (the others download it from
 * Google at install or run time), `@sparticuz/chromium` is the one that works:
 * 153.0.0 launches headless with puppeteer-core 24.43.1 on Node 20, while
 * 143.0.4 and 147.0.2 crashed at start (`Target closed`). 153.0.0 declares
 * Node ^22.17 || >=24 but runs on Node 20 (measured), hence the engine check
 * in .ci/run that exempts it alone. It is a Linux x64 build, so elsewhere a
 * system Chrome is needed. A system Chromium is still preferred when there is
 * one: it starts without unpacking 200 MB, and it is the browser users have.
 *
 * `TOKENMETER_CHROMIUM` picks: `auto` (the default: system, else bundled),
 * `system` or `bundled`. The system one is `CHROMIUM_PATH` if set, else the
 * first of `chromium`, `chromium-browser`, `google-chrome` on PATH.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Where a Chromium came from, and how to start it. */
export interface ChromiumChoice {
  source: 'system' | 'bundled';
  executablePath: string;
  /** Extra environment for the browser process (the bundled one's libraries and fonts). */
  env: Record<string, string>;
  args: string[];
  headless: true | 'shell';
}

/** Executable names searched on PATH, in order. */
export const SYSTEM_CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

const SYSTEM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'];

// @sparticuz/chromium's flags are meant for serverless functions; these two change what a page may do, and the test must see the report as a user's browser does.
const BUNDLED_ARGS_DROPPED = new Set(['--disable-web-security', '--allow-running-insecure-content']);

/** `CHROMIUM_PATH` when set, else the first of {@link SYSTEM_CHROMIUM_NAMES} on PATH, else undefined. */
export function findSystemChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const name of SYSTEM_CHROMIUM_NAMES) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined;
}

/** Picks the browser as `TOKENMETER_CHROMIUM` says, unpacking the bundled one on first use. */
export async function chooseChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumChoice> {
  const mode = env.TOKENMETER_CHROMIUM || 'auto';
  if (mode !== 'auto' && mode !== 'system' && mode !== 'bundled') {
    throw new Error(`TOKENMETER_CHROMIUM=${mode}: expected auto, system or bundled`);
  }
  if (mode !== 'bundled') {
    const system = findSystemChromium(env);
    if (system !== undefined) {
      if (!existsSync(system)) throw new Error(`Chromium not found at ${system} (CHROMIUM_PATH)`);
      return { source: 'system', executablePath: system, env: {}, args: SYSTEM_ARGS, headless: true };
    }
    if (mode === 'system') {
      throw new Error(`TOKENMETER_CHROMIUM=system but no ${SYSTEM_CHROMIUM_NAMES.join(', ')} on PATH and no CHROMIUM_PATH`);
    }
  }
  return bundledChromium();
}

/**
 * Launches headless Chromium (see {@link chooseChromium}). Throws, saying what
 * to install, when there is none: callers (tests included) must fail, not skip.
 */
export async function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  const choice = await chooseChromium(env);
  return puppeteer.launch({
    executablePath: choice.executablePath,
    headless: choice.headless,
    args: choice.args,
    env: { ...process.env, ...choice.env },
  });
}

/** One line saying which browser a test ran on, for its log. */
export async function describeChromium(browser: Browser, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const choice = await chooseChromium(env);
  return `${choice.source} ${await browser.version()} (${choice.executablePath})`;
}

let bundled: Promise<ChromiumChoice> | undefined;

function bundledChromium(): Promise<ChromiumChoice> {
  bundled ??= unpackBundledChromium();
  return bundled;
}

async function unpackBundledChromium(): Promise<ChromiumChoice> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `no system Chromium found, and the bundled one (@sparticuz/chromium) runs only on Linux x64: install Chrome or Chromium, or set CHROMIUM_PATH to its executable`,
    );
  }
  let entry: string;
  try {
    entry = import.meta.resolve('@sparticuz/chromium');
  } catch {
    throw new Error(
      'no system Chromium found and @sparticuz/chromium is not installed (a devDependency: run npm ci): or install Chromium, or set CHROMIUM_PATH',
    );
  }
  const packageDir = path.dirname(path.dirname(fileURLToPath(entry)));
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const dir = path.join(tmpdir(), `tokenmeter-chromium-${version}`);
  if (!existsSync(path.join(dir, 'chromium'))) await unpackInto(dir, entry, packageDir);
  const { default: Chromium } = (await import('@sparticuz/chromium')) as typeof import('@sparticuz/chromium');
  return {
    source: 'bundled',
    executablePath: path.join(dir, 'chromium'),
    env: {
      // Its NSS libraries: a fresh machine has no libnss3, which Debian's chromium package would have brought.
      LD_LIBRARY_PATH: [path.join(dir, 'al2023', 'lib'), ...(process.env.LD_LIBRARY_PATH ? [process.env.LD_LIBRARY_PATH] : [])].join(':'),
      FONTCONFIG_FILE: path.join(dir, 'fonts', 'fonts.conf'),
    },
    args: [...Chromium.args.filter((arg) => !BUNDLED_ARGS_DROPPED.has(arg)), '--disable-background-networking', '--disable-dev-shm-usage'],
    headless: 'shell',
  };
}

/**
 * Unpacks the package's brotli archives into `dir`, atomically: test files run
 * in parallel processes, and the package's own default (a fixed /tmp/chromium,
 * used as soon as it exists) lets one process start a binary another is still
 * writing. Each process unpacks into its own folder and renames it into place;
 * the loser of a race throws its copy away.
 */
async function unpackInto(dir: string, entry: string, packageDir: string): Promise<void> {
  const staging = await mkdtemp(`${dir}.partial-`);
  try {
    // A child process, because the package unpacks into os.tmpdir(): TMPDIR points it at the staging folder without touching this process's environment.
    const script = `const m = await import(process.argv[1]);
await m.default.executablePath();
await m.inflate(process.argv[2]);`;
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, entry, path.join(packageDir, 'bin', 'al2023.tar.br')], {
      env: { ...process.env, TMPDIR: staging },
    });
    // The shipped fonts.conf names /tmp/fonts; this one names where the fonts are.
    await writeFile(
      path.join(staging, 'fonts', 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${path.join(dir, 'fonts', 'fonts')}</dir>\n  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
    );
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(path.join(dir, 'chromium'))) throw error;
  }
}
