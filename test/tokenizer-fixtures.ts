/** Hand-written Hugging Face tokenizer.json files for tests: small, exact, no download. */

/** A byte-level BPE tokenizer.json: every printable ASCII byte, plus the merges given. */
export function byteLevelTokenizerJson(merges: [string, string][]): object {
  const vocab: Record<string, number> = {};
  for (let code = 32; code < 127; code++) vocab[code === 32 ? 'Ġ' : String.fromCharCode(code)] = code - 32;
  for (const [a, b] of merges) vocab[a + b] ??= Object.keys(vocab).length;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
}

/** Merges for byteLevelTokenizerJson that make each word one token, alone and after a space ("Ġ"). */
export function wordMerges(words: string[]): [string, string][] {
  const merges = new Map<string, [string, string]>();
  for (const word of words) {
    for (let end = 2; end <= word.length; end++) merges.set(word.slice(0, end), [word.slice(0, end - 1), word[end - 1]!]);
    merges.set(`Ġ${word}`, ['Ġ', word]);
  }
  return [...merges.values()];
}

/**
 * A SentencePiece Unigram tokenizer.json as Llama 2 / Mistral ship them: "▁" prepended and for
 * spaces, the pieces given (with their scores), and a byte fallback for everything else.
 */
export function sentencePieceTokenizerJson(pieces: [string, number][]): object {
  const vocab: [string, number][] = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ...pieces];
  for (let byte = 0; byte < 256; byte++) vocab.push([`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`, -5]);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: true },
  };
}

/**
 * A small Llama 2 style vocabulary, as a GGUF file carries it (tokens, scores,
 * token types: <unk>, two control tokens, 256 byte tokens, then pieces) with the
 * merges its scores imply written out by hand, as Hugging Face ships them.
 */
export const LLAMA_VOCAB = (() => {
  const tokens = ['<unk>', '<s>', '</s>'];
  const scores = [0, 0, 0];
  const tokenTypes = [2, 3, 3];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    scores.push(0);
    tokenTypes.push(6);
  }
  // The merged pieces, best score first; single characters score lowest.
  const merged = ['ll', '▁h', '▁he', '▁hell', '▁hello', '▁w', 'or', 'ld', '▁wor', '▁world'];
  merged.forEach((piece, i) => (tokens.push(piece), scores.push(-1 - i), tokenTypes.push(1)));
  ['▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd', 'é'].forEach((piece, i) => (tokens.push(piece), scores.push(-100 - i), tokenTypes.push(1)));
  const merges: [string, string][] = [['l', 'l'], ['▁', 'h'], ['▁h', 'e'], ['▁he', 'll'], ['▁hell', 'o'], ['▁', 'w'], ['o', 'r'], ['l', 'd'], ['▁w', 'or'], ['▁wor', 'ld']];
  return { tokens, scores, tokenTypes, merges };
})();

/** The Hugging Face tokenizer.json of LLAMA_VOCAB: BPE with byte fallback, "▁" prepended and for spaces (Llama 2's). */
export function llamaTokenizerJson(): object {
  const vocab = Object.fromEntries(LLAMA_VOCAB.tokens.map((token, id) => [token, id]));
  const special = (id: number) => ({ id, content: LLAMA_VOCAB.tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0), special(1), special(2)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: LLAMA_VOCAB.merges },
  };
}

/** GPT-2's bytes_to_unicode: the printable character that stands for each byte in a byte-level vocabulary. */
export function byteLevelAlphabet(): string[] {
  const printable = (byte: number) => (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
  let next = 256;
  return Array.from({ length: 256 }, (_, byte) => String.fromCodePoint(printable(byte) ? byte : next++));
}
