import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatEventReader } from '../../src/client/apis/chat.ts';
import { MessagesEventReader } from '../../src/client/apis/messages.ts';
import { ResponsesEventReader } from '../../src/client/apis/responses.ts';
import { LineSplitter, SseDecoder, type SseEvent } from '../../src/client/sse.ts';

/** Feeds reads (strings or raw bytes) and returns the events with the index of the read that completed each. */
function decode(reads: (string | Buffer)[]): { event: SseEvent; at: number }[] {
  const events: { event: SseEvent; at: number }[] = [];
  const decoder = new SseDecoder((event, at) => events.push({ event, at }));
  reads.forEach((read, i) => decoder.push(typeof read === 'string' ? Buffer.from(read) : read, i));
  decoder.end(reads.length);
  return events;
}

describe('SSE decoding', () => {
  test('an event split across reads is dispatched once, stamped with the read that completed it', () => {
    const events = decode(['da', 'ta: {"a"', ':1}\n', '\n']);
    assert.deepEqual(events, [{ event: { data: '{"a":1}' }, at: 3 }]);
  });

  test('several events in one read each get that read’s time', () => {
    const events = decode(['data: one\n\ndata: two\n\ndata: three\n\n']);
    assert.deepEqual(
      events.map((e) => [e.event.data, e.at]),
      [
        ['one', 0],
        ['two', 0],
        ['three', 0],
      ],
    );
  });

  test('a multi-byte UTF-8 character split across reads arrives whole', () => {
    const bytes = Buffer.from('data: {"content":"naïve 🙂 日本"}\n\n');
    const emoji = bytes.indexOf(Buffer.from('🙂'));
    const han = bytes.indexOf(Buffer.from('日'));
    const reads = [bytes.subarray(0, emoji + 2), bytes.subarray(emoji + 2, han + 1), bytes.subarray(han + 1)];
    const events = decode(reads);
    assert.equal(events.length, 1);
    assert.equal(JSON.parse(events[0]!.event.data).content, 'naïve 🙂 日本');
    assert.equal(events[0]!.at, 2);
  });

  test('CRLF, lone CR and CR at the end of one read with LF at the start of the next', () => {
    const events = decode(['data: a\r\n\r\n', 'data: b\r\rdata: c\r', '\n\r\n']);
    assert.deepEqual(
      events.map((e) => e.event.data),
      ['a', 'b', 'c'],
    );
  });

  test('comments and keep-alives are ignored; event, id and multi-line data are kept', () => {
    const events = decode([': keep-alive\n\n', ':\n', 'event: message\nid: 7\ndata: line1\ndata:line2\n\n']);
    assert.deepEqual(
      events.map((e) => e.event),
      [{ event: 'message', id: '7', data: 'line1\nline2' }],
    );
  });

  test('a last event without its blank line still counts at close', () => {
    const events = decode(['data: x\n\n', 'data: [DONE]']);
    assert.deepEqual(
      events.map((e) => [e.event.data, e.at]),
      [
        ['x', 0],
        ['[DONE]', 2],
      ],
    );
  });

  test('a byte-order mark before the first line is dropped', () => {
    assert.deepEqual(decode(['\ufeffdata: x\n\n']).map((e) => e.event.data), ['x']);
  });

  test('the same events however the bytes are cut into reads', () => {
    const stream = Buffer.from(
      [
        'data: {"a":"naïve 🙂"}\n\n',
        ': keep-alive\n\n',
        'data: plain\n\n',
        'event: note\ndata: one\ndata: two\n\n',
        'data: crlf\r\n\r\n',
        'data: 日本語\n\n',
        'id: 9\ndata: with id\n\n',
        'data: lone cr\r\r',
        'data: [DONE]\n\n',
      ].join(''),
    );
    const whole = decode([stream]).map((e) => e.event);
    assert.equal(whole.length, 8);
    const bytewise = decode([...stream].map((byte) => Buffer.from([byte]))).map((e) => e.event);
    assert.deepEqual(bytewise, whole);
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 200; trial++) {
      const reads: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() * 40);
        reads.push(stream.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(
        decode(reads).map((e) => e.event),
        whole,
        `cut at ${reads.map((r) => r.length).join(',')}`,
      );
    }
  });

  test('LineSplitter keeps an unterminated line for flush', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter();
    splitter.push(Buffer.from('a\nb'), (line) => lines.push(line));
    splitter.push(Buffer.from('c'), (line) => lines.push(line));
    assert.deepEqual(lines, ['a']);
    assert.equal(splitter.flush(), 'bc');
  });
});

/**
 * The bytes the decoder copies (Buffer.concat) and scans (Buffer#indexOf)
 * while it decodes `reads`: work counted, not timed, so a busy machine cannot
 * change the answer.
 */
function decodingWork(reads: readonly Buffer[]): { copied: number; scanned: number; events: number } {
  const concat = Buffer.concat;
  const indexOf = Buffer.prototype.indexOf;
  let copied = 0;
  let scanned = 0;
  Buffer.concat = function (list: readonly Uint8Array[], totalLength?: number): Buffer {
    const joined = concat.call(Buffer, list, totalLength);
    copied += joined.length;
    return joined;
  } as typeof Buffer.concat;
  Buffer.prototype.indexOf = function (this: Buffer, value: string | number | Uint8Array, byteOffset?: number, encoding?: BufferEncoding): number {
    const from = typeof byteOffset === 'number' ? (byteOffset < 0 ? Math.max(0, this.length + byteOffset) : byteOffset) : 0;
    const found = indexOf.call(this, value, byteOffset, encoding);
    scanned += (found === -1 ? this.length : found + 1) - Math.min(from, this.length);
    return found;
  };
  let events = 0;
  try {
    const decoder = new SseDecoder(() => events++);
    for (const read of reads) decoder.push(read, 0);
    decoder.end(0);
  } finally {
    Buffer.concat = concat;
    Buffer.prototype.indexOf = indexOf;
  }
  return { copied, scanned, events };
}

/** `count` events of `eventBytes` each, back to back, cut into reads of `readBytes`. */
function bigEvents(count: number, eventBytes: number, readBytes: number): Buffer[] {
  const payload = `{"x":"${'a'.repeat(eventBytes - 16)}"}`;
  const stream = Buffer.from(`data: ${payload}\n\n`.repeat(count));
  const reads: Buffer[] = [];
  for (let at = 0; at < stream.length; at += readBytes) reads.push(stream.subarray(at, at + readBytes));
  return reads;
}

describe('SSE decoding work is linear in the bytes', () => {
  const MB = 1024 * 1024;
  const READ = 64 * 1024;

  test('a 10 MB event in 64 KB reads: each byte copied at most once and scanned a bounded number of times', () => {
    const reads = bigEvents(1, 10 * MB, READ);
    const total = reads.reduce((sum, read) => sum + read.length, 0);
    const work = decodingWork(reads);
    assert.equal(work.events, 1);
    assert.ok(work.copied <= total, `copied ${work.copied} bytes of ${total}`);
    assert.ok(work.scanned <= 6 * total, `scanned ${work.scanned} bytes of ${total}`);
  });

  test('a 10 MB event costs no more than ten 1 MB events', () => {
    const one = decodingWork(bigEvents(1, 10 * MB, READ));
    const ten = decodingWork(bigEvents(10, MB, READ));
    assert.equal(ten.events, 10);
    assert.ok(one.copied <= ten.copied * 1.01, `copied: ${one.copied} against ${ten.copied}`);
    assert.ok(one.scanned <= ten.scanned * 1.01, `scanned: ${one.scanned} against ${ten.scanned}`);
  });

  test('small events, one per read, are never copied', () => {
    const reads = Array.from({ length: 100 }, (_, i) => Buffer.from(`data: {"n":${i}}\n\n`));
    assert.equal(decodingWork(reads).copied, 0);
  });
});

describe('chat completion events', () => {
  const chunk = (delta: object, extra: object = {}) =>
    `data: ${JSON.stringify({ choices: [{ index: 0, delta }], ...extra })}\n\n`;

  function read(reads: string[]): ChatEventReader {
    const reader = new ChatEventReader();
    const decoder = new SseDecoder(reader.onEvent);
    reads.forEach((r, i) => decoder.push(Buffer.from(r), i * 10));
    decoder.end(reads.length * 10);
    return reader;
  }

  test('content, reasoning, usage and [DONE] are picked out with their arrival times', () => {
    const reader = read([
      chunk({ role: 'assistant', content: '' }),
      chunk({ reasoning_content: 'think' }),
      chunk({ content: ' hello' }),
      `data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 3 } })}\n\ndata: [DONE]\n\n`,
    ]);
    assert.deepEqual(reader.chunks, [
      { at: 10, text: 'think', choice: 0, reasoning: true },
      { at: 20, text: ' hello', choice: 0 },
    ]);
    assert.deepEqual(reader.usage, { completion_tokens: 3 });
    assert.equal(reader.doneAt, 30);
    assert.equal(reader.failure, undefined);
  });

  test('tool-call arguments and refusals are output; reasoning sent under both names counts once', () => {
    const reader = read([
      chunk({ reasoning_content: 'think', reasoning: 'think' }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ refusal: 'no' }),
    ]);
    assert.deepEqual(
      reader.chunks.map((c) => c.text),
      ['think', '{"city":', 'no'],
    );
  });

  test('an error event mid-stream is a stream_error with the server’s message', () => {
    const reader = read([chunk({ content: ' a' }), `data: ${JSON.stringify({ error: { message: 'model overloaded' } })}\n\n`]);
    assert.deepEqual(reader.failure, { kind: 'stream_error', message: 'error event mid-stream: model overloaded' });
    assert.equal(reader.chunks.length, 1);
    assert.equal(reader.doneAt, undefined);
  });

  test('a named error event is a stream_error too', () => {
    const reader = read(['event: error\ndata: {"message":"boom"}\n\n']);
    assert.equal(reader.failure?.kind, 'stream_error');
  });

  for (const Reader of [ChatEventReader, ResponsesEventReader, MessagesEventReader]) {
    test(`${Reader.name}: a named error event whose data is plain text is a stream_error with that text, not a bad_response`, () => {
      const reader = new Reader();
      const decoder = new SseDecoder(reader.onEvent);
      decoder.push(Buffer.from('event: error\ndata: upstream connection lost\n\n'), 0);
      assert.deepEqual(reader.failure, { kind: 'stream_error', message: 'error event mid-stream: upstream connection lost' });
    });
  }

  for (const data of ['null', '42', '"text"', '[1]', '{"choices":{}}', '{"choices":[null, 7]}', '{"choices":[{"delta":{"content":5}}]}']) {
    test(`valid JSON that is not a chunk (${data}) never throws`, () => {
      const reader = read([`data: ${data}\n\n`, 'data: [DONE]\n\n']);
      assert.deepEqual(reader.chunks, []);
      assert.equal(reader.doneAt, 10);
      if (['null', '42', '"text"', '[1]'].includes(data)) assert.equal(reader.failure?.kind, 'bad_response');
    });
  }

  test('an event whose handler throws is not dispatched again at the end of the stream', () => {
    let calls = 0;
    const decoder = new SseDecoder(() => {
      calls++;
      throw new Error('handler failed');
    });
    assert.throws(() => decoder.push(Buffer.from('data: x\n\n'), 0));
    decoder.end(1);
    assert.equal(calls, 1);
  });

  test('unparseable data is a bad_response', () => {
    const reader = read(['data: {not json\n\n']);
    assert.equal(reader.failure?.kind, 'bad_response');
  });
});
