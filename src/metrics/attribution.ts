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
  /** The difference was beyond the allowance: every chunk was scaled, so the counts are approximate. */
  scaled?: true;
}

/** Tokens per choice that have no text (stop and special tokens): a difference up to this is not a different tokenizer. */
export const UNTEXTED_TOKENS_PER_CHOICE = 2;

/** Whether two token totals of a response with `choices` choices differ by no more than its untexted tokens can. */
export const withinAllowance = (difference: number, choices: number): boolean => Math.abs(difference) <= UNTEXTED_TOKENS_PER_CHOICE * Math.max(1, choices);

/**
 * Reconciliation with the server's total `U` (METRICS.md): the server wins.
 * A difference of at most UNTEXTED_TOKENS_PER_CHOICE per choice goes to the
 * last chunk (a stop token is generated last; an excess comes off the end,
 * never below zero in any chunk). A larger one means the tokenizer is not the
 * server's: every count is scaled by U / C with largest-remainder rounding, so
 * they sum to U, and the result is marked `scaled`.
 */
export function reconcileWithUsage(counts: readonly number[], usageTotal: number | undefined, choices = 1): Reconciled {
  const reconciled = [...counts];
  const tokenizerTotal = counts.reduce((sum, k) => sum + k, 0);
  if (usageTotal === undefined || usageTotal === tokenizerTotal) return { counts: reconciled };
  const mismatch = usageTotal - tokenizerTotal;
  if (reconciled.length === 0) return { counts: reconciled, mismatch };
  if (!withinAllowance(mismatch, choices) && tokenizerTotal > 0) {
    return { counts: scaleTo(counts, usageTotal), mismatch, scaled: true };
  }
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

/** Counts scaled to sum to `total`: each its exact share rounded down, the rest to the largest remainders (ties: the earlier chunk). */
function scaleTo(counts: readonly number[], total: number): number[] {
  const sum = counts.reduce((s, k) => s + k, 0);
  const exact = counts.map((k) => (k * total) / sum);
  const scaled = exact.map(Math.floor);
  let left = total - scaled.reduce((s, k) => s + k, 0);
  const byRemainder = exact.map((x, i) => ({ i, remainder: x - Math.floor(x) })).sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    scaled[i]!++;
    left--;
  }
  return scaled;
}
