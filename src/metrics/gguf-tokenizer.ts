/**
 * A GGUF file's vocabulary as a Hugging Face tokenizer.json object, so that
 * the same tokenizer code counts with it. Ported from the converters of
 * transformers (src/transformers/integrations/ggml.py: GGUFTokenizerSkeleton,
 * GGUFLlamaConverter, GGUFQwen2Converter; Apache-2.0), and the pre-tokenizer
 * regexes from llama.cpp (src/llama-vocab.cpp, by `tokenizer.ggml.pre`).
 */
import type { GgufValue } from './gguf.js';

/** `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** The supported `tokenizer.ggml.model` values. */
export const GGUF_TOKENIZER_MODELS = ['llama', 'gpt2'] as const;

const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * Byte-level pre-tokenizers by `tokenizer.ggml.pre`: undefined means GPT-2's
 * own regex (the ByteLevel pre-tokenizer's built-in one). Llama 3 ignores a
 * merge when the whole word is a token (llama.cpp's ignore_merges).
 */
const BYTE_LEVEL_PRE: Record<string, { regex?: string; ignoreMerges?: boolean }> = {
  default: {},
  'gpt-2': {},
  gpt2: {},
  'llama-bpe': { regex: LLAMA3_REGEX, ignoreMerges: true },
  llama3: { regex: LLAMA3_REGEX, ignoreMerges: true },
  'llama-v3': { regex: LLAMA3_REGEX, ignoreMerges: true },
  qwen2: { regex: QWEN2_REGEX },
  'deepseek-r1-qwen': { regex: QWEN2_REGEX },
};

/** The tokenizer.json object of a GGUF file's metadata; throws an Error whose message says what is missing or unsupported. */
export function ggufTokenizerJson(values: ReadonlyMap<string, GgufValue>): Record<string, unknown> {
  const model = values.get('tokenizer.ggml.model');
  if (model === undefined) throw new Error('the GGUF file has no tokenizer (no tokenizer.ggml.model in its metadata)');
  if (model !== 'llama' && model !== 'gpt2') {
    throw new Error(
      `tokenizer.ggml.model "${String(model)}" is not supported (only ${GGUF_TOKENIZER_MODELS.join(' and ')}): ` +
        'use the model\'s tokenizer.json instead (a path, or hf:ORG/NAME)',
    );
  }
  const tokens = stringArray(values, 'tokenizer.ggml.tokens');
  const tokenTypes = numberArray(values, 'tokenizer.ggml.token_type', tokens.length);
  return model === 'llama' ? sentencePieceJson(values, tokens, tokenTypes) : byteLevelJson(values, tokens, tokenTypes);
}

/** SentencePiece BPE (Llama 2, Mistral): transformers' GGUFLlamaConverter for a "llama" tokenizer. */
function sentencePieceJson(values: ReadonlyMap<string, GgufValue>, tokens: string[], tokenTypes: number[] | undefined): Record<string, unknown> {
  const scores = numberArray(values, 'tokenizer.ggml.scores', tokens.length);
  if (!scores) throw new Error('a "llama" tokenizer needs tokenizer.ggml.scores');
  const merges = values.has('tokenizer.ggml.merges') ? splitMerges(stringArray(values, 'tokenizer.ggml.merges')) : mergesFromScores(tokens, scores);
  const unkId = integer(values, 'tokenizer.ggml.unknown_token_id');
  const addSpacePrefix = values.get('tokenizer.ggml.add_space_prefix') ?? true;
  const normalizers: object[] = [{ type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }];
  if (addSpacePrefix === true) normalizers.unshift({ type: 'Prepend', prepend: '\u2581' });
  const decoders: object[] = [{ type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }];
  if (addSpacePrefix === true) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(tokens, tokenTypes),
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkId !== undefined ? (tokens[unkId] ?? null) : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: vocabulary(tokens),
      merges,
    },
  };
}

/** Byte-level BPE (GPT-2, Llama 3, Qwen 2): transformers' GPT-2/Qwen2 converters, the pre-tokenizer by tokenizer.ggml.pre. */
function byteLevelJson(values: ReadonlyMap<string, GgufValue>, tokens: string[], tokenTypes: number[] | undefined): Record<string, unknown> {
  const preName = values.get('tokenizer.ggml.pre') ?? 'default';
  const pre = BYTE_LEVEL_PRE[String(preName)];
  if (!pre) {
    throw new Error(
      `tokenizer.ggml.pre "${String(preName)}" is not supported (only ${Object.keys(BYTE_LEVEL_PRE).join(', ')}): ` +
        'use the model\'s tokenizer.json instead (a path, or hf:ORG/NAME)',
    );
  }
  if (!values.has('tokenizer.ggml.merges')) throw new Error('a "gpt2" tokenizer needs tokenizer.ggml.merges');
  const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(tokens, tokenTypes),
    normalizer: null,
    pre_tokenizer:
      pre.regex === undefined
        ? byteLevel(true)
        : { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: pre.regex }, behavior: 'Isolated', invert: false }, byteLevel(false)] },
    post_processor: null,
    decoder: byteLevel(true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre.ignoreMerges ?? false,
      vocab: vocabulary(tokens),
      merges: splitMerges(stringArray(values, 'tokenizer.ggml.merges')),
    },
  };
}

/**
 * Control tokens are special added tokens (transformers does the same); user-defined
 * ones are matched in the text as llama.cpp matches them, but are not special.
 */
function addedTokens(tokens: string[], tokenTypes: number[] | undefined): object[] {
  if (!tokenTypes) return [];
  const added: object[] = [];
  tokenTypes.forEach((type, id) => {
    if (type !== TOKEN_TYPE.CONTROL && type !== TOKEN_TYPE.USER_DEFINED) return;
    added.push({ id, content: tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: type === TOKEN_TYPE.CONTROL });
  });
  return added;
}

function vocabulary(tokens: string[]): Record<string, number> {
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  tokens.forEach((token, id) => (vocab[token] = id));
  return vocab;
}

function splitMerges(merges: string[]): [string, string][] {
  return merges.map((merge) => {
    const space = merge.indexOf(' ');
    if (space < 0) throw new Error(`tokenizer.ggml.merges: "${merge}" is not two tokens separated by a space`);
    return [merge.slice(0, space), merge.slice(space + 1)];
  });
}

/**
 * SentencePiece files carry scores, not merges: every split of a token into two
 * tokens is a merge, ranked by the merged token's score (highest first), ties by
 * the halves' scores (GGUFTokenizerSkeleton in transformers).
 */
function mergesFromScores(tokens: string[], scores: number[]): [string, string][] {
  const scoreOf = new Map<string, number>();
  tokens.forEach((token, id) => scoreOf.set(token, scores[id]!));
  const merges: { left: string; right: string; score: number }[] = [];
  for (const [merged, score] of scoreOf) {
    const local: { left: string; right: string; score: number }[] = [];
    const characters = Array.from(merged);
    for (let index = 1; index < characters.length; index++) {
      const left = characters.slice(0, index).join('');
      const right = characters.slice(index).join('');
      if (scoreOf.has(left) && scoreOf.has(right)) local.push({ left, right, score });
    }
    local.sort((a, b) => scoreOf.get(b.left)! - scoreOf.get(a.left)! || scoreOf.get(b.right)! - scoreOf.get(a.right)!);
    merges.push(...local);
  }
  // Array.prototype.sort is stable, as Python's sorted is.
  merges.sort((a, b) => b.score - a.score);
  return merges.map(({ left, right }) => [left, right]);
}

function stringArray(values: ReadonlyMap<string, GgufValue>, key: string): string[] {
  const value = values.get(key);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new Error(`${key} is missing or not an array of strings`);
  return value as string[];
}

function numberArray(values: ReadonlyMap<string, GgufValue>, key: string, length: number): number[] | undefined {
  const value = values.get(key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length !== length || !value.every((item) => typeof item === 'number')) {
    throw new Error(`${key} is not an array of ${length} numbers (one per token)`);
  }
  return value as number[];
}

function integer(values: ReadonlyMap<string, GgufValue>, key: string): number | undefined {
  const value = values.get(key);
  return typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined;
}
