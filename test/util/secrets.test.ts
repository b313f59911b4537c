import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestError } from '../../src/client/errors.ts';
import { MIN_SECRET_CHARS, SecretScrubber, secretsOf } from '../../src/util/secrets.ts';

const KEY = 'sk-SECRET-CANARY-0123456789abcdef';

/** Every piece of MIN_SECRET_CHARS characters of `secret` that `text` contains. */
const leaks = (text: string, secret: string): string[] =>
  Array.from({ length: secret.length - MIN_SECRET_CHARS + 1 }, (_, i) => secret.slice(i, i + MIN_SECRET_CHARS)).filter((piece) => text.includes(piece));

test('the secrets of a run: the key, every header value and the credential after its scheme, and environment values named like secrets', () => {
  const secrets = secretsOf({
    apiKey: KEY,
    headers: { Authorization: 'Bearer tok-1234567890', 'X-Team': 'short', 'X-Trace': 'trace-value-long' },
    env: { MY_API_KEY: 'env-key-abcdefgh', GITHUB_TOKEN: 'ghp_0123456789', DB_PASSWORD: 'hunter22hunter', HOME: '/root/home/dir', SHORT_KEY: 'abc' },
  });
  assert.deepEqual(secrets.sort(), [KEY, 'Bearer tok-1234567890', 'env-key-abcdefgh', 'ghp_0123456789', 'hunter22hunter', 'tok-1234567890', 'trace-value-long'].sort());
});

test('variables only named like secrets are not: npm run\'s package fields and tokenmeter\'s own settings', () => {
  const env = {
    npm_package_bin_tokenmeter: 'bin/tokenmeter.js',
    npm_package_keywords_0: 'benchmarking',
    TOKENMETER_RESULTS: '/var/lib/results',
    TOKENMETER_API_KEY: 'tm-key-abcdefgh',
    npm_config__authToken: 'npm-token-abcdefgh',
  };
  assert.deepEqual(secretsOf({ env }).sort(), ['npm-token-abcdefgh', 'tm-key-abcdefgh']);
});

test('scrubbing removes a secret whole, and any piece of 8 or more characters of it, and nothing else', () => {
  const scrubber = new SecretScrubber([KEY]);
  assert.equal(scrubber.scrub(`key ${KEY} again ${KEY}.`), 'key [redacted] again [redacted].');
  // Echoed cut or masked by a server: the pieces of 8 or more go, shorter ones cannot be told from other text.
  assert.equal(scrubber.scrub('Incorrect API key provided: sk-SECRET-CANA****cdef'), 'Incorrect API key provided: [redacted]****cdef');
  assert.equal(scrubber.scrub('ends with 0123456789abcdef!'), 'ends with [redacted]!');
  assert.equal(scrubber.scrub('{"ttft_ms":123.456,"model":"m"}'), '{"ttft_ms":123.456,"model":"m"}');
  assert.equal(new SecretScrubber([]).scrub(KEY), KEY);
});

test('an error body is scrubbed before it is cut: no piece of the key is left at the cut', () => {
  const scrubber = new SecretScrubber([KEY]);
  // Around the excerpt's cut (300), and around 600, where the old code cut before scrubbing.
  for (const at of [280, 290, 295, 299, 300, 590, 595, 599]) {
    const body = `${'x'.repeat(at)}${KEY}${'y'.repeat(400)}`;
    const error = requestError({ class: 'server_error', message: `500 ${body}`, status: 500, body }, scrubber);
    assert.deepEqual(leaks(JSON.stringify(error), KEY), [], `key at ${at}`);
  }
});
