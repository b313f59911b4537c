/**
 * Synthetic prompts of exact token lengths in a model's tokenizer, drawn from
 * the scenario's seed.
 *
 * Lengths come first, from the seed alone, so every model of a run gets the
 * same lengths in the same order whatever its tokenizer; texts come after,
 * each from its own stream, so with the same tokenizer they are identical too.
 */
import type { Tokenizer } from '../metrics/tokenizers.js';
import type { FollowUp, LengthDistribution, Prompt, SyntheticPrompts } from '../types.js';
import { PROMPT_WORDS } from './prompt-words.js';
import { deriveSeed, drawInteger, seededRandom, type Random } from '../util/random.js';

/** The independent streams drawn from a run's seed. */
const STREAM = { inputLengths: 1, outputLengths: 2, text: 3 } as const;

/** Re-encodes allowed to correct a text whose words a tokenizer merged or split. */
const MAX_FIXUPS = 8;

/**
 * Draws `count` prompts from the spec: prompt i has exactly inputLengths[i] tokens in `tokenizer`
 * (content text only, no chat template) and maxTokens from outputTokens. With `turns`, each prompt
 * is a session of that many user messages, each drawn the same way (the first is the prompt's own,
 * the rest its followUps, of followUpTokens where set), in session order: session i's turn t is
 * draw i·turns + t.
 */
export function buildSyntheticPrompts(spec: SyntheticPrompts, tokenizer: Tokenizer, seed: number): Prompt[] {
  const turns = spec.turns ?? 1;
  const draws = spec.count * turns;
  const inputRandom = seededRandom(deriveSeed(seed, STREAM.inputLengths));
  const followUps = spec.followUpTokens ?? spec.inputTokens;
  const inputLengths = Array.from({ length: draws }, (_, draw) => drawLength(draw % turns === 0 ? spec.inputTokens : followUps, inputRandom));
  const outputSpec = spec.outputTokens;
  const outputRandom = seededRandom(deriveSeed(seed, STREAM.outputLengths));
  const outputLengths = outputSpec && Array.from({ length: draws }, () => drawLength(outputSpec, outputRandom));
  const messages = inputLengths.map((tokens, index): FollowUp => {
    // Each prompt is random words from its first token on, so no two share a
    // prefix: a server's prefix cache (whole blocks of ~16 tokens from the
    // start) finds nothing to reuse beyond the chat template, and every prompt
    // costs its full prefill. (A session's later turns do share their history: that is the point.)
    const text = exactText(tokens, tokenizer, seededRandom(deriveSeed(seed, STREAM.text, index)));
    const turn: FollowUp = { messages: [{ role: 'user', content: text }], inputTokens: tokens };
    if (outputLengths) turn.maxTokens = outputLengths[index]!;
    return turn;
  });
  return Array.from({ length: spec.count }, (_, session) => {
    const [first, ...rest] = messages.slice(session * turns, (session + 1) * turns);
    const prompt: Prompt = { ...first! };
    if (spec.turns !== undefined) prompt.followUps = rest;
    return prompt;
  });
}

/** One draw of a length in tokens: rounded and clamped to [min, max] (a fixed length is its value). */
export function drawLength(distribution: LengthDistribution, random: () => number): number {
  switch (distribution.kind) {
    case 'fixed':
      return distribution.value;
    case 'uniform':
      return drawInteger([distribution.min, distribution.max], random);
    case 'normal':
      return roundAndClamp(distribution.mean + distribution.stdev * standardNormal(random), distribution.min, distribution.max);
    case 'lognormal': {
      // The spec gives the mean and stdev of the length itself; the underlying
      // normal has sigma² = ln(1 + stdev²/mean²) and mu = ln(mean) − sigma²/2.
      const variance = Math.log(1 + (distribution.stdev / distribution.mean) ** 2);
      const mu = Math.log(distribution.mean) - variance / 2;
      return roundAndClamp(Math.exp(mu + Math.sqrt(variance) * standardNormal(random)), distribution.min, distribution.max);
    }
  }
}

function roundAndClamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

/** A standard normal draw by the Box–Muller transform (Box and Muller, 1958); the sine twin is not kept. */
function standardNormal(random: Random): number {
  const u1 = 1 - random(); // in (0, 1], so the log is finite
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** The prompt words that are one token in a tokenizer: at the start of a text, and after a space. */
interface TokenWords {
  first: string[];
  following: string[];
}

// Keyed by the tokenizer itself: the names of tokenizer.json files need not be unique.
const wordsByTokenizer = new WeakMap<Tokenizer, TokenWords>();

function tokenWords(tokenizer: Tokenizer): TokenWords {
  let words = wordsByTokenizer.get(tokenizer);
  if (!words) {
    const first = PROMPT_WORDS.filter((word) => tokenizer.encode(word).length === 1);
    // Measured after a first word rather than as " word" alone: a SentencePiece
    // normalizer prepends "▁" to a text, so " word" alone would count its space twice.
    const probe = first[0];
    const probeTokens = probe === undefined ? 0 : tokenizer.encode(probe).length;
    const following = probe === undefined ? [] : PROMPT_WORDS.filter((word) => tokenizer.encode(`${probe} ${word}`).length === probeTokens + 1);
    words = { first, following };
    wordsByTokenizer.set(tokenizer, words);
  }
  return words;
}

/**
 * A text of exactly `target` tokens: "w1 w2 … wn", with no space at either
 * end (chat templates such as Llama 3's trim the content, which would change
 * the count). Encoded once to verify; if the tokenizer merged or split
 * anything, words are added or removed and it is verified again.
 */
function exactText(target: number, tokenizer: Tokenizer, random: Random): string {
  if (target === 0) return '';
  const { first, following } = tokenWords(tokenizer);
  if (first.length === 0 || (target > 1 && following.length === 0)) {
    throw new Error(
      `synthetic prompts: cannot build a prompt of exactly ${target} tokens with tokenizer ${tokenizer.name}: ` +
        `none of tokenmeter's ${PROMPT_WORDS.length} prompt words is a single token in it ${first.length === 0 ? 'at the start of a text' : 'after a space'}`,
    );
  }
  const pick = (words: string[]): string => words[Math.floor(random() * words.length)]!;
  const words = [pick(first)];
  while (words.length < target) words.push(pick(following));
  let count = 0;
  for (let attempt = 0; attempt <= MAX_FIXUPS; attempt++) {
    const text = words.join(' ');
    count = tokenizer.encode(text).length;
    if (count === target) return text;
    if (count < target) for (let missing = target - count; missing > 0; missing--) words.push(pick(following));
    else words.length = Math.max(1, words.length - (count - target));
  }
  throw new Error(
    `synthetic prompts: cannot build a prompt of exactly ${target} tokens with tokenizer ${tokenizer.name}: ` +
      `its words merge or split (${count} tokens after ${MAX_FIXUPS} corrections)`,
  );
}
