import { describe, expect, it } from 'vitest';
import {
  BatchDecodeError,
  decodeInvocationBatch,
  decodeInvocationColumns,
  encodeInvocationBatch,
  encodeInvocationBatchV1,
  encodeInvocationBatchV2,
  INVOCATION_BATCH_CODED_FIELDS,
  INVOCATION_BATCH_FIELDS,
  INVOCATION_BATCH_FORMAT,
  MAX_EVENTS_PER_BATCH,
  seriesKey,
  validateInvocation,
  type InvocationEvent,
} from '../src/index';
import { anEvent } from './builders';

const format = INVOCATION_BATCH_FORMAT;
const row = (e: InvocationEvent): unknown[] => INVOCATION_BATCH_FIELDS.map((f) => e[f as keyof InvocationEvent]);

// Both quote characters, backslash, paired surrogates, line/paragraph separators, non-ASCII
// letters, key separators and a 4-byte UTF-8 character: legal, so they must round-trip exactly.
/** Strings that are legal labels (labelProblem) although they look hostile. */
const HOSTILE = [
  'say "hi" \\ o/ \' `',
  'paired 😀 emoji',
  'line\u2028para\u2029 sep',
  'Grüße, 東京, עברית',
  '</script><!--',
  '{tag}|sep:%41',
];

/** Strings no label may be: the decoder rejects them like ingest does, so they never reach the store. */
const ILLEGAL: Array<[string, string]> = [
  [Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join(''), 'contains a control character'],
  ['nul \u0000', 'contains a control character'],
  ['del\u007f', 'contains a control character'],
  ['\ud800 lone high', 'not well-formed Unicode (lone surrogate)'],
  ['lone low \udfff', 'not well-formed Unicode (lone surrogate)'],
  ['reversed \udc00\ud800 pair', 'not well-formed Unicode (lone surrogate)'],
];

describe('invocation batch codec', () => {
  const events = [anEvent(), anEvent({ spanId: 'b7ad6b7169203332', latencyMs: 3 }), anEvent({ outcome: 'throttled', httpStatus: 429, errorCode: 'RATE_LIMIT', correlationId: null })];

  it('round-trips events in order (v3, what producers write)', () => {
    const value = encodeInvocationBatch(events);
    // Coded columns hold indices into dict, in order of first use; a null error code stays null.
    const dict = ['contoso', 'ContosoSales', '1.2.0', 'ListInvoices', 'GET', 'read', 'success', 'throttled', 'RATE_LIMIT'];
    const coded = (e: InvocationEvent): unknown[] => row(e).map((v, i) => (INVOCATION_BATCH_CODED_FIELDS.includes(INVOCATION_BATCH_FIELDS[i]!) && v !== null ? dict.indexOf(v as string) : v));
    expect(JSON.parse(value.toString())).toEqual({ format, v: 3, fields: [...INVOCATION_BATCH_FIELDS], coded: [...INVOCATION_BATCH_CODED_FIELDS], dict, rows: events.map(coded) });
    const decoded = decodeInvocationBatch(value);
    expect(decoded).toEqual(events);
    // Same key order as the producer's objects, so re-serialising a decoded event is unchanged.
    expect(decoded.map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)));
  });

  it('still decodes v1 and v2 messages to the same events', () => {
    const v1 = encodeInvocationBatchV1(events);
    expect(JSON.parse(v1.toString())).toEqual({ format, v: 1, events });
    const v2 = encodeInvocationBatchV2(events);
    expect(JSON.parse(v2.toString())).toEqual({ format, v: 2, fields: [...INVOCATION_BATCH_FIELDS], rows: events.map(row) });
    for (const old of [v1, v2]) {
      expect(decodeInvocationBatch(old)).toEqual(decodeInvocationBatch(encodeInvocationBatch(events)));
      expect(decodeInvocationBatch(old.toString('utf8'))).toEqual(events);
    }
  });

  it('writes v2 in about half the bytes of v1, and v3 in well under three quarters of v2', () => {
    const many = Array.from({ length: 500 }, (_, i) =>
      anEvent({ spanId: i.toString(16).padStart(16, '0'), latencyMs: i / 7, action: `Action${i % 5}`, connectorVersion: `1.${i % 4}.0`, correlationId: i % 2 === 0 ? null : `corr-${i}` }),
    );
    const [v1, v2, v3] = [encodeInvocationBatchV1(many), encodeInvocationBatchV2(many), encodeInvocationBatch(many)];
    expect(v2.length).toBeLessThan(v1.length * 0.55);
    expect(v3.length).toBeLessThan(v2.length * 0.75);
    expect(decodeInvocationBatch(v3)).toEqual(many);
  });

  it('decodes a v3 message exactly when every event passes validateInvocation, with the same first problem', () => {
    // Seeded mutations of valid events: each field broken in one of several ways, or left alone.
    let seed = 7;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const broken: Record<string, unknown[]> = {
      schemaVersion: [2, '1', null],
      tenant: ['', 'x'.repeat(257), 5],
      connector: ['', null],
      connectorVersion: [''],
      action: ['', 'a'.repeat(300)],
      httpMethod: ['', 'M'.repeat(257)],
      kind: ['READ', ''],
      httpStatus: [99, 600, 200.5, '200'],
      outcome: ['ok', ''],
      errorCode: ['lower', 'UNMAPPED', null],
      latencyMs: [-1, 86_400_001, '5'],
      eventTime: [-1, 9e15],
      correlationId: ['', 'c'.repeat(257)],
      traceId: ['0AF7651916CD43DD8448EB211C80319C', 'abc'],
      spanId: ['b7ad6b716920333', 'zzzzzzzzzzzzzzzz'],
      sampleWeight: [0, -1, 2 ** 20 + 1],
    };
    let rejected = 0;
    for (let n = 0; n < 400; n++) {
      const batch = Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
        const e: Record<string, unknown> = { ...anEvent({ outcome: pick(['success', 'error', 'throttled'] as const) }) };
        e.errorCode = e.outcome === 'success' ? null : 'INTERNAL_ERROR';
        if (random() < 0.3) {
          const field = pick(Object.keys(broken));
          e[field] = pick(broken[field]!);
        }
        return e as unknown as InvocationEvent;
      });
      // Non-string labels cannot be dictionary-coded by the encoder; v1 carries them as they are.
      const codable = batch.every((e) => INVOCATION_BATCH_CODED_FIELDS.every((f) => typeof e[f as keyof InvocationEvent] === 'string' || (f === 'errorCode' && e.errorCode === null)));
      const value = codable ? encodeInvocationBatch(batch) : encodeInvocationBatchV1(batch);
      const firstBad = batch.findIndex((e) => validateInvocation(e).length > 0);
      if (firstBad < 0) {
        expect(decodeInvocationBatch(value)).toEqual(batch);
        continue;
      }
      rejected++;
      const p = validateInvocation(batch[firstBad])[0]!;
      expect(() => decodeInvocationBatch(value)).toThrow(`event ${firstBad}: ${p.field} ${p.message}`);
    }
    expect(rejected).toBeGreaterThan(100);
  });

  it.each(HOSTILE)('round-trips the hostile string %j exactly in every string field', (text) => {
    const e = anEvent({ tenant: text, connector: `c${text}`, connectorVersion: `${text}v`, action: text, httpMethod: text, correlationId: text });
    const value = encodeInvocationBatch([e]);
    // The message is valid UTF-8 JSON whose dictionary holds the strings as JSON.stringify writes them.
    expect(Buffer.from(value.toString('utf8'), 'utf8').equals(value)).toBe(true);
    for (const field of ['tenant', 'connector', 'connectorVersion', 'action', 'httpMethod', 'correlationId'] as const) expect(value.toString('utf8')).toContain(JSON.stringify(e[field]));
    const [back] = decodeInvocationBatch(value);
    expect(back).toEqual(e);
    expect(back!.action === text && back!.correlationId === text).toBe(true);
  });

  it.each(ILLEGAL)('encodes the illegal label %j losslessly and rejects it on decode (%s)', (text, reason) => {
    for (const field of ['tenant', 'connector', 'connectorVersion', 'action', 'correlationId'] as const) {
      const value = encodeInvocationBatch([anEvent(), anEvent({ [field]: text })]);
      expect(Buffer.from(value.toString('utf8'), 'utf8').equals(value)).toBe(true);
      expect(() => decodeInvocationBatch(value)).toThrow(`event 1: ${field} ${reason}`);
      expect(() => decodeInvocationColumns(value)).toThrow(BatchDecodeError);
    }
  });

  it('writes non-finite numbers as null so the consumer rejects them rather than guessing', () => {
    for (const latencyMs of [NaN, Infinity, -Infinity]) {
      expect(() => decodeInvocationBatch(encodeInvocationBatch([anEvent({ latencyMs })]))).toThrow(/event 0: latencyMs must be a finite number/);
    }
  });

  it('writes -0 and exponent-form numbers exactly as JSON.stringify does', () => {
    const e = anEvent({ latencyMs: -0, eventTime: 8.64e15, sampleWeight: 1e-7 });
    expect(encodeInvocationBatch([e]).toString()).toContain(JSON.stringify(row(e).slice(10, 12)).slice(1, -1));
    expect(decodeInvocationBatch(encodeInvocationBatch([e]))[0]).toEqual({ ...e, latencyMs: 0 });
  });

  const v2 = (rows: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ format, v: 2, fields: INVOCATION_BATCH_FIELDS, rows, ...extra });
  const good = JSON.parse(encodeInvocationBatch([anEvent()]).toString()) as { dict: string[]; rows: unknown[][] };
  const v3 = (rows: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ format, v: 3, fields: INVOCATION_BATCH_FIELDS, coded: INVOCATION_BATCH_CODED_FIELDS, dict: good.dict, rows, ...extra });
  const codedRow = (changes: Record<number, unknown>): unknown[] => good.rows[0]!.map((v, i) => (i in changes ? changes[i] : v));
  it.each<[string, Buffer | string, RegExp]>([
    ['undecodable bytes', Buffer.from([0xff, 0xfe, 0x00]), /undecodable/],
    ['truncated JSON', encodeInvocationBatch([anEvent()]).subarray(0, 30), /undecodable/],
    ['a JSON scalar', '42', /object/],
    ['another format', JSON.stringify({ format: 'other', v: 1, events: [] }), /unknown batch format/],
    ['another version', JSON.stringify({ format, v: 4, events: [] }), /unsupported batch version 4/],
    ['no version', JSON.stringify({ format, events: [] }), /unsupported batch version undefined/],
    ['v1 events not an array', JSON.stringify({ format, v: 1, events: {} }), /array/],
    ['a v1 invalid event', JSON.stringify({ format, v: 1, events: [anEvent(), { ...anEvent(), latencyMs: -5 }] }), /event 1: latencyMs/],
    ['too many v1 events', JSON.stringify({ format, v: 1, events: new Array(MAX_EVENTS_PER_BATCH + 1).fill(0) }), /at most/],
    ['v2 without fields', JSON.stringify({ format, v: 2, rows: [] }), /batch\.fields must be/],
    ['v2 with reordered fields', v2([], { fields: [...INVOCATION_BATCH_FIELDS].reverse() }), /batch\.fields must be/],
    ['v2 rows not an array', v2({}), /batch\.rows must be an array/],
    ['a v2 row that is an object', v2([row(anEvent()), anEvent()]), /event 1: must be an array of 16 values/],
    ['a short v2 row', v2([row(anEvent()).slice(0, 15)]), /event 0: must be an array of 16 values/],
    ['a long v2 row', v2([[...row(anEvent()), 'extra']]), /event 0: must be an array of 16 values/],
    ['a v2 invalid event', v2([row(anEvent()), row(anEvent({ traceId: 'XYZ' }))]), /event 1: traceId/],
    ['a v2 event of another schema version', encodeInvocationBatchV2([anEvent({ schemaVersion: 99 as 1 })]), /event 0: schemaVersion unsupported/],
    ['a v3 event of another schema version', encodeInvocationBatch([anEvent({ schemaVersion: 99 as 1 })]), /event 0: schemaVersion unsupported/],
    ['v3 without coded', JSON.stringify({ format, v: 3, fields: INVOCATION_BATCH_FIELDS, dict: good.dict, rows: good.rows }), /batch\.coded must be/],
    ['v3 with other coded columns', v3(good.rows, { coded: ['tenant'] }), /batch\.coded must be/],
    ['v3 without dict', v3(good.rows, { dict: undefined }), /batch\.dict must be an array/],
    ['a v3 dict with a number', v3(good.rows, { dict: [...good.dict, 7] }), /batch\.dict must be an array of at most \d+ strings/],
    ['a v3 dict that is too long', v3(good.rows, { dict: new Array(8 * MAX_EVENTS_PER_BATCH + 1).fill('x') }), /batch\.dict must be an array of at most/],
    ['a v3 row past the dict', v3([codedRow({ 1: good.dict.length })]), /event 0: tenant must be an index of batch\.dict/],
    ['a v3 row with a negative index', v3([codedRow({ 4: -1 })]), /event 0: action must be an index of batch\.dict/],
    ['a v3 row with a fractional index', v3([codedRow({ 2: 0.5 })]), /event 0: connector must be an index of batch\.dict/],
    ['a v3 row with a string where an index goes', v3([codedRow({ 3: '1.2.0' })]), /event 0: connectorVersion must be an index of batch\.dict/],
    ['a v3 row with a null outcome', v3([codedRow({ 8: null })]), /event 0: outcome must be an index of batch\.dict/],
    ['a short v3 row', v3([good.rows[0]!.slice(0, 15)]), /event 0: must be an array of 16 values/],
    ['a v3 row whose dict entry breaks the schema', v3([codedRow({ 6: 0 })]), /event 0: kind must be read or write/],
    ['too many v2 rows', v2(new Array(MAX_EVENTS_PER_BATCH + 1).fill(0)), /at most/],
  ])('refuses %s with a non-retriable error', (_name, value, message) => {
    let caught: unknown;
    try {
      decodeInvocationBatch(value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BatchDecodeError);
    expect((caught as BatchDecodeError).retriable).toBe(false);
    expect((caught as Error).message).toMatch(message);
  });

  it('keys a series by tenant and connector with a separator that cannot be confused', () => {
    expect(seriesKey('a', 'b/c')).not.toBe(seriesKey('a/b', 'c'));
  });
});
