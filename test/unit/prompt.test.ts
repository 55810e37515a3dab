import { describe, expect, it } from 'vitest';
import { cleanPrompt, simplifyPrompt } from '../../src/shared/prompt';

describe('cleanPrompt', () => {
  it('removes Midjourney flags and keeps the rest', () => {
    expect(cleanPrompt('a misty harbour at dawn --ar 16:9 --v 6.1 --style raw')).toBe('a misty harbour at dawn');
  });
  it('leaves a plain prompt alone', () => {
    expect(cleanPrompt('a cat on a mat')).toBe('a cat on a mat');
  });
});

describe('simplifyPrompt', () => {
  it("strips the seeds' keywords first, Chinese and English", () => {
    expect(simplifyPrompt('战场上的血腥场面，士兵与武器')).toBe('战场上的 场面，士兵与');
    expect(simplifyPrompt('a bloody battlefield at dawn, soldiers with guns')).toBe(
      'a battlefield at dawn, soldiers with',
    );
  });
  it('does not cut words that merely contain a keyword', () => {
    expect(simplifyPrompt('a warm swarm of bees, in a meadow')).toBe('a warm swarm of bees');
  });
  it('then shortens by clauses, then by words, until it cannot', () => {
    let p = 'a dragon over a castle, at night, under a full moon, in watercolour';
    const seen = [p];
    for (;;) {
      const next = simplifyPrompt(p);
      if (next === p) break;
      seen.push(next);
      p = next;
    }
    expect(seen).toEqual([
      'a dragon over a castle, at night, under a full moon, in watercolour',
      'a dragon over a castle, at night',
      'a dragon over a castle',
      'a dragon over',
    ]);
  });
  it('returns the prompt unchanged when nothing is left to simplify', () => {
    expect(simplifyPrompt('a dragon')).toBe('a dragon');
    expect(simplifyPrompt('forbidden')).toBe('forbidden');
  });
  it('halves a long Chinese clause by characters', () => {
    expect(simplifyPrompt('一座未来城市的夜景霓虹灯雨后的街道')).toBe('一座未来城市的夜景');
  });
  it('drops the keyword and the Midjourney flags together', () => {
    expect(simplifyPrompt('暴力 场景 --ar 1:1')).toBe('场景');
  });
});
