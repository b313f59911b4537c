/**
 * Dataset files of `prompts: {file, format}`: ShareGPT JSON (as vLLM's
 * ShareGPT_V3 file) and OpenAI chat JSONL, each entry a prompt and, where the
 * dataset has one, its reference answer (not sent: its length becomes
 * max_tokens, in each model's tokenizer, at run time). Every malformed entry is
 * reported at once, with its JSON array index or JSONL line number.
 */
import type { ChatMessage, DatasetEntry, DatasetFormat } from '../types.js';
import { parsePromptFile, parsePromptLine, PromptFileError, readPromptText } from './prompt-file.js';

/** What a dataset file holds: its usable entries, how many well-formed ones had nothing to send, and its hash. */
export interface DatasetFile {
  entries: DatasetEntry[];
  /** ShareGPT conversations without a human turn with text (the ShareGPT_V3 file has some). */
  skipped: number;
  /** SHA-256 of the file's bytes, lowercase hex: run.json keeps it instead of the entries. */
  sha256: string;
}

/**
 * ShareGPT's `from` → a chat role. ShareGPT_V3 also writes user, chatgpt and bing;
 * they are read as human and gpt, so the published file loads as it is.
 */
const SHAREGPT_ROLES: Record<string, ChatMessage['role']> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  chatgpt: 'assistant',
  bing: 'assistant',
  assistant: 'assistant',
  system: 'system',
};

const TURN_SHAPE = `must be {from: human|gpt|system, value: string}`;

/**
 * Reads a dataset file in its format; throws PromptFileError with every problem found. With
 * `conversations` (multi-turn sessions), each entry keeps its later human turns (conversationOf).
 */
export function readDatasetFile(file: string, format: DatasetFormat, conversations = false): DatasetFile {
  const { text, sha256 } = readPromptText(file);
  switch (format) {
    case 'jsonl':
      return { entries: parsePromptFile(file, text), skipped: 0, sha256 };
    case 'openai-chat':
      return { ...parseOpenAiChat(file, text, conversations), sha256 };
    case 'sharegpt':
      return { ...parseShareGpt(file, text, conversations), sha256 };
  }
}

/**
 * A conversation as a session's turns: the first human message (after the system messages just
 * before it) is the first turn; each later human message starts a turn, with any non-assistant
 * messages since the previous answer; the first assistant message after a turn is its reference
 * answer (not sent: in a session the server's own answer takes its place). Undefined when the
 * conversation has no human message with text.
 */
export function conversationOf(messages: readonly ChatMessage[]): DatasetEntry | undefined {
  const human = messages.findIndex((message) => message.role === 'user' && message.content !== '');
  if (human === -1) return undefined;
  let first = human;
  while (first > 0 && messages[first - 1]!.role === 'system') first--;
  const turns: { messages: ChatMessage[]; reference?: string }[] = [{ messages: messages.slice(first, human + 1) }];
  let pending: ChatMessage[] = [];
  for (const message of messages.slice(human + 1)) {
    const turn = turns.at(-1)!;
    if (message.role === 'assistant') {
      turn.reference ??= message.content;
      pending = [];
    } else if (message.role === 'user' && message.content !== '') {
      turns.push({ messages: [...pending, message] });
      pending = [];
    } else pending.push(message);
  }
  const [head, ...laterTurns] = turns;
  const entry: DatasetEntry = { messages: head!.messages };
  if (head!.reference !== undefined) entry.reference = head!.reference;
  if (laterTurns.length > 0) entry.laterTurns = laterTurns;
  return entry;
}

/** OpenAI chat JSONL: `{messages}` per line; a final assistant message is the reference answer. */
function parseOpenAiChat(file: string, text: string, conversations: boolean): Omit<DatasetFile, 'sha256'> {
  const entries: DatasetEntry[] = [];
  const problems: string[] = [];
  text
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() === '') return;
      const parsed = conversations ? parseOpenAiChatConversation(line) : parseOpenAiChatLine(line);
      if (typeof parsed === 'string') problems.push(`${file}:${index + 1}: ${parsed}`);
      else entries.push(parsed);
    });
  if (problems.length === 0 && entries.length === 0) problems.push(`${file}: has no prompts (one {"messages": [...]} object per line)`);
  if (problems.length > 0) throw new PromptFileError(problems);
  return { entries, skipped: 0 };
}

/** One OpenAI chat line → an entry, or the problem with it. */
function parseOpenAiChatLine(line: string): DatasetEntry | string {
  const prompt = parsePromptLine(line);
  if (typeof prompt === 'string') return prompt;
  const last = prompt.messages.at(-1)!;
  if (last.role !== 'assistant') return prompt;
  if (prompt.messages.length === 1) return 'has only an assistant message: nothing to send';
  return { ...prompt, messages: prompt.messages.slice(0, -1), reference: last.content };
}

/** One OpenAI chat line as a conversation of turns (conversationOf), or the problem with it. */
function parseOpenAiChatConversation(line: string): DatasetEntry | string {
  const prompt = parsePromptLine(line);
  if (typeof prompt === 'string') return prompt;
  return conversationOf(prompt.messages) ?? 'has no user message with text: nothing to send';
}

/** ShareGPT JSON: an array of `{conversations: [{from, value}, …]}`. */
function parseShareGpt(file: string, text: string, conversations: boolean): Omit<DatasetFile, 'sha256'> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PromptFileError([`${file}: not valid JSON (${(error as Error).message})`]);
  }
  if (!Array.isArray(value)) throw new PromptFileError([`${file}: must be a JSON array of {conversations: [{from, value}, ...]} (ShareGPT)`]);
  const entries: DatasetEntry[] = [];
  const problems: string[] = [];
  let skipped = 0;
  value.forEach((item: unknown, index) => {
    const parsed = parseShareGptEntry(item, conversations);
    if (Array.isArray(parsed)) problems.push(...parsed.map((problem) => `${file}[${index}]: ${problem}`));
    else if (parsed === undefined) skipped++;
    else entries.push(parsed);
  });
  if (problems.length === 0 && entries.length === 0) problems.push(`${file}: has no conversation with a human turn to send`);
  if (problems.length > 0) throw new PromptFileError(problems);
  return { entries, skipped };
}

/**
 * One ShareGPT conversation → its first human turn (after the system turns
 * before it) and the first gpt turn after it as the reference (with
 * `conversation`, its later turns too: conversationOf); undefined when
 * it has no human turn with text; or its problems.
 */
function parseShareGptEntry(item: unknown, conversation = false): DatasetEntry | undefined | string[] {
  const conversations = (item as { conversations?: unknown } | null)?.conversations;
  if (item === null || typeof item !== 'object' || Array.isArray(item) || !Array.isArray(conversations)) {
    return ['must be an object with conversations (a list of {from, value})'];
  }
  const problems: string[] = [];
  const turns: ChatMessage[] = [];
  conversations.forEach((turn: unknown, i) => {
    const { from, value } = (turn ?? {}) as { from?: unknown; value?: unknown };
    const role = typeof from === 'string' ? SHAREGPT_ROLES[from] : undefined;
    if (turn === null || typeof turn !== 'object' || role === undefined || typeof value !== 'string') problems.push(`conversations[${i}] ${TURN_SHAPE}`);
    else turns.push({ role, content: value });
  });
  if (problems.length > 0) return problems;
  if (conversation) return conversationOf(turns);
  const human = turns.findIndex((turn) => turn.role === 'user');
  if (human === -1 || turns[human]!.content === '') return undefined;
  let first = human;
  while (first > 0 && turns[first - 1]!.role === 'system') first--;
  const entry: DatasetEntry = { messages: turns.slice(first, human + 1) };
  const reference = turns.slice(human + 1).find((turn) => turn.role === 'assistant');
  if (reference !== undefined) entry.reference = reference.content;
  return entry;
}
