import { randomBytes } from 'node:crypto';
import type { RecordWriter, WriterPool } from './codec';
import { dedupExpireAt, writeIdentities, type GroupDedup, type IdsByMinute } from './dedup';
import { IDENTITY_WORDS, IdentityIndex, IdentityList } from './id-index';
import { dedupKey, MINUTE_MS } from './keys';

/**
 * Length of the version stamp that leads every identity log in Redis: 32 hex characters, drawn at
 * random (128 bits) for every script call that writes the log (see DEDUP_LUA).
 */
export const STAMP_CHARS = 32;

/** A fresh version stamp for one script call. */
export function newStamp(): string {
  return randomBytes(STAMP_CHARS / 2).toString('hex');
}

/** One event-time minute of a group's identities, ready for the apply script and for the cache. */
export interface MinuteIds {
  minute: number;
  key: string;
  /** The identities' words, IDENTITY_WORDS each. */
  words: Uint32Array;
  /** The stamp the client believes the log carries ('' = the log does not exist). */
  stamp: string;
  /**
   * The cached log these identities were added to when prepared (see DedupCache.prepare), with its
   * size before and after; absent when nothing was added.
   */
  held?: { entry: Entry; before: number; after: number };
}

interface Entry {
  stamp: string;
  index: IdentityIndex;
  expireAt: number;
  tag: string;
  minute: number;
}

/**
 * What one Redis store client knows of the connectors' identity logs (`dedupKey`, one per
 * connector and event-time minute): per log the version stamp it last saw and every identity it
 * holds, in an exact IdentityIndex. The client checks identities here instead of in Redis; the apply
 * script only compares each log's stamp with the one the client names (so the check and the write
 * stay one atomic step): any write by another client, an expiry or a restored older Redis changes
 * the stamp, the script writes nothing and the client reloads those logs. Bounded by `maxIds`
 * (least recently used logs are forgotten and reloaded when needed).
 */
export class DedupCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * Per connector tag, logs this client appended to since they were last rewritten: APPEND leaves
   * spare room (Redis doubles a growing string), so once a log's minute is over the apply script
   * rewrites it at its exact size.
   */
  private readonly spare = new Map<string, Map<string, number>>();
  private total = 0;
  private lastSweep = 0;

  constructor(private readonly maxIds: number) {}

  /** Identities held by the cache. */
  get size(): number {
    return this.total;
  }

  /**
   * A group's identities per minute with the stamps to expect, and those the cache already holds
   * (their words; when some are, the script only confirms the stamps and the group is
   * re-aggregated without them), and the connector's logs to rewrite at their exact size.
   *
   * The new identities are added to the cached logs here, one insert per identity that also tells
   * whether it was known, so an applied script costs nothing more (commit). Until then they are
   * held: whatever else the script answers, or when it fails, release() takes them out again.
   */
  prepare(d: GroupDedup, tag: string, now: number): { minutes: MinuteIds[]; known: IdsByMinute; compact: string[] } {
    const minutes: MinuteIds[] = [];
    const known = new Map<number, Uint32Array>();
    const compact: string[] = [];
    const logs = this.spare.get(tag);
    if (logs !== undefined) {
      const over = Math.floor(now / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
      for (const [key, minute] of logs) {
        if (minute >= over || d.byMinute.has(minute)) continue;
        compact.push(key);
        logs.delete(key);
      }
      if (logs.size === 0) this.spare.delete(tag);
    }
    for (const [minute, ids] of d.byMinute) {
      const key = dedupKey(tag, minute);
      const e = this.touch(key);
      const words = ids.added();
      if (e === undefined) {
        minutes.push({ minute, key, words, stamp: '' });
        continue;
      }
      const before = e.index.size;
      let found: IdentityList | undefined;
      for (let p = 0; p < words.length; p += IDENTITY_WORDS) if (!e.index.add(words, p)) (found ??= new IdentityList()).push(words, p);
      if (found !== undefined) known.set(minute, found.words());
      this.total += e.index.size - before;
      minutes.push({ minute, key, words, stamp: e.stamp, held: { entry: e, before, after: e.index.size } });
    }
    return { minutes, known, compact };
  }

  /**
   * Takes out the identities prepare() added for `minutes` (their script did not apply them, or
   * failed): exactly, when nothing was added to the log since; otherwise the log is forgotten
   * (reloaded when next needed).
   */
  release(minutes: readonly MinuteIds[]): void {
    for (const m of minutes) {
      const h = m.held;
      if (h === undefined) continue;
      m.held = undefined;
      if (this.entries.get(m.key) !== h.entry) continue;
      if (h.entry.index.size !== h.after) {
        this.drop(m.key);
        continue;
      }
      h.entry.index.truncate(h.before);
      this.total -= h.after - h.before;
    }
  }

  /** After the script wrote `minutes` under `stamp`: the logs are what the cache held plus these identities. */
  commit(tag: string, minutes: readonly MinuteIds[], stamp: string, expireAt: (minute: number) => number): void {
    for (const m of minutes) {
      let e = this.entries.get(m.key);
      const h = m.held;
      m.held = undefined;
      if (h !== undefined && e === h.entry && e.stamp === m.stamp) {
        // prepare() already added the identities to this log.
        e.stamp = stamp;
        e.expireAt = Math.max(e.expireAt, expireAt(m.minute));
        this.appended(tag, m);
        continue;
      }
      if (e === undefined || e.stamp !== m.stamp) {
        // The cache no longer holds the log the script compared against (forgotten meanwhile).
        this.drop(m.key);
        // A log that was absent is now exactly these identities; an older one is left to a reload.
        if (m.stamp !== '') continue;
        this.entries.set(m.key, (e = { stamp, index: new IdentityIndex(), expireAt: 0, tag, minute: m.minute }));
      }
      this.appended(tag, m);
      e.stamp = stamp;
      e.expireAt = Math.max(e.expireAt, expireAt(m.minute));
      const before = e.index.size;
      for (let p = 0; p < m.words.length; p += IDENTITY_WORDS) e.index.add(m.words, p);
      this.total += e.index.size - before;
    }
    this.bound();
  }

  /** An existing log the script appended to (APPEND's spare room, rewritten once its minute is over). */
  private appended(tag: string, m: MinuteIds): void {
    if (m.stamp === '') return;
    let logs = this.spare.get(tag);
    if (logs === undefined) this.spare.set(tag, (logs = new Map()));
    logs.set(m.key, m.minute);
  }

  /** Replaces what the cache holds of a log with its stored value (null: absent). */
  load(m: MinuteIds, tag: string, value: Buffer | null, expireAt: number): void {
    this.drop(m.key);
    if (value === null || value.length < STAMP_CHARS) return;
    const index = new IdentityIndex();
    index.addBytes(value, STAMP_CHARS);
    this.entries.set(m.key, { stamp: value.toString('latin1', 0, STAMP_CHARS), index, expireAt, tag, minute: m.minute });
    this.total += index.size;
    this.bound();
  }

  /** Forgets logs whose expiry (by the client's clock) has passed; at most every 10 s. */
  sweep(now: number): void {
    if (now - this.lastSweep < 10_000) return;
    this.lastSweep = now;
    for (const [k, e] of this.entries) if (e.expireAt <= now) this.drop(k);
  }

  private touch(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.total -= e.index.size;
    this.entries.delete(key);
    const logs = this.spare.get(e.tag);
    if (logs?.delete(key) === true && logs.size === 0) this.spare.delete(e.tag);
  }

  private bound(): void {
    for (const k of this.entries.keys()) {
      if (this.total <= this.maxIds) return;
      this.drop(k);
    }
  }
}

/**
 * The dedup arguments of one apply script call (see DEDUP_LUA): per group, one entry per minute
 * [key index, expireAt, first byte, last byte, expected stamp], and every identity in one binary argument.
 */
export class IdentityArgs {
  /** `writer`: what the argument is written into (from a WriterPool). */
  private constructor(readonly writer: RecordWriter) {}

  /** An argument with room for every identity of these groups' minutes (so it never grows), written into a writer of `pool`. */
  static sized(groups: ReadonlyArray<readonly MinuteIds[] | undefined>, pool: WriterPool): IdentityArgs {
    let bytes = 0;
    for (const minutes of groups) for (const m of minutes ?? []) bytes += m.words.byteLength;
    return new IdentityArgs(pool.take(Math.max(bytes, 16)));
  }

  /** Entries of one group; `keyIndex` registers a key of the call and gives its 1-based index. */
  entries(minutes: readonly MinuteIds[], keyIndex: (key: string) => number, now: number, horizonMs: number): Array<[number, number, number, number, string]> {
    return minutes.map((m) => {
      const from = this.writer.length + 1;
      writeIdentities(this.writer, m.words);
      return [keyIndex(m.key), dedupExpireAt(m.minute, now, horizonMs), from, this.writer.length, m.stamp];
    });
  }

  /** The identities of every entry, concatenated (ARGV[3]). */
  buffer(): Buffer {
    return this.writer.result();
  }
}
