import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http, { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.ts';
import { main } from '../../src/cli/main.ts';
import { startSimulator } from '../../src/sim/server.ts';
import { captureIo, NOT_ABOUT_CLIENT_HEALTH, readRequests, withTempDir } from '../helpers.ts';

const PROFILE = { ttftMs: 1, tokensPerSecond: 5000, tokensPerChunk: 2, outputTokens: 6, capacity: 16, usageExtraTokens: 0 };
const scenarioAt = (baseURL: string, apiKeyLine = '') =>
  `name: pre\ntarget:\n  baseURL: "${baseURL}"\n${apiKeyLine}models: [Meta-Llama-3.3-70B-Instruct]\nload: {concurrency: 2, requests: 6}\nprompts: [hi]\n`;

describe('preflight: one request per model before any load', () => {
  test('a wrong API key stops the run after one request, exit 1, with the server’s message and no results folder', () =>
    withTempDir(async (dir) => {
      let requests = 0;
      const server = createServer((req, res) => {
        requests++;
        req.resume();
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"Incorrect API key provided"}}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const file = path.join(dir, 'pre.yaml');
        await writeFile(file, scenarioAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, '  apiKey: sk-wrong-key-123\n'));
        const io = captureIo();
        const code = await main(['run', file, '--out', path.join(dir, 'out')], io);
        assert.equal(code, ExitCode.RUN_FAILED);
        assert.match(io.err(), /the preflight request to Meta-Llama-3\.3-70B-Instruct at http:\/\/127\.0\.0\.1:\d+\/v1 failed with HTTP 401 auth: 401 Incorrect API key provided;/);
        assert.match(io.err(), /--no-preflight skips this check/);
        assert.ok(!io.err().includes('sk-wrong-key-123'), 'the key is never printed');
        assert.equal(requests, 1, 'one request reached the server');
        assert.deepEqual(await readdir(dir), ['pre.yaml'], 'no results folder');
      } finally {
        server.closeAllConnections();
        server.close();
      }
    }));

  test('--no-preflight sends the load anyway: every request fails 401 and the run says so after its table', () =>
    withTempDir(async (dir) => {
      const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} }, { keepTruth: true, apiKey: 'sk-right' });
      try {
        const file = path.join(dir, 'pre.yaml');
        await writeFile(file, scenarioAt(sim.baseURL, '  apiKey: sk-wrong\n'));
        const io = captureIo();
        const out = path.join(dir, 'out');
        assert.equal(await main(['run', file, '--out', out, '--no-preflight'], io), ExitCode.RUN_FAILED);
        const lines = await readRequests<{ error?: { class: string; status: number } }>(out);
        assert.equal(lines.length, 8, 'warm-up and measured requests, no preflight');
        assert.ok(lines.every((line) => line.error?.class === 'auth' && line.error.status === 401));
        assert.match(io.err(), /no request succeeded/);
        // The errors section says what went wrong, in the console and the report: class, count, status, the server's words.
        assert.match(io.out(), /errors in Meta-Llama-3\.3-70B-Instruct @ c=2: auth 6 \(HTTP 401: "401 [^"]+"\)/);
        const html = await readFile(path.join(out, 'report.html'), 'utf8');
        assert.match(html, /<section data-section="errors"><h2>Errors<\/h2>/);
        assert.match(html, /<tr><td>Meta-Llama-3\.3-70B-Instruct @ c=2<\/td><td><code>auth<\/code><\/td><td class="num">6<\/td><td class="num">401<\/td><td>401 /);
        assert.ok(!html.includes('sk-wrong'), 'no key on the page');
      } finally {
        await sim.close();
      }
    }));

  test('a refused connection stops the run at once, naming the address', () =>
    withTempDir(async (dir) => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const file = path.join(dir, 'pre.yaml');
      await writeFile(file, scenarioAt(`http://127.0.0.1:${port}/v1`));
      const io = captureIo();
      assert.equal(await main(['run', file, '--out', path.join(dir, 'out')], io), ExitCode.RUN_FAILED);
      assert.match(io.err(), new RegExp(`at http://127\\.0\\.0\\.1:${port}/v1 failed with connection: .*ECONNREFUSED`));
    }));

  test('a passing failure (HTTP 503) is a warning and the run goes on', () =>
    withTempDir(async (dir) => {
      let calls = 0;
      const sim = await startSimulator({ seed: 1, defaults: PROFILE, models: {} }, { keepTruth: true });
      // A proxy that answers the first request 503 and passes the rest to the simulator.
      const proxy = createServer((req, res) => {
        if (calls++ === 0) {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"warming up"}}');
          return;
        }
        const target = new URL(req.url!, sim.baseURL.replace(/\/v1$/, ''));
        req.pipe(
          http.request(target, { method: req.method, headers: req.headers }, (upstream) => {
            res.writeHead(upstream.statusCode!, upstream.headers);
            upstream.pipe(res);
          }),
        );
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const file = path.join(dir, 'pre.yaml');
        await writeFile(file, scenarioAt(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`));
        const io = captureIo();
        assert.equal(await main(['run', file, '--out', path.join(dir, 'out'), ...NOT_ABOUT_CLIENT_HEALTH], io), ExitCode.OK, io.err() + io.out());
        assert.match(io.err(), /warning: the preflight request to Meta-Llama-3\.3-70B-Instruct failed with HTTP 503 server_error: .*warming up; running anyway/);
        assert.equal(sim.truth.length, 8);
      } finally {
        proxy.closeAllConnections();
        proxy.close();
        await sim.close();
      }
    }));
});

