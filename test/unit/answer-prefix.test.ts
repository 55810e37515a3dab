// The JSON an error answer cut at the cap starts: what a provider's error says before its long message.
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/providers/http';

describe('parsePrefix', () => {
  it('closes an open string and the brackets around it', () => {
    expect(parsePrefix('{"error":{"code":"moderation_blocked","message":"yyy')).toEqual({
      error: { code: 'moderation_blocked', message: 'yyy' },
    });
    expect(parsePrefix('{"detail":[{"type":"content_policy_violation","msg":"no')).toEqual({
      detail: [{ type: 'content_policy_violation', msg: 'no' }],
    });
  });

  it('drops an escape cut in two', () => {
    expect(parsePrefix('{"code":"X","message":"a\\')).toEqual({ code: 'X', message: 'a' });
    expect(parsePrefix('{"code":"X","message":"a\\u00')).toEqual({ code: 'X', message: 'a' });
    expect(parsePrefix('{"code":"X","message":"a\\\\')).toEqual({ code: 'X', message: 'a\\' });
  });

  it('cuts back to the last complete member when the cut is in a key or a number', () => {
    expect(parsePrefix('{"code":"X","mess')).toEqual({ code: 'X' });
    expect(parsePrefix('{"code":"X","n":12')).toEqual({ code: 'X', n: 12 });
    expect(parsePrefix('{"code":"X","n":')).toEqual({ code: 'X' });
  });

  it('is undefined for what is not JSON', () => {
    expect(parsePrefix('<html><body>yyy')).toBeUndefined();
    expect(parsePrefix('')).toBeUndefined();
  });
});
