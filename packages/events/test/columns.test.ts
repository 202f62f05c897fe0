import { describe, expect, it } from 'vitest';
import {
  columnsOf,
  decodeInvocationBatch,
  decodeInvocationColumns,
  encodeInvocationBatch,
  encodeInvocationBatchV1,
  encodeInvocationBatchV2,
  ID_WORDS,
  INVOCATION_BATCH_FIELDS,
  KIND_CODES,
  MAX_LABEL_LENGTH,
  MAX_LATENCY_MS,
  MAX_SAMPLE_WEIGHT,
  OUTCOME_CODES,
  type InvocationColumns,
  type InvocationEvent,
} from '../src/index';
import { anEvent } from './builders';

/** The fields the columns hold, per event, as decodeInvocationBatch's events hold them. */
function fieldsOf(e: InvocationEvent) {
  return { tenant: e.tenant, connector: e.connector, connectorVersion: e.connectorVersion, action: e.action, kind: e.kind, outcome: e.outcome, errorCode: e.errorCode, latencyMs: e.latencyMs, eventTime: e.eventTime, sampleWeight: e.sampleWeight, id: e.traceId + e.spanId };
}

function fromColumns(c: InvocationColumns) {
  const kinds = Object.keys(KIND_CODES);
  const outcomes = Object.keys(OUTCOME_CODES);
  return Array.from({ length: c.length }, (_, i) => ({
    tenant: c.dict[c.tenant[i]!],
    connector: c.dict[c.connector[i]!],
    connectorVersion: c.dict[c.connectorVersion[i]!],
    action: c.dict[c.action[i]!],
    kind: kinds[c.kind[i]!],
    outcome: outcomes[c.outcome[i]!],
    errorCode: c.errorCode[i] === -1 ? null : c.dict[c.errorCode[i]!],
    latencyMs: c.latencyMs[i],
    eventTime: c.eventTime[i],
    sampleWeight: c.sampleWeight[i],
    // The identity's words back as the hex they were read from.
    id: Array.from(c.ids.subarray(i * ID_WORDS, (i + 1) * ID_WORDS), (w) => w.toString(16).padStart(8, '0')).join(''),
  }));
}

/** What decoding a message does: its events' fields, or the error it throws. */
function outcomeOf(decode: () => unknown[] | InvocationColumns): { ok: unknown[] } | { error: string; name: string } {
  try {
    const r = decode();
    return { ok: Array.isArray(r) ? (r as InvocationEvent[]).map(fieldsOf) : fromColumns(r) };
  } catch (err) {
    return { error: (err as Error).message, name: (err as Error).name };
  }
}

const events: InvocationEvent[] = [
  anEvent(),
  anEvent({ connector: 'Other', httpMethod: 'POST', kind: 'write', latencyMs: 0, sampleWeight: 2.5 }),
  anEvent({ outcome: 'throttled', httpStatus: 429, errorCode: 'RATE_LIMIT', correlationId: null }),
  anEvent({ outcome: 'error', httpStatus: 500, errorCode: 'UNMAPPED', tenant: 'Grüße "東京" \\ \u2028', action: 'x'.repeat(MAX_LABEL_LENGTH) }),
  anEvent({ outcome: 'error', httpStatus: 0, errorCode: 'TIMEOUT', httpMethod: '', eventTime: 0, latencyMs: MAX_LATENCY_MS, sampleWeight: MAX_SAMPLE_WEIGHT }),
];

describe('decodeInvocationColumns', () => {
  it('holds exactly the fields decodeInvocationBatch returns, for v3, v2 and v1 messages', () => {
    for (const encode of [encodeInvocationBatch, encodeInvocationBatchV2, encodeInvocationBatchV1]) {
      const value = encode(events);
      const want = decodeInvocationBatch(value).map(fieldsOf);
      expect(fromColumns(decodeInvocationColumns(value))).toEqual(want);
      expect(fromColumns(decodeInvocationColumns(value.toString('utf8')))).toEqual(want);
      expect(fromColumns(columnsOf(decodeInvocationBatch(value)))).toEqual(want);
    }
    expect(decodeInvocationColumns(encodeInvocationBatch([])).length).toBe(0);
    // A v3 message is read from its rows (not through decoded events): the columns index its own dictionary.
    const v3 = encodeInvocationBatch(events);
    expect(decodeInvocationColumns(v3).dict).toEqual((JSON.parse(v3.toString('utf8')) as { dict: string[] }).dict);
  });

  it('accepts and rejects every single-field change exactly like decodeInvocationBatch, with the same error', () => {
    const base = JSON.parse(encodeInvocationBatch(events).toString('utf8')) as { dict: string[]; rows: unknown[][] };
    const dictSize = base.dict.length;
    // Values for any cell: wrong types, edges of every range, indices in and out of the dictionary.
    const candidates: unknown[] = [null, true, '', 'x', '1', [], {}, -1, -0, 0, 0.5, 1, 2, 3, dictSize - 1, dictSize, 99, 100, 199, 429, 599, 600, 1e300, -1e-9, MAX_LATENCY_MS, MAX_LATENCY_MS + 1, 8.64e15, 8.64e15 + 1e3, MAX_SAMPLE_WEIGHT, MAX_SAMPLE_WEIGHT * 2, '0af7651916cd43dd8448eb211c80319c', '0AF7651916CD43DD8448EB211C80319C', 'b7ad6b7169203331', 'b7ad6b716920333', 'y'.repeat(MAX_LABEL_LENGTH + 1)];
    // Ids one character off lower-case hex, at each edge of its two ranges ('/' ':' '`' 'g'), upper case, and a non-ASCII digit.
    for (const edge of ['/', ':', '`', 'g', 'F', '\u0660']) candidates.push(`${'0af7651916cd43dd8448eb211c80319'}${edge}`, `${edge}7ad6b7169203331`, `ffffffff${edge}fffffff`);
    candidates.push('ffffffffffffffffffffffffffffffff', 'ffffffffffffffff', '00000000000000000000000000000000', '0000000000000000');
    let accepted = 0;
    let rejected = 0;
    const check = (msg: unknown) => {
      const text = JSON.stringify(msg);
      const want = outcomeOf(() => decodeInvocationBatch(text));
      expect(outcomeOf(() => decodeInvocationColumns(text)), text).toEqual(want);
      if ('ok' in want) accepted++;
      else rejected++;
    };
    for (let r = 0; r < base.rows.length; r++) {
      for (let f = 0; f < INVOCATION_BATCH_FIELDS.length; f++) {
        for (const v of candidates) {
          const msg = structuredClone(base) as typeof base & Record<string, unknown>;
          msg.rows[r]![f] = v;
          check(msg);
        }
      }
      // Rows of the wrong shape.
      for (const bad of [null, 'row', {}, base.rows[r]!.slice(1), [...base.rows[r]!, 0]]) {
        const msg = structuredClone(base);
        (msg.rows as unknown[])[r] = bad;
        check(msg);
      }
    }
    // Dictionary entries the rows use: too long, empty, not a kind / outcome / error code.
    for (let d = 0; d < dictSize; d++) {
      for (const v of ['', 'y'.repeat(MAX_LABEL_LENGTH + 1), 'READ', 'write', 'read', 'success', 'error', 'lower_case', 'RATE_LIMIT', 'GET']) {
        const msg = structuredClone(base);
        msg.dict[d] = v;
        check(msg);
      }
    }
    // Both outcomes happen often enough for the comparison to mean something.
    expect(accepted).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(500);
  });

  it('fails on broken envelopes with the errors of decodeInvocationBatch', () => {
    const good = JSON.parse(encodeInvocationBatch(events).toString('utf8')) as Record<string, unknown>;
    const broken: unknown[] = ['{', '[]', 'null', { ...good, format: 'other' }, { ...good, v: 4 }, { ...good, fields: ['a'] }, { ...good, coded: [] }, { ...good, dict: [1] }, { ...good, rows: {} }, { ...good, rows: Array.from({ length: 2_001 }, () => (good.rows as unknown[])[0]) }];
    for (const b of broken) {
      const text = typeof b === 'string' ? b : JSON.stringify(b);
      const want = outcomeOf(() => decodeInvocationBatch(text));
      expect('error' in want, text.slice(0, 80)).toBe(true);
      expect(outcomeOf(() => decodeInvocationColumns(text))).toEqual(want);
    }
  });
});
