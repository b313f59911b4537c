/**
 * A dataset's prompts for one model: its entries in file order or in an order
 * shuffled from the scenario's seed, kept when their lengths in the model's
 * tokenizer pass the filters, up to the limit; each reference answer's length
 * becomes the prompt's referenceTokens (workload.ts decides whether it is sent
 * as max_tokens).
 *
 * With `turns`, each prompt is a session: the conversation's later human
 * turns become its followUps (the length filters judge the first turn).
 *
 * The order depends on the seed alone, so models with different tokenizers
 * walk the entries in the same order and differ only where a length sits near
 * a bound.
 */
import type { Tokenizer } from '../metrics/tokenizers.js';
import type { DatasetEntry, DatasetPrompts, FollowUp, Prompt } from '../types.js';
import { deriveSeed, seededRandom, shuffled } from '../util/random.js';

/** The seed stream of the random sample (synthetic prompts use 1–3 and 5–7). */
const SAMPLE_STREAM = 4;

/** Tokens of a text in a tokenizer, without any chat template. */
const countTokens = (tokenizer: Tokenizer, text: string): number => tokenizer.encode(text).length;

/** The prompts one model is sent (at most `limit`; none when no entry passes the filters). */
export function selectDatasetPrompts(spec: DatasetPrompts, tokenizer: Tokenizer, seed: number): Prompt[] {
  const order = entryOrder(spec.entries.length, spec.sample, seed);
  const limit = spec.limit ?? Infinity;
  const filtersInput = spec.minInputTokens !== undefined || spec.maxInputTokens !== undefined;
  const filtersOutput = spec.minOutputTokens !== undefined || spec.maxOutputTokens !== undefined;
  const prompts: Prompt[] = [];
  for (const index of order) {
    if (prompts.length >= limit) break;
    const { reference, laterTurns, ...entry } = spec.entries[index]!;
    if (filtersInput) {
      const inputTokens = entry.messages.reduce((sum, message) => sum + countTokens(tokenizer, message.content), 0);
      if (!within(inputTokens, spec.minInputTokens, spec.maxInputTokens)) continue;
    }
    const referenceTokens = reference === undefined ? 0 : countTokens(tokenizer, reference);
    if (filtersOutput && (referenceTokens === 0 || !within(referenceTokens, spec.minOutputTokens, spec.maxOutputTokens))) continue;
    // An empty reference says nothing of the answer's length: max_tokens then comes from the scenario.
    const prompt: Prompt = referenceTokens > 0 ? { ...entry, referenceTokens } : entry;
    if (spec.turns !== undefined) prompt.followUps = followUpsOf(laterTurns ?? [], spec.turns, tokenizer);
    prompts.push(prompt);
  }
  return prompts;
}

/** A conversation's later turns as a session's follow-ups, up to `turns` turns in all; each reference answer's length a cap. */
function followUpsOf(laterTurns: NonNullable<DatasetEntry['laterTurns']>, turns: number | 'all', tokenizer: Tokenizer): FollowUp[] {
  return laterTurns.slice(0, turns === 'all' ? undefined : turns - 1).map(({ messages, reference }) => {
    const referenceTokens = reference === undefined ? 0 : countTokens(tokenizer, reference);
    return referenceTokens > 0 ? { messages, referenceTokens } : { messages };
  });
}

function within(value: number, min: number | undefined, max: number | undefined): boolean {
  return value >= (min ?? 0) && value <= (max ?? Infinity);
}

/** Entry indices: in file order, or shuffled (Fisher–Yates) from the seed. */
function entryOrder(count: number, sample: DatasetPrompts['sample'], seed: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  return sample === 'first' ? order : shuffled(order, seededRandom(deriveSeed(seed, SAMPLE_STREAM)));
}
