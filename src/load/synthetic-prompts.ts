/**
 * Synthetic prompts of exact token lengths in a model's tokenizer, drawn from
 * the scenario's seed, optionally in groups that share a prefix.
 *
 * Lengths come first, from the seed alone, so every model of a run gets the
 * same lengths in the same order whatever its tokenizer; texts come after,
 * each from its own stream, so with the same tokenizer they are identical too.
 */
import type { Tokenizer } from '../metrics/tokenizers.js';
import type { FollowUp, LengthDistribution, Prompt, SharedPrefix, SyntheticPrompts, TraceLine } from '../types.js';
import { PROMPT_WORDS } from './prompt-words.js';
import { deriveSeed, drawInteger, drawNormal, seededRandom, shuffled, type Random } from '../util/random.js';

/** The independent streams drawn from a run's seed (4 is a dataset's sample order, dataset-prompts.ts). */
const STREAM = { inputLengths: 1, outputLengths: 2, text: 3, prefixText: 5, prefixLeads: 6, suffixLeads: 7, traceText: 8 } as const;

/** Re-encodes allowed to correct a text whose words a tokenizer merged or split. */
const MAX_FIXUPS = 8;

/**
 * Draws `count` prompts from the spec: prompt i has exactly inputLengths[i] tokens in `tokenizer`
 * (content text only, no chat template), after its group's shared prefix when the spec has one,
 * and maxTokens from outputTokens. With `turns`, each prompt is a session of that many user
 * messages, each drawn the same way (the first is the prompt's own, with its group's shared prefix;
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
  const shared = spec.sharedPrefix && sharedPrefixes(spec.sharedPrefix, tokenizer, seed);
  return Array.from({ length: spec.count }, (_, session) => {
    // Without a shared prefix, each prompt is random words from its first token on, so no two share
    // a prefix: a server's prefix cache (whole blocks of ~16 tokens from the start) finds nothing to
    // reuse beyond the chat template, and every prompt costs its full prefill. (A session's later
    // turns do share their history: that is the point.)
    const turnOf = (draw: number, first: boolean): FollowUp => {
      const tokens = inputLengths[draw]!;
      const random = seededRandom(deriveSeed(seed, STREAM.text, draw));
      const turn: FollowUp =
        first && shared
          ? prefixedPrompt(shared, session, tokens, tokenizer, random)
          : { messages: [{ role: 'user', content: exactText(tokens, tokenizer, random) }], inputTokens: tokens };
      if (outputLengths) turn.maxTokens = outputLengths[draw]!;
      return turn;
    };
    const prompt: Prompt = turnOf(session * turns, true);
    if (spec.turns !== undefined) prompt.followUps = Array.from({ length: turns - 1 }, (_, t) => turnOf(session * turns + t + 1, false));
    return prompt;
  });
}

/** The groups' prefixes of one tokenizer, and the words each prompt's own part may open with. */
interface SharedPrefixes {
  spec: SharedPrefix;
  /** Group g's prefix: its text, and that text's token ids. */
  prefixes: { text: string; ids: number[] }[];
  /** The k-th prompt of a group opens its own part with leads[k mod leads.length]. */
  leads: string[];
}

/**
 * Each group's prefix of exactly `tokens` tokens, opening with a one-token word no other group's
 * opens with (so two groups share no token at all from the start), in an order drawn from the seed.
 */
function sharedPrefixes(spec: SharedPrefix, tokenizer: Tokenizer, seed: number): SharedPrefixes {
  const { first, following } = tokenWords(tokenizer);
  if (spec.groups > first.length) {
    throw new Error(
      `synthetic prompts: cannot give ${spec.groups} shared-prefix groups distinct first tokens with tokenizer ${tokenizer.name}: ` +
        `only ${first.length} of tokenmeter's ${PROMPT_WORDS.length} prompt words are a single token in it at the start of a text`,
    );
  }
  const openers = shuffled(first, seededRandom(deriveSeed(seed, STREAM.prefixLeads)));
  const prefixes = Array.from({ length: spec.groups }, (_, group) => {
    const text = exactText(spec.tokens, tokenizer, seededRandom(deriveSeed(seed, STREAM.prefixText, group)), { lead: openers[group]! });
    return { text, ids: tokenizer.encode(text) };
  });
  // The prompts of a group differ from the first token after the prefix on (the first
  // leads.length of them pairwise): the group's common prefix is the prefix, not a token more.
  // A system prefix leaves the prompt's own part a text of its own; a user one continues it.
  const leads = shuffled(spec.as === 'system' ? first : following, seededRandom(deriveSeed(seed, STREAM.suffixLeads)));
  return { spec, prefixes, leads };
}

/** Prompt `index`: its group's prefix (group index mod groups) and then `tokens` tokens of its own. */
function prefixedPrompt(shared: SharedPrefixes, index: number, tokens: number, tokenizer: Tokenizer, random: Random): Prompt {
  const { spec, prefixes, leads } = shared;
  const prefix = prefixes[index % spec.groups]!;
  const lead = leads[Math.floor(index / spec.groups) % leads.length];
  const inputTokens = spec.tokens + tokens;
  if (spec.as === 'system') {
    const own = exactText(tokens, tokenizer, random, lead === undefined ? {} : { lead });
    return { messages: [{ role: 'system', content: prefix.text }, { role: 'user', content: own }], inputTokens };
  }
  const text = exactText(tokens, tokenizer, random, { after: prefix, ...(lead === undefined ? {} : { lead }) });
  return { messages: [{ role: 'user', content: text }], inputTokens };
}

/**
 * A trace's prompts, line n for arrival n: a `{input_tokens, output_tokens}` line becomes a text of
 * exactly that many tokens in `tokenizer` (its own seeded stream, as a synthetic prompt's) with that
 * output length; a `{messages}` line is sent as written, its max_tokens a cap.
 */
export function buildTracePrompts(lines: readonly TraceLine[], tokenizer: Tokenizer, seed: number): Prompt[] {
  return lines.map((line, index): Prompt => {
    if ('messages' in line) return { messages: line.messages, ...(line.maxTokens !== undefined ? { maxTokens: line.maxTokens } : {}) };
    const text = exactText(line.inputTokens, tokenizer, seededRandom(deriveSeed(seed, STREAM.traceText, index)));
    return { messages: [{ role: 'user', content: text }], inputTokens: line.inputTokens, maxTokens: line.outputTokens, exactOutput: true };
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
      return roundAndClamp(distribution.mean + distribution.stdev * drawNormal(random), distribution.min, distribution.max);
    case 'lognormal': {
      // The spec gives the mean and stdev of the length itself; the underlying
      // normal has sigma² = ln(1 + stdev²/mean²) and mu = ln(mean) − sigma²/2.
      const variance = Math.log(1 + (distribution.stdev / distribution.mean) ** 2);
      const mu = Math.log(distribution.mean) - variance / 2;
      return roundAndClamp(Math.exp(mu + Math.sqrt(variance) * drawNormal(random)), distribution.min, distribution.max);
    }
  }
}

function roundAndClamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
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

/** How a text opens: with a given word, and after a given text (whose tokens it must leave as they are). */
interface Opening {
  /** The first word (one token where it stands). */
  lead?: string;
  /** A text the words continue, after a space; its token ids. */
  after?: { text: string; ids: number[] };
}

/**
 * A text of exactly `target` tokens: "w1 w2 … wn", with no space at either
 * end (chat templates such as Llama 3's trim the content, which would change
 * the count). Encoded once to verify; if the tokenizer merged or split
 * anything, words are added or removed and it is verified again.
 *
 * With `after`, the text is "after w1 … wn": its tokens are exactly after's
 * tokens, then `target` more. A tokenizer that merged a token across the
 * space (none of the built-in ones does: they split before a space) gets
 * another first word.
 */
function exactText(target: number, tokenizer: Tokenizer, random: Random, opening: Opening = {}): string {
  const { after } = opening;
  if (target === 0) return after?.text ?? '';
  const { first, following } = tokenWords(tokenizer);
  const openers = after ? following : first;
  if (openers.length === 0 || (target > 1 && following.length === 0)) {
    throw new Error(
      `synthetic prompts: cannot build a prompt of exactly ${target} tokens with tokenizer ${tokenizer.name}: ` +
        `none of tokenmeter's ${PROMPT_WORDS.length} prompt words is a single token in it ${openers.length === 0 && !after ? 'at the start of a text' : 'after a space'}`,
    );
  }
  const pick = (words: string[]): string => words[Math.floor(random() * words.length)]!;
  const words = [opening.lead ?? pick(openers)];
  while (words.length < target) words.push(pick(following));
  const before = after ? `${after.text} ` : '';
  let count = 0;
  for (let attempt = 0; attempt <= MAX_FIXUPS; attempt++) {
    const text = before + words.join(' ');
    const ids = tokenizer.encode(text);
    if (after && !startsWith(ids, after.ids)) {
      words[0] = pick(openers);
      continue;
    }
    count = ids.length - (after?.ids.length ?? 0);
    if (count === target) return text;
    if (count < target) for (let missing = target - count; missing > 0; missing--) words.push(pick(following));
    else words.length = Math.max(1, words.length - (count - target));
  }
  throw new Error(
    `synthetic prompts: cannot build a prompt of exactly ${target} tokens${after ? ' after its shared prefix' : ''} with tokenizer ${tokenizer.name}: ` +
      `its words merge or split (${count} tokens after ${MAX_FIXUPS} corrections)`,
  );
}

function startsWith(ids: readonly number[], start: readonly number[]): boolean {
  return start.length <= ids.length && start.every((id, i) => ids[i] === id);
}
