import { describe, expect, it } from 'vitest';
import { validateInvocation, isInvocation, MAX_LABEL_LENGTH } from '../src/index';
import { anEvent } from './builders';

describe('validateInvocation', () => {
  it('accepts a well-formed event', () => {
    expect(validateInvocation(anEvent())).toEqual([]);
    expect(isInvocation(anEvent({ outcome: 'error', errorCode: 'UNMAPPED', httpStatus: 418 }))).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'x', ''],
    ['an array', [], ''],
    ['a wrong schema version', { ...anEvent(), schemaVersion: 2 }, 'schemaVersion'],
    ['an empty tenant', anEvent({ tenant: '' }), 'tenant'],
    ['a huge connector name', anEvent({ connector: 'x'.repeat(MAX_LABEL_LENGTH + 1) }), 'connector'],
    ['a numeric action', { ...anEvent(), action: 42 }, 'action'],
    ['an unknown kind', { ...anEvent(), kind: 'delete' }, 'kind'],
    ['a status out of range', anEvent({ httpStatus: 700 }), 'httpStatus'],
    ['a fractional status', anEvent({ httpStatus: 200.5 }), 'httpStatus'],
    ['an unknown outcome', { ...anEvent(), outcome: 'meh' }, 'outcome'],
    ['an error code on a success', anEvent({ errorCode: 'X' }), 'errorCode'],
    ['a missing error code on an error', anEvent({ outcome: 'error', errorCode: null }), 'errorCode'],
    ['an injection string as error code', anEvent({ outcome: 'error', errorCode: "'; DROP TABLE x; --" }), 'errorCode'],
    ['a negative latency', anEvent({ latencyMs: -1 }), 'latencyMs'],
    ['an infinite latency', anEvent({ latencyMs: Infinity }), 'latencyMs'],
    ['an absurd latency', anEvent({ latencyMs: 1e12 }), 'latencyMs'],
    ['a NaN event time', anEvent({ eventTime: NaN }), 'eventTime'],
    ['an upper-case trace id', anEvent({ traceId: '0AF7651916CD43DD8448EB211C80319C' }), 'traceId'],
    ['a short span id', anEvent({ spanId: 'abc' }), 'spanId'],
    ['a zero sample weight', anEvent({ sampleWeight: 0 }), 'sampleWeight'],
    ['a huge sample weight', anEvent({ sampleWeight: 1e9 }), 'sampleWeight'],
  ])('rejects %s', (_name, value, field) => {
    const problems = validateInvocation(value);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((p) => p.field)).toContain(field);
  });
});
