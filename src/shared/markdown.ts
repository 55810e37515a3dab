// The Web UI renders a workflow's summary and details as Markdown, HTML included. Prompts and ids come from an
// items file someone else may have written: shown as text, never as links, images or elements.

/**
 * `s` as Markdown text: every character that could start markup is backslash-escaped (the Web UI shows an escaped
 * character as itself; it does not decode HTML entities), and line breaks become spaces.
 */
export function asMarkdownText(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[\\`*_{}[\]()#+!|~:<>&]/g, (c) => `\\${c}`);
}
