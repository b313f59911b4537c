import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeHtml, escapeMarkdown, escapeMarkdownPipes, escapeXml } from '../../src/util/escape.ts';

const CASES: [escaper: string, escape: (text: string) => string, input: string, expected: string][] = [
  ['escapeHtml', escapeHtml, `beta <b>&"x'`, 'beta &lt;b&gt;&amp;&quot;x&#39;'],
  ['escapeHtml', escapeHtml, '&amp;', '&amp;amp;'],
  ['escapeHtml', escapeHtml, 'plain text · ★', 'plain text · ★'],
  ['escapeXml', escapeXml, `beta <b>&"x'`, 'beta &lt;b&gt;&amp;&quot;x&apos;'],
  ['escapeXml', escapeXml, 'ttft.p95 < 500ms', 'ttft.p95 &lt; 500ms'],
  ['escapeMarkdown', escapeMarkdown, 'm|x @ c=8', 'm\\|x @ c=8'],
  ['escapeMarkdown', escapeMarkdown, 'a_b *c* `d` \\e', 'a\\_b \\*c\\* \\`d\\` \\\\e'],
  ['escapeMarkdown', escapeMarkdown, 'Meta-Llama-3.3-70B @ 2.5 req/s', 'Meta-Llama-3.3-70B @ 2.5 req/s'],
  ['escapeMarkdownPipes', escapeMarkdownPipes, 'x | y', 'x \\| y'],
  ['escapeMarkdownPipes', escapeMarkdownPipes, '**★** a_b', '**★** a_b'],
];

describe('escaping', () => {
  for (const [name, escape, input, expected] of CASES) test(`${name}(${JSON.stringify(input)})`, () => assert.equal(escape(input), expected));
});
