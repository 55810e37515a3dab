// Prompts shown in the Web UI stay text: no links, images, HTML elements or line breaks survive as markup.
import { describe, expect, it } from 'vitest';
import { asMarkdownText } from '../../src/shared/markdown';

describe('asMarkdownText', () => {
  it('escapes links, images, HTML and emphasis', () => {
    const hostile = '[click](https://evil.example) ![x](http://t/x.png) <iframe src=x></iframe> **bold** `code`';
    const out = asMarkdownText(hostile);
    expect(out).not.toMatch(/(^|[^\\])\[/);
    expect(out).not.toMatch(/(^|[^\\])[<>*`]/);
    expect(out).toContain('\\<iframe src=x\\>\\</iframe\\>');
    expect(out).toContain('https\\://evil.example');
  });

  it('keeps plain prompts readable and puts everything on one line', () => {
    expect(asMarkdownText('a calm lake, at dawn')).toBe('a calm lake, at dawn');
    expect(asMarkdownText('# title\nsecond line')).toBe('\\# title second line');
  });
});
