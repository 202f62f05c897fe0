import { endianness } from 'node:os';
import { RecordWriter } from './codec';
import { IdentityIndex } from './id-index';
import { MINUTE_MS } from './keys';

/** Bytes of one stored span identity: trace id (16) + span id (8), binary. */
export const IDENTITY_BYTES = 24;
/** Default dedup horizon, ms: 10 min, longer than the OpenTelemetry exporters' and the Collector's default retry budget (300 s). */
export const DEFAULT_DEDUP_HORIZON_MS = 10 * MINUTE_MS;

/**
 * The span identities of one tenant/connector group of a batch, for the store's duplicate check.
 * Identity = traceId + spanId as IDENTITY_WORDS 32-bit words (id-index.ts); the tenant is the group's.
 */
export interface GroupDedup {
  /**
   * Event-time minute start → the identities first seen in this batch in that minute, in order
   * (IdentityIndex.added()). Per minute, like the store's identity logs: a span's copies carry its
   * start time, so they fall in the same minute.
   */
  byMinute: Map<number, IdentityIndex>;
  /** Events not counted: their identity repeats one earlier in the batch or one the store already holds. */
  duplicates: number;
  /** Events with an invalid (all-zero) trace or span id: counted as always, never deduplicated. */
  withoutIds: number;
}

/** Span identities per event-time minute start: their words, IDENTITY_WORDS each. */
export type IdsByMinute = ReadonlyMap<number, Uint32Array>;

/** An empty GroupDedup. */
export function emptyGroupDedup(): GroupDedup {
  return { byMinute: new Map(), duplicates: 0, withoutIds: 0 };
}

/**
 * Whether an accepted event at event time `t` is a duplicate (then counted as one); otherwise its
 * identity is remembered under its minute (one insert, which also finds a copy earlier in the
 * batch). The identity is w[at …] (IDENTITY_WORDS words: the decoder's InvocationColumns.ids, or
 * hexWords of an event object's ids). `known` holds, per minute, identities the store reported as
 * already applied for this group: they never join the minute's identities, so a minute is only
 * listed with at least one identity to remember.
 */
export function isDuplicate(d: GroupDedup, w: Uint32Array, at: number, t: number, known: ReadonlyMap<number, IdentityIndex> | undefined): boolean {
  // All-zero ids are invalid (OpenTelemetry trace API); such spans cannot be told apart.
  if ((w[at]! | w[at + 1]! | w[at + 2]! | w[at + 3]!) === 0 || (w[at + 4]! | w[at + 5]!) === 0) {
    d.withoutIds++;
    return false;
  }
  const minute = Math.floor(t / MINUTE_MS) * MINUTE_MS;
  if (known?.get(minute)?.has(w, at) === true) {
    d.duplicates++;
    return true;
  }
  let ids = d.byMinute.get(minute);
  if (ids === undefined) d.byMinute.set(minute, (ids = new IdentityIndex()));
  if (!ids.add(w, at)) {
    d.duplicates++;
    return true;
  }
  return false;
}

/**
 * When a minute's identity set expires, epoch ms: `horizonMs` after the later of the minute's end
 * and `now`, so a retry arriving within the horizon of the first delivery is always recognised.
 */
export function dedupExpireAt(minute: number, now: number, horizonMs: number): number {
  return Math.max(minute + MINUTE_MS, now) + horizonMs;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Appends the identities' words to `w` in their stored form: IDENTITY_BYTES big-endian bytes each. */
export function writeIdentities(w: RecordWriter, words: Uint32Array): void {
  const from = w.length;
  // The words' bytes as they are, then big-endian in place.
  w.bytes(Buffer.from(words.buffer, words.byteOffset, words.byteLength));
  if (LITTLE_ENDIAN) w.result().subarray(from).swap32();
}

/** The identities' words in their stored form (a copy). */
export function identityBytes(words: Uint32Array): Buffer {
  const w = new RecordWriter(words.byteLength);
  writeIdentities(w, words);
  return w.result();
}
