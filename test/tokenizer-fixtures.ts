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
