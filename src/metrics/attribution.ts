/**
 * Token attribution (METRICS.md, "Counting the tokens of a chunk"): tokenize
 * the whole output once, then give each token to the chunk in which its last
 * byte arrived. Tokenizing chunks one by one would split tokens that straddle
 * a chunk boundary and overcount; this never does.
 */
import type { Tokenizer } from './tokenizers.js';

/**
 * Tokens of each chunk, by tokenizer offsets over the concatenated text.
 * Runs after the request ended, never on the socket-reading path.
 */
export function tokensPerChunk(chunkTexts: readonly string[], tokenizer: Tokenizer): number[] {
  const counts = new Array<number>(chunkTexts.length).fill(0);
  if (chunkTexts.length === 0) return counts;
  const text = chunkTexts.join('');
  const tokenLengths = tokenizer.tokenByteLengths(text);
  const textBytes = Buffer.byteLength(text);
  const tokenBytes = tokenLengths.reduce((sum, length) => sum + length, 0);
  if (tokenBytes !== textBytes) {
    throw new Error(`tokenizer ${tokenizer.name} covered ${tokenBytes} of ${textBytes} bytes; cannot place tokens in chunks`);
  }
  let chunk = 0;
  let chunkEnd = Buffer.byteLength(chunkTexts[0]!);
  let tokenEnd = 0;
  for (const length of tokenLengths) {
    // A token with no bytes carries no text, so it arrived in no chunk (SentencePiece's prepended "▁").
    if (length === 0) continue;
    tokenEnd += length;
    // The token's last byte is at tokenEnd - 1: find the chunk that holds it.
    while (tokenEnd > chunkEnd) chunkEnd += Buffer.byteLength(chunkTexts[++chunk]!);
    counts[chunk]!++;
  }
  return counts;
}

export interface Reconciled {
  counts: number[];
  /** Server total minus tokenizer total; undefined when they agree or there is no usage. */
  mismatch?: number;
}

/**
 * When the server's `usage.completion_tokens` differs from the tokenizer's
 * total, the server wins: the difference goes to the last chunk (a stop token
 * is generated last), never below zero in any chunk.
 */
export function reconcileWithUsage(counts: readonly number[], usageTotal: number | undefined): Reconciled {
  const reconciled = [...counts];
  const tokenizerTotal = counts.reduce((sum, k) => sum + k, 0);
  if (usageTotal === undefined || usageTotal === tokenizerTotal) return { counts: reconciled };
  const mismatch = usageTotal - tokenizerTotal;
  if (reconciled.length === 0) return { counts: reconciled, mismatch };
  if (mismatch > 0) {
    reconciled[reconciled.length - 1]! += mismatch;
  } else {
    let excess = -mismatch;
    for (let i = reconciled.length - 1; i >= 0 && excess > 0; i--) {
      const removed = Math.min(reconciled[i]!, excess);
      reconciled[i]! -= removed;
      excess -= removed;
    }
  }
  return { counts: reconciled, mismatch };
}
