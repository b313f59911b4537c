/**
 * The built-in tokenizers, loaded lazily (their vocabularies take a moment to
 * load), behind one interface that also gives each token's length in UTF-8
 * bytes: that is what lets attribution find where every token ends.
 */
import { TOKENIZER_NAMES, type TokenizerName } from '../types.js';

export interface Tokenizer {
  /** A built-in name, the tokenizer file it was loaded from (folder/file), or hf:ORG/NAME. */
  readonly name: string;
  /** Token ids of a text, without BOS/EOS or any chat template. */
  encode(text: string): number[];
  /** UTF-8 byte length of each token of a text, so token ends can be placed in the text. */
  tokenByteLengths(text: string): number[];
}

/** Used when the model's tokenizer is unknown; the summary warns when it is. */
export const FALLBACK_TOKENIZER: TokenizerName = 'o200k';

export { TOKENIZER_NAMES };

/** The tokenizer a model name implies, or undefined when the name says nothing. */
export function tokenizerForModelName(model: string): TokenizerName | undefined {
  const name = model.toLowerCase();
  if (/llama[-_ ]?3|llama-?4/.test(name)) return 'llama3';
  if (/gpt-oss|gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt|(^|\/)o[134](-|$)/.test(name)) return 'o200k';
  if (/gpt-4|gpt-3\.5/.test(name)) return 'cl100k';
  return undefined;
}

const loaded = new Map<TokenizerName, Promise<Tokenizer>>();

export function loadTokenizer(name: TokenizerName): Promise<Tokenizer> {
  let tokenizer = loaded.get(name);
  if (!tokenizer) {
    tokenizer = name === 'llama3' ? loadLlama3() : loadGpt(name);
    loaded.set(name, tokenizer);
  }
  return tokenizer;
}

async function loadLlama3(): Promise<Tokenizer> {
  const { default: llama3 } = await import('llama3-tokenizer-js');
  return {
    name: 'llama3',
    encode: (text) => llama3.encode(text, { bos: false, eos: false }),
    // Byte-level BPE: each character of a vocabulary entry stands for one byte (GPT-2's bytes_to_unicode).
    tokenByteLengths: (text) => llama3.encode(text, { bos: false, eos: false }).map((id) => llama3.vocabById[id]!.length),
  };
}

interface GptCore {
  decodeNativeGenerator(ids: Iterable<number>): Generator<Uint8Array | string>;
}

async function loadGpt(name: 'o200k' | 'cl100k'): Promise<Tokenizer> {
  const module =
    name === 'o200k' ? await import('gpt-tokenizer/encoding/o200k_base') : await import('gpt-tokenizer/encoding/cl100k_base');
  const api = module.default as unknown as {
    bytePairEncodingCoreProcessor: GptCore;
    encode(text: string, options?: { disallowedSpecial?: Set<string> }): number[];
  };
  // Model output is text: "<|endoftext|>" in it is ordinary characters, never a reason to throw.
  const asText = { disallowedSpecial: new Set<string>() };
  // gpt-tokenizer keeps per-token bytes in its core processor; a test holds that the lengths add up.
  const core = api.bytePairEncodingCoreProcessor;
  return {
    name,
    encode: (text) => api.encode(text, asText),
    tokenByteLengths: (text) =>
      api.encode(text, asText).map((id) => {
        let length = 0;
        for (const part of core.decodeNativeGenerator([id])) length += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
        return length;
      }),
  };
}

interface HfEncoding {
  ids: number[];
  tokens: string[];
}

interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): HfEncoding;
}

/** A tokenizer file that cannot be used: missing, a directory, malformed, or of an unsupported kind. The message names the file. */
export class TokenizerFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'TokenizerFileError';
  }
}

/** Loaded files by path, size and modification time: validation and the run that follows load each once. */
const loadedFiles = new Map<string, Promise<Tokenizer>>();

/**
 * A tokenizer from a file: a Hugging Face tokenizer.json (any model the
 * built-ins do not cover), with its tokenizer_config.json when one sits beside
 * it, or the vocabulary in a GGUF model file's metadata (the file llama.cpp
 * serves). Throws TokenizerFileError for a file that cannot be used.
 */
export async function loadTokenizerFile(file: string): Promise<Tokenizer> {
  const { stat } = await import('node:fs/promises');
  let key: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new TokenizerFileError(file, 'is a directory, not a tokenizer file');
    key = `${file}\0${info.size}\0${info.mtimeMs}`;
  } catch (error) {
    if (error instanceof TokenizerFileError) throw error;
    throw new TokenizerFileError(file, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let tokenizer = loadedFiles.get(key);
  if (!tokenizer) {
    tokenizer = file.endsWith('.gguf') ? loadGgufFile(file) : loadJsonFile(file);
    loadedFiles.set(key, tokenizer);
    // A file that failed may be fixed and tried again.
    tokenizer.catch(() => loadedFiles.delete(key));
  }
  return tokenizer;
}

async function loadJsonFile(file: string): Promise<Tokenizer> {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `not valid JSON (${error.message})` : `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    throw new TokenizerFileError(file, reason);
  }
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = await readFile(configFile, 'utf8').then((text) => JSON.parse(text) as object, () => ({}));
  return tokenizerFromJson(json, config, file);
}

async function loadGgufFile(file: string): Promise<Tokenizer> {
  const { readGgufMetadata, GgufError } = await import('./gguf.js');
  const { ggufTokenizerJson } = await import('./gguf-tokenizer.js');
  let json: Record<string, unknown>;
  try {
    json = ggufTokenizerJson((await readGgufMetadata(file)).values);
  } catch (error) {
    if (error instanceof GgufError) throw new TokenizerFileError(file, error.message.slice(file.length + 2));
    throw new TokenizerFileError(file, (error as Error).message);
  }
  return tokenizerFromJson(json, {}, file);
}

/**
 * A Tokenizer from a parsed tokenizer.json object. Token byte lengths come
 * from the token strings: byte-level vocabularies (GPT-2 style, "Ġ") spell one
 * byte per character; SentencePiece ones spell a space as "▁" and a raw byte
 * as "<0xHH>". Attribution checks that the lengths cover the text exactly.
 */
async function tokenizerFromJson(json: unknown, config: object, file: string): Promise<Tokenizer> {
  const { Tokenizer: HfTokenizerClass } = await import('@huggingface/tokenizers');
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TokenizerFileError(file, 'is not a tokenizer.json object');
  const plain = { add_special_tokens: false };
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizerClass(json as Record<string, unknown>, config) as unknown as HfTokenizer;
    // Some malformed files only fail when used: fail here, at load, instead of mid-run.
    hf.encode('Hello, world! 123', plain);
  } catch (error) {
    throw new TokenizerFileError(file, `is not a usable Hugging Face tokenizer (${(error as Error).message})`);
  }
  const { pre_tokenizer, decoder } = json as { pre_tokenizer?: unknown; decoder?: unknown };
  const byteLevel = JSON.stringify([pre_tokenizer ?? null, decoder ?? null]).includes('ByteLevel');
  return {
    name: await tokenizerFileName(file),
    encode: (text) => hf.encode(text, plain).ids,
    tokenByteLengths: (text) => {
      const tokens = hf.encode(text, plain).tokens;
      const lengths = tokens.map(byteLevel ? (token) => token.length : sentencePieceBytes);
      // SentencePiece's normalizer prepends "▁" to the text (even one that starts with a space):
      // that byte was never sent, so it comes off the first token.
      if (!byteLevel && tokens[0]?.startsWith('\u2581')) {
        const total = lengths.reduce((sum, n) => sum + n, 0);
        if (total === Buffer.byteLength(text) + 1) lengths[0]! -= 1;
      }
      return lengths;
    },
  };
}

/** `hf:ORG/NAME` for a file in the Hugging Face cache, else the file's folder and name. */
async function tokenizerFileName(file: string): Promise<string> {
  const path = await import('node:path');
  const cached = /(?:^|[\\/])models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/][^\\/]+[\\/]tokenizer\.json$/.exec(file);
  if (cached) return `hf:${cached[1]}/${cached[2]}`;
  const folder = path.basename(path.dirname(file));
  return folder ? `${folder}/${path.basename(file)}` : file;
}

function sentencePieceBytes(token: string): number {
  if (/^<0x[0-9A-Fa-f]{2}>$/.test(token)) return 1;
  return Buffer.byteLength(token.replace(/\u2581/g, ' '));
}
