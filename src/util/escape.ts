/** Escaping user text (model names, titles, reasons) for the formats tokenmeter writes. Pure. */

/** Text for HTML element content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Text for XML attributes and content (JUnit). */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Text for a Markdown table cell or heading: its pipes and emphasis characters taken literally. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[|\\`*_]/g, (c) => `\\${c}`);
}

/** Only the pipes of a Markdown table cell, for text that keeps its markup or sits in a code span (`a|b`). */
export function escapeMarkdownPipes(text: string): string {
  return text.replace(/\|/g, '\\|');
}
