/**
 * Secrets never leave (issue 13): which values are secrets, and their removal
 * from any text before it is cut or written. A server may echo a key whole,
 * masked (`sk-SECR****CANA`), or a cut may leave a prefix of it: so every run
 * of MIN_FRAGMENT or more characters that occurs in a secret goes too, not
 * only the whole value.
 */

/** The shortest value that counts as a secret, and the shortest piece of one that is removed. */
export const MIN_SECRET_CHARS = 8;

const REDACTED = '[redacted]';
/** Size of the bitmap of piece starts (util: SecretScrubber.starts). */
const START_BITS = 1 << 16;

/** Environment variables whose values are credentials. */
const SECRET_VARIABLE = /KEY|TOKEN|SECRET|PASSWORD/i;

/**
 * Named like secrets, but not: tokenmeter's own settings (TOKENMETER_* holds
 * "TOKEN"), and the package.json fields npm exports to scripts
 * (`npm_package_bin_tokenmeter=bin/tokenmeter.js` under `npm run` would
 * otherwise scrub the word tokenmeter from every output).
 */
const isSecretVariable = (name: string): boolean => !/^npm_package_/i.test(name) && SECRET_VARIABLE.test(name.replace(/TOKENMETER/gi, ''));

export interface SecretSources {
  apiKey?: string | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * The secrets of a run: the API key; the value of every header the scenario
 * sets (auth-like ones are credentials, and a custom one may be: run.json
 * redacts them all) and the credential after a scheme (`Bearer KEY` → `KEY`:
 * a server echoes the key alone); and the values of environment variables
 * named like keys, tokens, secrets and passwords; each of MIN_SECRET_CHARS or more.
 */
export function secretsOf(sources: SecretSources): string[] {
  const values: string[] = [];
  if (sources.apiKey) values.push(sources.apiKey);
  for (const value of Object.values(sources.headers ?? {})) {
    values.push(value);
    const credential = value.trim().split(/\s+/).at(-1);
    if (credential && credential !== value) values.push(credential);
  }
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (value !== undefined && isSecretVariable(name)) values.push(value);
  }
  return [...new Set(values.filter((value) => value.length >= MIN_SECRET_CHARS))];
}

/**
 * Removes secrets from texts: every run of text covered by MIN_SECRET_CHARS-long
 * pieces of a secret becomes one `[redacted]`, so a whole secret goes as surely
 * as a piece of one.
 */
export class SecretScrubber {
  private readonly count: number;
  /** Every MIN_SECRET_CHARS-long piece of every secret. */
  private readonly pieces: ReadonlySet<string>;
  /**
   * A hash of each piece's first four characters: most positions of a text
   * (digits, punctuation, words) start no piece, and are passed over without
   * building a substring (measured: 67 → ~10 ns per character of a record).
   */
  private readonly starts = new Uint32Array(START_BITS / 32);

  constructor(secrets: readonly string[]) {
    const kept = secrets.filter((secret) => secret.length >= MIN_SECRET_CHARS);
    this.count = kept.length;
    const pieces = new Set<string>();
    for (const secret of kept) {
      for (let i = 0; i + MIN_SECRET_CHARS <= secret.length; i++) {
        pieces.add(secret.slice(i, i + MIN_SECRET_CHARS));
        const bit = startHash(secret, i) & (START_BITS - 1);
        this.starts[bit >>> 5]! |= 1 << (bit & 31);
      }
    }
    this.pieces = pieces;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  scrub(text: string): string {
    if (this.count === 0 || text.length < MIN_SECRET_CHARS) return text;
    // The runs of text covered by windows that are pieces of a secret, overlapping windows joined.
    const runs: [number, number][] = [];
    for (let i = 0; i + MIN_SECRET_CHARS <= text.length; i++) {
      const bit = startHash(text, i) & (START_BITS - 1);
      if ((this.starts[bit >>> 5]! & (1 << (bit & 31))) === 0 || !this.pieces.has(text.slice(i, i + MIN_SECRET_CHARS))) continue;
      const end = i + MIN_SECRET_CHARS;
      const last = runs.at(-1);
      if (last && i <= last[1]) last[1] = end;
      else runs.push([i, end]);
    }
    if (runs.length === 0) return text;
    let out = '';
    let at = 0;
    for (const [start, end] of runs) {
      out += text.slice(at, start) + REDACTED;
      at = end;
    }
    return out + text.slice(at);
  }
}

/** A hash of the four characters of `text` from `at` (a collision only costs one substring check). */
function startHash(text: string, at: number): number {
  return (((text.charCodeAt(at) * 31 + text.charCodeAt(at + 1)) * 31 + text.charCodeAt(at + 2)) * 31 + text.charCodeAt(at + 3)) | 0;
}
