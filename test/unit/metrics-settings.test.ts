// What `worker --metrics` takes (IP:PORT, as the SDK's exporter binds it) and how a provider's answer is counted.
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { metricsAddress } from '../../src/client/settings';
import { refusalOutcome } from '../../src/metrics/provider-metrics';
import { ProviderError } from '../../src/providers/types';
import { ErrorType } from '../../src/shared/errors';

describe('metricsAddress', () => {
  it.each(['0.0.0.0:9464', '127.0.0.1:1', '[::]:9464', '[::1]:65535'])('takes %s', (a) => {
    expect(metricsAddress({ metrics: a }, {})).toBe(a);
  });

  it.each(['localhost:9464', '9464', '127.0.0.1', '127.0.0.1:65536', '::1:9464', '[127.0.0.1]:9464', ' 0.0.0.0:1'])(
    'refuses %s, naming the flag',
    (a) => {
      expect(() => metricsAddress({ metrics: a }, {})).toThrow(`--metrics: expected IP:PORT`);
    },
  );

  it('falls back to IMAGEBATCH_METRICS (an empty one is none), the flag winning', () => {
    expect(metricsAddress({}, { IMAGEBATCH_METRICS: '0.0.0.0:9464' })).toBe('0.0.0.0:9464');
    expect(metricsAddress({}, { IMAGEBATCH_METRICS: '' })).toBeUndefined();
    expect(metricsAddress({ metrics: '127.0.0.1:2' }, { IMAGEBATCH_METRICS: 'nonsense' })).toBe('127.0.0.1:2');
    expect(() => metricsAddress({}, { IMAGEBATCH_METRICS: 'host:1' })).toThrow('IMAGEBATCH_METRICS: expected IP:PORT');
  });
});

describe('refusalOutcome', () => {
  const failure = (type: string) => ApplicationFailure.create({ type, message: 'x' });
  it('names throttles and moderation; anything else failed', () => {
    expect(refusalOutcome(failure(ErrorType.RateLimited))).toBe('throttled');
    expect(refusalOutcome(failure(ErrorType.ContentRejected))).toBe('moderated');
    expect(refusalOutcome(failure(ErrorType.Transient))).toBe('failed');
    expect(refusalOutcome(new Error('socket hang up'))).toBe('failed');
  });
  it("reads a provider's own error as it is thrown, before it is made a failure", () => {
    expect(refusalOutcome(new ProviderError(ErrorType.RateLimited, 'x'))).toBe('throttled');
    expect(refusalOutcome(new ProviderError(ErrorType.ContentRejected, 'x'))).toBe('moderated');
    expect(refusalOutcome(new ProviderError(ErrorType.InvalidRequest, 'x'))).toBe('failed');
  });
});
