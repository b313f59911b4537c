/**
 * Secrets never leave (issue 13): a server that echoes the credential it was
 * sent in every place it can (error bodies, a long body cut at the excerpt,
 * an error event mid-stream, the usage block of a good stream), with the key
 * given as apiKey and as an Authorization header. No output file, stdout or
 * stderr holds any 8-character piece of either key.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { MIN_SECRET_CHARS } from '../../src/util/secrets.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, withTempDir } from '../helpers.ts';

const API_KEY = 'sk-ECHOED-api-key-0123456789abcdef';
const HEADER_KEY = 'tok-ECHOED-header-key-9876543210';

const pieces = (secret: string): string[] =>
  Array.from({ length: secret.length - MIN_SECRET_CHARS + 1 }, (_, i) => secret.slice(i, i + MIN_SECRET_CHARS));

/** Echoes the credential it got, a different way on each request, round-robin. */
function echoServer(): Promise<{ server: http.Server; baseURL: string }> {
  let n = 0;
  const sse = (events: object[]) => events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('') + 'data: [DONE]\n\n';
  const server = http.createServer((req, res) => {
    req.resume();
    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const kind = n++ % 5;
    if (kind === 0) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-echo': key });
      res.end(sse([{ choices: [{ index: 0, delta: { content: ' hi' } }] }, { choices: [], usage: { completion_tokens: 1, echo: key } }]));
    } else if (kind === 1) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}` } }));
    } else if (kind === 2) {
      // The key straddles the excerpt's cut (300 characters) and the old pre-cut (600).
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${'x'.repeat(290)}${key}${'y'.repeat(290)}${key}${'z'.repeat(100)}`);
    } else if (kind === 3) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: ' a' } }] })}\n\nevent: error\ndata: ${JSON.stringify({ error: { message: `bad key ${key.slice(0, 12)}… (${key})` } })}\n\n`);
    } else {
      res.writeHead(429, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `slow down, ${key.slice(3)}` } }));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` })));
}

for (const [way, target] of [
  ['apiKey', `apiKey: "\${TM_ECHO_KEY}"`],
  ['an Authorization header', `headers: {Authorization: "Bearer \${TM_ECHO_KEY}"}`],
] as const) {
  test(`a key given as ${way} and echoed back by the server reaches no output, whole or in pieces`, () =>
    withTempDir(async (dir) => {
      const secret = way === 'apiKey' ? API_KEY : HEADER_KEY;
      const { server, baseURL } = await echoServer();
      try {
        const file = path.join(dir, 's.yaml');
        await writeFile(file, `name: echo\ntarget: {baseURL: "${baseURL}", ${target}}\nmodels: [m]\nload: {concurrency: 1, requests: 10, warmup: 0}\nprompts: [hi]\n`);
        const io = captureIo({ TM_ECHO_KEY: secret });
        const out = path.join(dir, 'out');
        const code = await main(['run', file, '--out', out, '--no-preflight', ...NOT_ABOUT_CLIENT_HEALTH], io);
        assert.equal(code, 0, io.err());
        const outputs: [string, string][] = [
          ['stdout', io.out()],
          ['stderr', io.err()],
        ];
        for (const name of await readdir(out)) outputs.push([name, await readFile(path.join(out, name), 'utf8')]);
        assert.ok(outputs.length >= 9, outputs.map(([name]) => name).join(', '));
        // The server did echo it: the records hold the marks of where it was.
        assert.match(await readFile(path.join(out, 'requests.jsonl'), 'utf8'), /\[redacted\]/);
        for (const [name, text] of outputs) {
          const leaked = pieces(secret).filter((piece) => text.includes(piece));
          assert.deepEqual(leaked, [], `${name} holds pieces of the key`);
        }
      } finally {
        server.closeAllConnections();
        server.close();
      }
    }));
}
