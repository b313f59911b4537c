/**
 * The built-in tokenizers, loaded lazily (their vocabularies take a moment to
 * load), behind one interface that also gives each token's length in UTF-8
 * bytes: that is what lets attribution find where every token ends.
 */
import { TOKENIZER_NAMES, type TokenizerName } from '../types.js';

export interface Tokenizer {
  /** A built-in name, or the tokenizer.json it was loaded from. */
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

/**
 * A Hugging Face tokenizer.json (any model the built-ins do not cover), with
 * its tokenizer_config.json when one sits beside it. Token byte lengths come
 * from the token strings: byte-level vocabularies (GPT-2 style, "Ġ") spell one
 * byte per character; SentencePiece ones spell a space as "▁" and a raw byte
 * as "<0xHH>". Attribution checks that the lengths cover the text exactly.
 */
export async function loadTokenizerFile(file: string): Promise<Tokenizer> {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const { Tokenizer: HfTokenizerClass } = await import('@huggingface/tokenizers');
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = await readFile(configFile, 'utf8').then((text) => JSON.parse(text) as object, () => ({}));
  const hf = new HfTokenizerClass(json, config) as unknown as HfTokenizer;
  const byteLevel = JSON.stringify([json.pre_tokenizer ?? null, json.decoder ?? null]).includes('ByteLevel');
  const plain = { add_special_tokens: false };
  return {
    name: path.basename(path.dirname(file)) ? `${path.basename(path.dirname(file))}/${path.basename(file)}` : file,
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

function sentencePieceBytes(token: string): number {
  if (/^<0x[0-9A-Fa-f]{2}>$/.test(token)) return 1;
  return Buffer.byteLength(token.replace(/\u2581/g, ' '));
}
