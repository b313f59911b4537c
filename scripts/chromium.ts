/**
 * The one way tokenmeter starts a browser (the report's browser test and the
 * screenshot script): puppeteer-core driving the system Chromium, headless,
 * with nothing that reaches for the network on its own.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Debian's `chromium` package; CI installs it (.ci/run). */
const DEFAULT_CHROMIUM = '/usr/bin/chromium';

const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'];

/** `CHROMIUM_PATH` when set, else /usr/bin/chromium. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
}

/**
 * Launches headless Chromium. Throws a message saying how to install it when
 * the executable is missing: callers (tests included) must fail, not skip.
 */
export async function launchChromium(executablePath = chromiumPath()): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to its executable`,
    );
  }
  return puppeteer.launch({ executablePath, headless: true, args: ARGS });
}
