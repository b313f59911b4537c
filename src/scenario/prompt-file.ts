/**
 * Prompt sets from JSONL files: one `{messages}` or `{prompt}` object per
 * line, with an optional `max_tokens`. Every bad line is reported, with its
 * line number.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CHAT_ROLES, type ChatMessage, type Prompt } from '../types.js';

/** A prompt file's text (`file` names it in problems) → its prompts; throws a list of problems ("prompts.jsonl:3: …") if any line is bad. */
export function parsePromptFile(file: string, text: string): Prompt[] {
  const prompts: Prompt[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const parsed = parsePromptLine(line);
    if (typeof parsed === 'string') problems.push(`${file}:${index + 1}: ${parsed}`);
    else prompts.push(parsed);
  });
  if (problems.length === 0 && prompts.length === 0) problems.push(`${file}: has no prompts (one JSON object per line)`);
  if (problems.length > 0) throw new PromptFileError(problems);
  return prompts;
}

/** A prompt or dataset file as read: its text, and the SHA-256 of its bytes (run.json keeps the hash, not the prompts). */
export interface PromptFileText {
  /** The text, without a byte-order mark. */
  text: string;
  /** SHA-256 of the file's bytes as read (the byte-order mark included), lowercase hex. */
  sha256: string;
}

/** A prompt, dataset or trace file's text and hash, from one read; throws PromptFileError when it cannot be read. */
export function readPromptText(file: string, what = 'prompt file'): PromptFileText {
  try {
    // One read for both, so the hash is of the very bytes the prompts came from.
    const bytes = readFileSync(file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // A byte-order mark (editors on Windows write one) is not part of the first line's JSON.
    return { text: bytes.toString('utf8').replace(/^\uFEFF/, ''), sha256 };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Node holds at most ~512 M characters in one string: a bigger file cannot be read whole.
    if (code === 'ERR_STRING_TOO_LONG' || code === 'ERR_FS_FILE_TOO_LARGE') {
      throw new PromptFileError([`${file}: too large to read whole (over ~512 MB); cut it first, e.g. jq '.[:20000]'`]);
    }
    throw new PromptFileError([`${file}: cannot read the ${what} (${code ?? (error as Error).message})`]);
  }
}

/** One line → a prompt, or the problem with it. */
export function parsePromptLine(line: string): Prompt | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be a JSON object with messages or prompt';
  const { messages, prompt, max_tokens: maxTokens } = value as Record<string, unknown>;
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && (maxTokens as number) > 0)) return 'max_tokens must be a positive integer';
  const withMaxTokens = (p: Prompt): Prompt => (maxTokens === undefined ? p : { ...p, maxTokens: maxTokens as number });
  if (typeof prompt === 'string' && messages === undefined) {
    return prompt === '' ? 'prompt must not be empty' : withMaxTokens({ messages: [{ role: 'user', content: prompt }] });
  }
  if (!Array.isArray(messages) || messages.length === 0 || prompt !== undefined) {
    return 'must have either prompt (a string) or messages (a non-empty list)';
  }
  for (const [i, message] of messages.entries()) {
    const m = message as Partial<ChatMessage> | null;
    if (!m || typeof m !== 'object' || !CHAT_ROLES.includes(m.role as ChatMessage['role']) || typeof m.content !== 'string') {
      return `messages[${i}] must be {role: ${CHAT_ROLES.join('|')}, content: string}`;
    }
  }
  return withMaxTokens({ messages: (messages as ChatMessage[]).map(({ role, content }) => ({ role, content })) });
}

export class PromptFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'PromptFileError';
  }
}
