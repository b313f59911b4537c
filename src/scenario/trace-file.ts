/**
 * Arrival traces from JSONL files: one `{timestamp, input_tokens,
 * output_tokens}` object per line, `timestamp` in seconds from the trace's
 * start (fractional, non-decreasing). Every bad line is reported, with its
 * line number. (Issue 16, item 4: read and tested, not yet a scenario field.)
 */
import { readFileSync } from 'node:fs';
import { LIMITS } from './schema.js';

/** One arrival of a trace. */
export interface TraceArrival {
  /** When it is due, from the cell's start (the trace's timestamp ÷ the speed-up), ms. */
  offsetMs: number;
  /** Tokens of its synthetic prompt. */
  inputTokens: number;
  /** Its max_tokens. */
  outputTokens: number;
}

/** Reads a trace, replayed `speedup` times faster than recorded; throws a list of problems ("trace.jsonl:3: …") if any line is bad. */
export function readTraceFile(file: string, speedup = 1): TraceArrival[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TraceFileError([`${file}: cannot read the trace file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  const arrivals: TraceArrival[] = [];
  const problems: string[] = [];
  let previousSeconds = 0;
  // A byte-order mark (editors on Windows write one) is not part of the first line's JSON.
  text.replace(/^\uFEFF/, '').split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const parsed = parseTraceLine(line);
    if (typeof parsed === 'string') {
      problems.push(`${file}:${index + 1}: ${parsed}`);
      return;
    }
    if (parsed.seconds < previousSeconds) {
      problems.push(`${file}:${index + 1}: timestamp ${parsed.seconds} is before the previous line's (${previousSeconds}): timestamps must not decrease`);
      return;
    }
    previousSeconds = parsed.seconds;
    arrivals.push({ offsetMs: (parsed.seconds * 1000) / speedup, inputTokens: parsed.inputTokens, outputTokens: parsed.outputTokens });
  });
  if (problems.length === 0 && arrivals.length === 0) problems.push(`${file}: has no arrivals (one JSON object per line)`);
  if (problems.length > 0) throw new TraceFileError(problems);
  return arrivals;
}

/** One line → its timestamp (s) and token counts, or the problem with it. */
export function parseTraceLine(line: string): { seconds: number; inputTokens: number; outputTokens: number } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be a JSON object {timestamp, input_tokens, output_tokens}';
  const { timestamp, input_tokens: inputTokens, output_tokens: outputTokens } = value as Record<string, unknown>;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) return 'timestamp must be a number of seconds >= 0';
  // Node's timers wait at most 2³¹−1 ms.
  if (timestamp * 1000 > LIMITS.durationMs) return `timestamp must be at most ${LIMITS.durationMs / 1000} s (Node's timers cannot wait longer)`;
  for (const [name, count] of [['input_tokens', inputTokens], ['output_tokens', outputTokens]] as const) {
    if (!(Number.isInteger(count) && (count as number) > 0)) return `${name} must be a positive integer`;
    if ((count as number) > LIMITS.tokens) return `${name} must be at most ${LIMITS.tokens.toLocaleString('en-US')} (built in memory)`;
  }
  return { seconds: timestamp, inputTokens: inputTokens as number, outputTokens: outputTokens as number };
}

export class TraceFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'TraceFileError';
  }
}
