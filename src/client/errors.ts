/**
 * One factory for request errors: every failure becomes a `RequestError`
 * value with a class, never an exception that escapes the run.
 */
import type { ErrorClass, RequestError } from '../types.js';
import type { SecretScrubber } from '../util/secrets.js';

/** Characters of an error body kept in the record. */
const BODY_EXCERPT_CHARS = 300;

/** The error class of an HTTP status outside 2xx. */
export function classOfStatus(status: number): ErrorClass {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server_error';
  return 'bad_request';
}

export interface RequestErrorInput {
  class: ErrorClass;
  message: string;
  status?: number | undefined;
  body?: string | undefined;
}

/**
 * Builds a RequestError with its message and body excerpt scrubbed of every
 * secret, then shortened: scrubbing after the cut would leave the piece of a
 * key the cut went through.
 */
export function requestError(input: RequestErrorInput, scrubber: SecretScrubber): RequestError {
  const error: RequestError = {
    class: input.class,
    message: scrubber.scrub(input.message).slice(0, BODY_EXCERPT_CHARS),
  };
  if (input.status !== undefined) error.status = input.status;
  if (input.body !== undefined && input.body.length > 0) error.bodyExcerpt = scrubber.scrub(input.body).slice(0, BODY_EXCERPT_CHARS);
  return error;
}

/** Why a request was aborted by tokenmeter itself. */
export class AbortReason extends Error {
  constructor(
    readonly errorClass: 'timeout' | 'interrupted',
    message: string,
  ) {
    super(message);
    this.name = 'AbortReason';
  }
}

/** A message for a socket-level failure (refused, reset, DNS, TLS, …), with its code. */
export function describeNetworkError(error: Error): string {
  const code = 'code' in error ? error.code : undefined;
  return code ? `${code}: ${error.message}` : error.message;
}

/** The message of anything thrown: an Error's own, else its text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
