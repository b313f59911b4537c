/**
 * Arrival traces from JSONL files, one object per line, `timestamp` in
 * seconds from the trace's start (fractional, non-decreasing), and what the
 * arrival sends: `{input_tokens, output_tokens}` (a synthetic prompt of
 * exactly that many tokens, and that many output tokens), or `{messages}`
 * sent as written, with an optional `max_tokens` cap. Other fields are
 * ignored (traces carry ids, hashes and the like). Every bad line is
 * reported, with its line number.
 */
import { CHAT_ROLES, type ChatMessage, type TraceLine } from '../types.js';
import { PromptFileError, readPromptText, type PromptFileText } from './prompt-file.js';
import { LIMITS } from './schema.js';

/** One arrival of a trace: when it is due, and what it sends. */
export type TraceArrival = TraceLine & {
  /** When it is due, from the cell's start (the trace's timestamp ÷ the speed-up), ms. */
  offsetMs: number;
};

/** A trace as read: its arrivals as recorded (speed-up 1), and the sha256 of the file's bytes (hex). */
export interface Trace {
  arrivals: TraceArrival[];
  sha256: string;
}

/** Reads a trace, replayed `speedup` times faster than recorded; throws a list of problems ("trace.jsonl:3: …") if any line is bad. */
export function readTraceFile(file: string, speedup = 1): TraceArrival[] {
  return readTrace(file).arrivals.map((arrival) => ({ ...arrival, offsetMs: arrival.offsetMs / speedup }));
}

/** Reads a trace as recorded, with its content's sha256; throws TraceFileError with every bad line. */
export function readTrace(file: string): Trace {
  let read: PromptFileText;
  try {
    read = readPromptText(file, 'trace file');
  } catch (error) {
    throw error instanceof PromptFileError ? new TraceFileError(error.problems) : error;
  }
  const arrivals: TraceArrival[] = [];
  const problems: string[] = [];
  let previousSeconds = 0;
  read.text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const parsed = parseTraceLine(line);
    if (typeof parsed === 'string') {
      problems.push(`${file}:${index + 1}: ${parsed}`);
      return;
    }
    const { seconds, line: payload } = parsed;
    if (seconds < previousSeconds) {
      problems.push(`${file}:${index + 1}: timestamp ${seconds} is before the previous line's (${previousSeconds}): timestamps must not decrease`);
      return;
    }
    previousSeconds = seconds;
    arrivals.push({ offsetMs: seconds * 1000, ...payload });
  });
  if (problems.length === 0 && arrivals.length === 0) problems.push(`${file}: has no arrivals (one JSON object per line)`);
  if (arrivals.length > LIMITS.requestsPerCell) {
    problems.push(`${file}: has ${arrivals.length.toLocaleString('en-US')} arrivals, more than ${LIMITS.requestsPerCell.toLocaleString('en-US')} (a cell's records are held in memory); cut it`);
  }
  if (problems.length > 0) throw new TraceFileError(problems);
  return { arrivals, sha256: read.sha256 };
}

/** One line → its timestamp (s) and what it sends, or the problem with it. */
function parseTraceLine(line: string): { seconds: number; line: TraceLine } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'must be a JSON object {timestamp, input_tokens, output_tokens} or {timestamp, messages, max_tokens?}';
  }
  const entry = value as Record<string, unknown>;
  const { timestamp } = entry;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) return 'timestamp must be a number of seconds >= 0';
  // Node's timers wait at most 2³¹−1 ms.
  if (timestamp * 1000 > LIMITS.durationMs) return `timestamp must be at most ${LIMITS.durationMs / 1000} s (Node's timers cannot wait longer)`;
  const tokens = entry.input_tokens !== undefined || entry.output_tokens !== undefined;
  const messages = entry.messages !== undefined;
  if (tokens && messages) return 'must have either input_tokens and output_tokens or messages, not both';
  if (!tokens && !messages) return 'must have input_tokens and output_tokens, or messages';
  const payload = messages ? messagesLine(entry) : tokensLine(entry);
  return typeof payload === 'string' ? payload : { seconds: timestamp, line: payload };
}

function tokensLine(entry: Record<string, unknown>): TraceLine | string {
  const counts: number[] = [];
  for (const name of ['input_tokens', 'output_tokens'] as const) {
    const count = entry[name];
    if (!(Number.isInteger(count) && (count as number) > 0)) return `${name} must be a positive integer`;
    if ((count as number) > LIMITS.tokens) return `${name} must be at most ${LIMITS.tokens.toLocaleString('en-US')} (built in memory)`;
    counts.push(count as number);
  }
  // output_tokens is the exact length: a cap beside it would say two things.
  if (entry.max_tokens !== undefined) return 'max_tokens goes with messages only (output_tokens is the exact output length)';
  return { inputTokens: counts[0]!, outputTokens: counts[1]! };
}

function messagesLine(entry: Record<string, unknown>): TraceLine | string {
  const { messages, max_tokens: maxTokens } = entry;
  if (!Array.isArray(messages) || messages.length === 0) return 'messages must be a non-empty list of {role, content}';
  const sent: ChatMessage[] = [];
  for (const [i, message] of messages.entries()) {
    const { role, content } = (message ?? {}) as Record<string, unknown>;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return `messages[${i}] must be an object {role, content}`;
    if (!CHAT_ROLES.includes(role as ChatMessage['role'])) return `messages[${i}].role must be one of ${CHAT_ROLES.join(', ')}`;
    if (typeof content !== 'string') return `messages[${i}].content must be a string`;
    sent.push({ role: role as ChatMessage['role'], content });
  }
  if (maxTokens === undefined) return { messages: sent };
  if (!(Number.isInteger(maxTokens) && (maxTokens as number) > 0)) return 'max_tokens must be a positive integer';
  return { messages: sent, maxTokens: maxTokens as number };
}

export class TraceFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'TraceFileError';
  }
}
