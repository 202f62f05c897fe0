import { describe, expect, it } from 'vitest';
import { errorCodeFor, errorCodeForStatus, outcomeFor, kindForMethod, UNMAPPED } from '../src/index';

describe('errorCodeForStatus', () => {
  it.each([
    [400, 'INVALID_ARGUMENT'],
    [401, 'UNAUTHORIZED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [409, 'CONFLICT'],
    [429, 'RATE_LIMIT'],
    [500, 'INTERNAL_ERROR'],
    [502, 'INTERNAL_ERROR'],
    [503, 'UNAVAILABLE'],
    [599, 'INTERNAL_ERROR'],
    [418, UNMAPPED],
    [422, UNMAPPED],
    [200, UNMAPPED],
    [0, UNMAPPED],
  ])('maps %i to %s', (status, code) => {
    expect(errorCodeForStatus(status)).toBe(code);
  });
});

describe('outcomeFor', () => {
  it('is success for 2xx/3xx unless the span status is ERROR', () => {
    expect(outcomeFor(200, false)).toBe('success');
    expect(outcomeFor(304, false)).toBe('success');
    expect(outcomeFor(201, true)).toBe('error');
  });
  it('is throttled for 429 whatever the span status', () => {
    expect(outcomeFor(429, false)).toBe('throttled');
    expect(outcomeFor(429, true)).toBe('throttled');
  });
  it('is error for 4xx/5xx and for a missing status', () => {
    expect(outcomeFor(404, false)).toBe('error');
    expect(outcomeFor(500, false)).toBe('error');
    expect(outcomeFor(0, false)).toBe('error');
  });
});

describe('errorCodeFor', () => {
  it('is null for successes', () => expect(errorCodeFor('success', 200, 'IGNORED')).toBeNull());
  it('prefers the connector error code', () => expect(errorCodeFor('error', 500, 'BACKEND_TIMEOUT')).toBe('BACKEND_TIMEOUT'));
  it('falls back to the status mapping', () => {
    expect(errorCodeFor('throttled', 429, undefined)).toBe('RATE_LIMIT');
    expect(errorCodeFor('error', 418, '')).toBe(UNMAPPED);
  });
});

describe('kindForMethod', () => {
  it('treats GET and HEAD as reads, everything else as writes', () => {
    expect(kindForMethod('GET')).toBe('read');
    expect(kindForMethod('HEAD')).toBe('read');
    expect(kindForMethod('POST')).toBe('write');
    expect(kindForMethod('')).toBe('write');
  });
});
