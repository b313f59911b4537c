/**
 * Micro-benchmarks (tinybench) of the code that runs per chunk or per request:
 * SSE decoding with its per-read timestamp, the building of a request (the
 * chat adapter's, the openai SDK's own, and the least a client of its own
 * would do), token attribution,
 * and histogram recording. Each task does a realistic unit of work per iteration (a whole
 * response, a whole attribution, a batch of records) so tinybench's own
 * per-iteration overhead stays small next to what is measured.
 */
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { Bench } from 'tinybench';
import { ChatEventReader, chatAdapter } from '../src/client/apis/chat.js';
import { SseDecoder } from '../src/client/sse.js';
import { tokensPerChunk } from '../src/metrics/attribution.js';
import { createHistogram, recordValue } from '../src/metrics/histograms.js';
import { loadTokenizer } from '../src/metrics/tokenizers.js';
import { SIM_WORDS } from '../src/sim/words.js';

/** One measured task. */
export interface HotPathResult {
  name: string;
  /** Iterations per second (1000 / mean iteration time). */
  opsPerSec: number;
  /** Relative margin of error of the mean iteration time, %. */
  rmePercent: number;
  /** What one iteration processes, e.g. 260 SSE events. */
  unitsPerOp: number;
  unit: string;
  /** opsPerSec × unitsPerOp. */
  unitsPerSec: number;
}

/** Output tokens of the simulated response for the SSE task (one token per chunk). */
const SSE_TOKENS = 256;
/** Read size of the "split" variant: about one TCP segment, so reads end mid-line. */
const SPLIT_READ_BYTES = 1400;
const ATTRIBUTION_TOKENS = 128;
const ATTRIBUTION_CHUNKS = 50;
const RECORDS_PER_OP = 1000;
/** The big-event pair: one 10 MB event against ten 1 MB events, both in reads of this size (issue 10). */
const BIG_READ_BYTES = 64 * 1024;
const MB = 1024 * 1024;

/**
 * The data events of one streamed response, byte for byte as src/sim/server.ts
 * writes them (role chunk, token chunks, finish chunk, usage, [DONE]), one
 * string per res.write. Node's HTTP parser hands the client one 'data' read
 * per chunked-encoding chunk, so against the simulator each is one read; the
 * last three share one write.
 */
export function simulatedWrites(tokens: number): string[] {
  const prefix =
    'data: {"id":"chatcmpl-sim-7","object":"chat.completion.chunk","created":1750000000,"model":"bench-burst","choices":[{"index":0,"delta":';
  const writes = [`${prefix}{"role":"assistant","content":""},"finish_reason":null}]}\n\n`];
  for (let i = 0; i < tokens; i++) {
    const text = ' ' + SIM_WORDS[(i * 7919) % SIM_WORDS.length]!;
    writes.push(`${prefix}{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`);
  }
  const usage = { prompt_tokens: 12, completion_tokens: tokens, total_tokens: tokens + 12, time_to_first_token: 0.0012 };
  writes.push(
    `${prefix}{},"finish_reason":"stop"}]}\n\n` +
      `data: {"id":"chatcmpl-sim-7","object":"chat.completion.chunk","created":1750000000,"model":"bench-burst","choices":[],"usage":${JSON.stringify(usage)}}\n\n` +
      'data: [DONE]\n\n',
  );
  return writes;
}

/** Data events in the writes of simulatedWrites(tokens): the tokens plus role, finish, usage, [DONE]. */
const eventsOf = (tokens: number): number => tokens + 4;

/** Decodes one response the way ChatClient.readBody does: stamp each read, then decode it. */
function decodeResponse(reads: readonly Buffer[]): ChatEventReader {
  const reader = new ChatEventReader();
  const decoder = new SseDecoder(reader.onEvent);
  for (const bytes of reads) decoder.push(bytes, performance.now());
  decoder.end(performance.now());
  return reader;
}

/** `count` data events of `eventBytes` each, back to back, cut into reads of BIG_READ_BYTES. */
function bigEventReads(count: number, eventBytes: number): Buffer[] {
  const event = `data: {"x":"${'a'.repeat(eventBytes - 16)}"}\n\n`;
  const stream = Buffer.from(event.repeat(count));
  const reads: Buffer[] = [];
  for (let at = 0; at < stream.length; at += BIG_READ_BYTES) reads.push(stream.subarray(at, at + BIG_READ_BYTES));
  return reads;
}

/** Decodes the reads into SSE events only (no JSON), returning how many there were. */
function decodeEvents(reads: readonly Buffer[]): number {
  let events = 0;
  const decoder = new SseDecoder(() => events++);
  for (const bytes of reads) decoder.push(bytes, performance.now());
  decoder.end(performance.now());
  return events;
}

/** Requests per iteration of the SDK tasks. */
const REQUESTS_PER_OP = 100;
const BENCH_MESSAGES = [{ role: 'user' as const, content: 'Count to a few hundred.' }];

/** A fetch that answers at once with a bodyless 200, as the timed fetch does for a 2xx. */
const answerAtOnce = (): Promise<Response> => Promise.resolve(new Response(null, { status: 200 }));

/**
 * The chat adapter as ChatClient sets it up, its fetch answering at once:
 * what remains is tokenmeter's work per request before the write (the body,
 * the SDK-described headers, the sender's promise), which runs on the event
 * loop that stamps every read.
 */
function adapterSender(): () => Promise<number> {
  const adapter = chatAdapter({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'none', headers: {}, fetch: answerAtOnce });
  let sequence = 0;
  return async () => {
    const sent = Array.from({ length: REQUESTS_PER_OP }, () =>
      adapter.send({ id: `bench-${sequence++}`, model: 'bench-burst', messages: BENCH_MESSAGES, params: {}, probe: {} }),
    );
    return (await Promise.all(sent)).length;
  };
}

/**
 * The same request through the openai SDK's own `create(...).asResponse()`,
 * as tokenmeter sent every request before issue 10 (options, headers, body,
 * URL, its promise chain and logging details per request).
 */
function openAiSdkSender(): () => Promise<number> {
  const sdk = new OpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'none', maxRetries: 0, fetch: answerAtOnce });
  let sequence = 0;
  return async () => {
    const sent = Array.from({ length: REQUESTS_PER_OP }, () =>
      sdk.chat.completions
        .create(
          { model: 'bench-burst', messages: BENCH_MESSAGES, stream: true, stream_options: { include_usage: true } },
          { headers: { 'x-tokenmeter-request-id': `bench-${sequence++}` } },
        )
        .asResponse(),
    );
    return (await Promise.all(sent)).length;
  };
}

/** The least a client of its own would do per request: the JSON body and a headers object. */
function ownRequestBuilder(): () => number {
  let sequence = 0;
  return () => {
    let bytes = 0;
    for (let i = 0; i < REQUESTS_PER_OP; i++) {
      const body = JSON.stringify({ model: 'bench-burst', messages: BENCH_MESSAGES, stream: true, stream_options: { include_usage: true } });
      const headers = {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: 'Bearer none',
        'x-tokenmeter-request-id': `bench-${sequence++}`,
        'content-length': String(Buffer.byteLength(body)),
      };
      bytes += headers['content-length'].length;
    }
    return bytes;
  };
}

/** A text of natural English (punctuation, numbers, code), cut into chunks at token boundaries. */
async function attributionInput(): Promise<string[]> {
  const tokenizer = await loadTokenizer('llama3');
  const paragraph =
    'To measure streaming latency, a client records when each server-sent event arrives. ' +
    'Time to first token (TTFT) is 0.15 s here; the decode rate is about 200 tokens/s, so ' +
    'a 128-token answer takes roughly 0.8 seconds. Providers such as vLLM may batch 2-4 tokens ' +
    "per chunk: `for (const chunk of stream) count += tokens(chunk);` is wrong when a token " +
    "straddles two chunks. The fix is to tokenize the whole text once, then map each token's " +
    'last byte back to its chunk, which is exact and cheap. ';
  const text = paragraph.repeat(4);
  const lengths = tokenizer.tokenByteLengths(text).slice(0, ATTRIBUTION_TOKENS);
  // The text is ASCII, so byte offsets are string offsets.
  const chunks: string[] = [];
  let offset = 0;
  for (let chunk = 0; chunk < ATTRIBUTION_CHUNKS; chunk++) {
    const from = Math.floor((chunk * lengths.length) / ATTRIBUTION_CHUNKS);
    const to = Math.floor(((chunk + 1) * lengths.length) / ATTRIBUTION_CHUNKS);
    const bytes = lengths.slice(from, to).reduce((sum, length) => sum + length, 0);
    chunks.push(text.slice(offset, offset + bytes));
    offset += bytes;
  }
  return chunks;
}

export async function runHotPath(): Promise<HotPathResult[]> {
  const writes = simulatedWrites(SSE_TOKENS);
  const oneEventPerRead = writes.map((write) => Buffer.from(write));
  const whole = Buffer.concat(oneEventPerRead);
  const splitReads: Buffer[] = [];
  for (let at = 0; at < whole.length; at += SPLIT_READ_BYTES) splitReads.push(whole.subarray(at, at + SPLIT_READ_BYTES));

  const oneBigEvent = bigEventReads(1, 10 * MB);
  const tenSmallerEvents = bigEventReads(10, MB);

  const tokenizer = await loadTokenizer('llama3');
  const chunkTexts = await attributionInput();
  const eventPayloads = writes.flatMap((write) =>
    write
      .split('\n\n')
      .filter((event) => event.startsWith('data: '))
      .map((event) => event.slice(6)),
  );
  if (eventPayloads.length !== eventsOf(SSE_TOKENS)) throw new Error(`${eventPayloads.length} payloads, expected ${eventsOf(SSE_TOKENS)}`);


  // ITL-like values in ms (a spread of gaps from 2 to ~60 ms), precomputed so the task measures recording only.
  const histogram = createHistogram();
  const itlValuesMs = Array.from({ length: RECORDS_PER_OP }, (_, i) => 2 + ((i * 7919) % 5800) / 100);

  // Check once that each task does the work it claims, so a broken input cannot make a fast number.
  for (const reads of [oneEventPerRead, splitReads]) {
    const reader = decodeResponse(reads);
    if (reader.chunks.length !== SSE_TOKENS || reader.doneAt === undefined || reader.usage === undefined) {
      throw new Error(`SSE bench input decoded to ${reader.chunks.length} chunks, expected ${SSE_TOKENS}`);
    }
  }
  if (decodeEvents(oneBigEvent) !== 1 || decodeEvents(tenSmallerEvents) !== 10) throw new Error('big-event bench input decoded wrong');
  const counts = tokensPerChunk(chunkTexts, tokenizer);
  const attributed = counts.reduce((sum, k) => sum + k, 0);
  if (attributed !== ATTRIBUTION_TOKENS) throw new Error(`attribution counted ${attributed} tokens, expected ${ATTRIBUTION_TOKENS}`);

  const sendThroughAdapter = adapterSender();
  const sendThroughSdk = openAiSdkSender();
  for (const send of [sendThroughAdapter, sendThroughSdk]) {
    if ((await send()) !== REQUESTS_PER_OP) throw new Error('a request task sent the wrong number of requests');
  }
  const buildOwnRequest = ownRequestBuilder();

  const bench = new Bench({ time: 1000, warmupTime: 250 });
  const tasks: { name: string; unitsPerOp: number; unit: string; fn: () => unknown }[] = [
    {
      name: `SSE decode + stamp, ${SSE_TOKENS}-token response, one event per read`,
      unitsPerOp: eventsOf(SSE_TOKENS),
      unit: 'events',
      fn: () => decodeResponse(oneEventPerRead),
    },
    {
      name: `SSE decode + stamp, same bytes in ${SPLIT_READ_BYTES}-byte reads`,
      unitsPerOp: eventsOf(SSE_TOKENS),
      unit: 'events',
      fn: () => decodeResponse(splitReads),
    },
    {
      // The floor for any client that reads the tokens (the raw reader below does not): JSON.parse of each event.
      name: `JSON.parse alone of the same ${SSE_TOKENS}-token response's events`,
      unitsPerOp: eventsOf(SSE_TOKENS),
      unit: 'events',
      fn: () => {
        let parsed = 0;
        for (const payload of eventPayloads) if (payload !== '[DONE]') parsed += JSON.parse(payload) === null ? 0 : 1;
        return parsed;
      },
    },
    {
      // Linear-time decoding: MB/s of these two should be about the same (quadratic joining made the first ~10× slower).
      name: `SSE decode, one 10 MB event in ${BIG_READ_BYTES / 1024} KB reads`,
      unitsPerOp: 10,
      unit: 'MB',
      fn: () => decodeEvents(oneBigEvent),
    },
    {
      name: `SSE decode, ten 1 MB events in ${BIG_READ_BYTES / 1024} KB reads`,
      unitsPerOp: 10,
      unit: 'MB',
      fn: () => decodeEvents(tenSmallerEvents),
    },
    {
      name: `chat adapter: build and hand over a request (fetch answers at once), batch of ${REQUESTS_PER_OP}`,
      unitsPerOp: REQUESTS_PER_OP,
      unit: 'requests',
      fn: sendThroughAdapter,
    },
    {
      name: `openai SDK's create(): the same request as sent before issue 10, batch of ${REQUESTS_PER_OP}`,
      unitsPerOp: REQUESTS_PER_OP,
      unit: 'requests',
      fn: sendThroughSdk,
    },
    {
      name: `own code: JSON body + headers object of the same request, batch of ${REQUESTS_PER_OP}`,
      unitsPerOp: REQUESTS_PER_OP,
      unit: 'requests',
      fn: buildOwnRequest,
    },
    {
      name: `tokensPerChunk, llama3, ${ATTRIBUTION_TOKENS} tokens in ${ATTRIBUTION_CHUNKS} chunks`,
      unitsPerOp: 1,
      unit: 'requests',
      fn: () => tokensPerChunk(chunkTexts, tokenizer),
    },
    {
      name: `recordValue (itl, HDR 3 digits), batch of ${RECORDS_PER_OP}`,
      unitsPerOp: RECORDS_PER_OP,
      unit: 'records',
      fn: () => {
        for (const value of itlValuesMs) recordValue(histogram, 'itl', value);
      },
    },
  ];
  for (const task of tasks) bench.add(task.name, task.fn);
  await bench.run();

  return tasks.map((task) => {
    const result = bench.getTask(task.name)?.result;
    if (result === undefined || (result.state !== 'completed' && result.state !== 'aborted-with-statistics')) {
      const reason = result?.state === 'errored' ? result.error.message : (result?.state ?? 'missing');
      throw new Error(`hot-path task "${task.name}" did not complete: ${reason}`);
    }
    const opsPerSec = 1000 / result.period;
    return {
      name: task.name,
      opsPerSec,
      rmePercent: result.latency.rme,
      unitsPerOp: task.unitsPerOp,
      unit: task.unit,
      unitsPerSec: opsPerSec * task.unitsPerOp,
    };
  });
}
