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

/** Reads a dataset file in its format; throws PromptFileError with every problem found. */
export function readDatasetFile(file: string, format: DatasetFormat): DatasetFile {
  const { text, sha256 } = readPromptText(file);
  switch (format) {
    case 'jsonl':
      return { entries: parsePromptFile(file, text), skipped: 0, sha256 };
    case 'openai-chat':
      return { ...parseOpenAiChat(file, text), sha256 };
    case 'sharegpt':
      return { ...parseShareGpt(file, text), sha256 };
  }
}

/** OpenAI chat JSONL: `{messages}` per line; a final assistant message is the reference answer. */
function parseOpenAiChat(file: string, text: string): Omit<DatasetFile, 'sha256'> {
  const entries: DatasetEntry[] = [];
  const problems: string[] = [];
  text
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() === '') return;
      const parsed = parseOpenAiChatLine(line);
      if (typeof parsed === 'string') problems.push(`${file}:${index + 1}: ${parsed}`);
      else entries.push(parsed);
    });
  if (problems.length === 0 && entries.length === 0) problems.push(`${file}: has no prompts (one {"messages": [...]} object per line)`);
  if (problems.length > 0) throw new PromptFileError(problems);
  return { entries, skipped: 0 };
}

/** One OpenAI chat line → an entry, or the problem with it. */
export function parseOpenAiChatLine(line: string): DatasetEntry | string {
  const prompt = parsePromptLine(line);
  if (typeof prompt === 'string') return prompt;
  const last = prompt.messages.at(-1)!;
  if (last.role !== 'assistant') return prompt;
  if (prompt.messages.length === 1) return 'has only an assistant message: nothing to send';
  return { ...prompt, messages: prompt.messages.slice(0, -1), reference: last.content };
}

/** ShareGPT JSON: an array of `{conversations: [{from, value}, …]}`. */
function parseShareGpt(file: string, text: string): Omit<DatasetFile, 'sha256'> {
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
    const parsed = parseShareGptEntry(item);
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
 * before it) and the first gpt turn after it as the reference; undefined when
 * it has no human turn with text; or its problems.
 */
export function parseShareGptEntry(item: unknown): DatasetEntry | undefined | string[] {
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
  const human = turns.findIndex((turn) => turn.role === 'user');
  if (human === -1 || turns[human]!.content === '') return undefined;
  let first = human;
  while (first > 0 && turns[first - 1]!.role === 'system') first--;
  const entry: DatasetEntry = { messages: turns.slice(first, human + 1) };
  const reference = turns.slice(human + 1).find((turn) => turn.role === 'assistant');
  if (reference !== undefined) entry.reference = reference.content;
  return entry;
}
