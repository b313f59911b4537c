/**
 * The scenario file's schema: the one source of truth for validation and for
 * the JSON Schema editors use (`npm run schema` writes schema/scenario.schema.json).
 * Only shape and ranges here; defaults and conversions live in normalize.ts.
 */
import { z } from 'zod';
import { API_NAMES, PROVIDER_NAMES, TOKENIZER_NAMES } from '../types.js';

const positiveInteger = z.number({ error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer');
const nonNegativeInteger = z.number({ error: 'must be a non-negative integer' }).int('must be a non-negative integer').min(0, 'must be a non-negative integer');
const positiveNumber = z.number({ error: 'must be a positive number' }).positive('must be a positive number');

/** "250ms", "30s", "5m", or a number of seconds. */
export const durationSchema = z
  .union(
    [
      positiveNumber,
      z
        .string()
        .regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, 'must be a duration such as "500ms", "30s" or "5m"')
        .refine((text) => Number.parseFloat(text) > 0, 'must be longer than zero'),
    ],
    {
      error: 'must be a duration such as "500ms", "30s" or "5m", or a number of seconds',
    },
  )
  .describe('A duration: "500ms", "30s", "5m", "1h", or a number of seconds.');

const countOrRange = (what: string) =>
  z
    .union([positiveInteger, z.tuple([positiveInteger, positiveInteger])], {
      error: `must be a positive integer or a [min, max] pair of positive integers (${what})`,
    })
    .refine((value) => typeof value === 'number' || value[0] <= value[1], 'min must not exceed max');

export const simProfileSchema = z
  .strictObject({
    ttftMs: z.number().min(0, 'must be >= 0').optional().describe('Time to first token on an idle server, ms.'),
    tokensPerSecond: positiveNumber.optional().describe('Decode speed of one stream, tokens/s.'),
    tokensPerChunk: countOrRange('tokens per SSE chunk').optional().describe('Tokens per chunk: n or [min, max].'),
    outputTokens: countOrRange('output tokens').optional().describe('Output length in tokens: n or [min, max].'),
    capacity: positiveInteger.optional().describe('Streams decoded at full speed at once; more wait in a queue.'),
    usageExtraTokens: nonNegativeInteger.optional().describe('Tokens usage reports beyond those streamed (a stop token).'),
    reasoningTokens: z
      .union([nonNegativeInteger, z.tuple([nonNegativeInteger, nonNegativeInteger])], {
        error: 'must be a non-negative integer or a [min, max] pair of them',
      })
      .optional()
      .describe('Reasoning tokens streamed as delta.reasoning_content before the answer (default 0).'),
    wordsPerToken: positiveInteger
      .optional()
      .describe('Words per server token (default 1); at 2 no public tokenizer counts its tokens: only logprobs or continuous usage can.'),
  })
  .describe('Built-in simulator profile for a model.');

export const simulatorSchema = z
  .strictObject({
    seed: z.number().int('must be an integer').optional(),
    defaults: simProfileSchema.optional(),
    models: z.record(z.string(), simProfileSchema).optional(),
  })
  .describe('Settings of the built-in simulator (baseURL: builtin).');

const TOKENIZER_CHOICES = 'must be one of llama3, o200k, cl100k, or the path of a Hugging Face tokenizer.json';

export const tokenizerSchema = z
  .union([z.enum(TOKENIZER_NAMES), z.string().regex(/\.json$/, TOKENIZER_CHOICES)], { error: TOKENIZER_CHOICES })
  .describe('llama3, o200k, cl100k, or a path to a Hugging Face tokenizer.json (relative to the scenario file).');

const paramsSchema = z
  .record(z.string(), z.unknown())
  .refine((params) => params.n === undefined || (Number.isInteger(params.n) && (params.n as number) >= 1 && (params.n as number) <= 8), {
    message: 'must be an integer from 1 to 8',
    path: ['n'],
  })
  .describe('Request body parameters, passed through as written.');

const messageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'developer', 'tool'], {
    error: 'must be one of system, user, assistant, developer, tool',
  }),
  content: z.string({ error: 'must be a string' }),
});

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string({ error: 'must be a string' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use only letters, digits, ".", "_", "-"'),
    description: z.string().optional(),
    target: z.strictObject({
      baseURL: z
        .string({ error: 'must be a string' })
        .refine((url) => url === 'builtin' || /^https?:\/\/[^\s]+$/.test(url), 'must be "builtin" or an http(s) URL')
        .describe('"builtin" for the built-in simulator, or the API base URL ending in /v1.'),
      api: z
        .enum(API_NAMES, { error: `must be one of ${API_NAMES.join(', ')}` })
        .optional()
        .describe(
          'The API to call: chat (POST /v1/chat/completions, default), completions (/v1/completions), responses (/v1/responses) or messages (Anthropic, /v1/messages).',
        ),
      provider: z
        .enum(PROVIDER_NAMES, { error: `must be one of ${PROVIDER_NAMES.join(', ')}` })
        .optional()
        .describe('Known differences of the provider, for precise warnings (default generic: assumes nothing).'),
      apiKey: z.string().optional().describe('Sent as a bearer token. Use ${VAR} to read it from the environment.'),
      headers: z.record(z.string(), z.string()).optional(),
      timeout: durationSchema.optional().describe('Total timeout per request (default 10m).'),
      idleTimeout: durationSchema.optional().describe('Longest wait for the next byte (default 60s).'),
      newConnectionPerRequest: z
        .boolean()
        .optional()
        .describe('Open a new connection for every request, to measure cold starts (default false).'),
      simulator: simulatorSchema.optional(),
    }),
    models: z
      .array(
        z.union(
          [
            z.string().min(1, 'must not be empty'),
            z.strictObject({
              name: z.string().min(1, 'must not be empty'),
              tokenizer: tokenizerSchema.optional(),
              params: paramsSchema.optional(),
            }),
          ],
          { error: 'must be a model name or {name, tokenizer, params}' },
        ),
      )
      .min(1, 'must list at least one model'),
    load: z.strictObject({
      concurrency: z
        .union(
          [
            positiveInteger,
            z
              .array(positiveInteger)
              .min(1, 'must list at least one level')
              .refine((levels) => new Set(levels).size === levels.length, 'must not list a level twice'),
          ],
          { error: 'must be a positive integer or a list of them' },
        )
        .describe('Closed-loop concurrency levels; one cell per model and level.'),
      requests: positiveInteger.describe('Measured requests per cell.'),
      warmup: nonNegativeInteger.optional().describe('Warm-up requests per cell; at least (and by default) one per concurrency slot.'),
    }),
    prompts: z
      .array(
        z.union([z.string().min(1, 'must not be empty'), z.strictObject({ messages: z.array(messageSchema).min(1, 'must have at least one message') })], {
          error: 'must be a string or {messages: [...]}',
        }),
      )
      .min(1, 'must list at least one prompt'),
    params: paramsSchema.optional(),
  })
  .describe('A tokenmeter scenario.');

export type RawScenario = z.infer<typeof scenarioSchema>;
export type RawSimProfile = z.infer<typeof simProfileSchema>;
