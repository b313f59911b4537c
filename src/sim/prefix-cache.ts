/**
 * The simulator's prefix cache (profile `prefixCache`): which message-list
 * prefixes it has served, so a request whose leading messages it has seen
 * counts their tokens as cached, as a server with automatic prefix caching
 * (vLLM, SGLang) reports them in `usage.prompt_tokens_details.cached_tokens`.
 *
 * A prefix is whole messages (a real cache works in blocks of ~16 tokens; a
 * message boundary keeps the simulator's counts exact and easy to check). It
 * is keyed by a running hash of the messages' roles and texts, so a session's
 * next turn, whose history is the previous request's messages plus the answer
 * the server gave, finds everything but its new user message.
 */
import { createHash } from 'node:crypto';

/** One message as the simulator reads it: a role and its text. */
export interface SimMessage {
  role: string;
  content: string;
}

/** Prompt tokens of one message: the simulator has no tokenizer, so its words plus a per-message template overhead. */
export const messageTokens = (message: SimMessage): number => 4 + (message.content.match(/\S+/g)?.length ?? 0);

/** The running hash of each prefix: hashes[k] identifies messages[0…k], continuing from `previous` (the hash of the messages before them). */
function prefixHashes(messages: readonly SimMessage[], previous = ''): string[] {
  const hashes: string[] = [];
  for (const message of messages) {
    previous = createHash('sha256').update(previous).update(JSON.stringify([message.role, message.content])).digest('hex');
    hashes.push(previous);
  }
  return hashes;
}

/**
 * Prefixes a cache keeps by default: a real server's cache is bounded by its KV blocks, and an
 * unbounded one would grow with every request of a long run (about 150 bytes a prefix: ~15 MB here).
 */
export const PREFIX_CACHE_ENTRIES = 100_000;

/** A prompt as the cache admitted it: the tokens it held of it, and its prefixes' hashes (for its answer to follow). */
export interface AdmittedPrompt {
  cachedTokens: number;
  hashes: readonly string[];
}

/** Message-list prefixes served, the least recently used forgotten first past `maxPrefixes`. */
export class PrefixCache {
  /** In order of last use, oldest first (a Set keeps insertion order). */
  private readonly seen = new Set<string>();

  constructor(private readonly maxPrefixes = PREFIX_CACHE_ENTRIES) {}

  /** Tokens of the longest prefix of `messages` served before (whole messages), 0 for none. */
  cachedTokens(messages: readonly SimMessage[]): number {
    return this.heldTokens(messages, prefixHashes(messages));
  }

  /** Remembers every prefix of `messages` (a prompt once prefilled, or a prompt with its answer once decoded), as just used. */
  remember(messages: readonly SimMessage[]): void {
    this.use(prefixHashes(messages));
  }

  /** A prompt prefilled: cachedTokens(messages), then remember(messages), hashing the messages once. */
  admit(messages: readonly SimMessage[]): AdmittedPrompt {
    const hashes = prefixHashes(messages);
    const cachedTokens = this.heldTokens(messages, hashes);
    this.use(hashes);
    return { cachedTokens, hashes };
  }

  /** A prompt's answer decoded: remember([...messages, answer]), hashing only the answer (from the prompt's last hash). */
  rememberAnswer(prompt: AdmittedPrompt, answer: SimMessage): void {
    this.use([...prompt.hashes, ...prefixHashes([answer], prompt.hashes.at(-1))]);
  }

  /** Tokens of the longest prefix whose hash (of `hashes`, messages' own) the cache holds. */
  private heldTokens(messages: readonly SimMessage[], hashes: readonly string[]): number {
    let longest = 0;
    hashes.forEach((hash, k) => {
      if (this.seen.has(hash)) longest = k + 1;
    });
    return messages.slice(0, longest).reduce((sum, message) => sum + messageTokens(message), 0);
  }

  /** Marks prefixes as just used, in order, then forgets the least recently used past the bound. */
  private use(hashes: readonly string[]): void {
    for (const hash of hashes) {
      this.seen.delete(hash);
      this.seen.add(hash);
    }
    for (const oldest of this.seen) {
      if (this.seen.size <= this.maxPrefixes) break;
      this.seen.delete(oldest);
    }
  }
}

/** A request body's messages (or a completions prompt's list) as the cache reads them; undefined when it is no list. */
export function simMessagesOf(value: unknown): SimMessage[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((message: unknown) => {
    // A legacy completions prompt may be a list of strings.
    if (typeof message === 'string') return { role: '', content: message };
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    return { role: typeof role === 'string' ? role : '', content: typeof content === 'string' ? content : JSON.stringify(content ?? '') };
  });
}
