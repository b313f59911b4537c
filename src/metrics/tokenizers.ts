/**
 * The built-in tokenizers, loaded lazily (their vocabularies take a moment to
 * load), behind one interface that also gives each token's length in UTF-8
 * bytes: that is what lets attribution find where every token ends.
 */
import type { TokenizerName } from '../types.js';

export interface Tokenizer {
  readonly name: TokenizerName;
  /** Token ids of a text, without BOS/EOS or any chat template. */
  encode(text: string): number[];
  /** UTF-8 byte length of each token, so token ends can be placed in the text. */
  tokenByteLengths(ids: readonly number[]): number[];
}

/** Used when the model's tokenizer is unknown; the summary warns when it is. */
export const FALLBACK_TOKENIZER: TokenizerName = 'o200k';

export const TOKENIZER_NAMES: readonly TokenizerName[] = ['llama3', 'o200k', 'cl100k'];

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
    tokenByteLengths: (ids) => ids.map((id) => llama3.vocabById[id]!.length),
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
    tokenByteLengths: (ids) =>
      ids.map((id) => {
        let length = 0;
        for (const part of core.decodeNativeGenerator([id])) length += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
        return length;
      }),
  };
}
