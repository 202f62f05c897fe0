import { hexWords, KIND_CODES, OUTCOME_CODES, UNMAPPED, type InvocationColumns, type InvocationEvent } from '@pulsegate/events';
import { addErrorCode, type BucketData } from './bucket';
import type { WindowConfig } from './config';
import { emptyGroupDedup, isDuplicate, type GroupDedup, type IdsByMinute } from './dedup';
import { IDENTITY_WORDS, IdentityIndex } from './id-index';
import { bucketKey, connectorTag, HOUR_MS, MINUTE_MS, seriesField, type Resolution, type SeriesId } from './keys';
import { bucketIndexOf, type BucketIndex, type SketchBuckets } from './sketch';

/**
 * One decoded bus record: its offset and the events it carried, as event objects or in columns
 * (decodeInvocationColumns, what the aggregator hands over: no object per event waits for the apply).
 */
export type BatchRecord = { offset: string; events: readonly InvocationEvent[] } | { offset: string; columns: InvocationColumns };

/** Scratch words of the identity of the event object being checked (one event at a time). */
const scratch = new Uint32Array(IDENTITY_WORDS);

/** Number of events in a record. */
export function recordEvents(r: BatchRecord): number {
  return 'events' in r ? r.events.length : r.columns.length;
}

/** One partition batch handed to the store. */
export interface ApplyInput {
  /** Names the offset stream, e.g. "<consumer group>|<topic>"; offsets are kept per source and partition. */
  source: string;
  partition: number;
  /** First and last offset the bus read for this batch (including records that went to dead letters). */
  firstOffset: string;
  lastOffset: string;
  records: readonly BatchRecord[];
}

/** Totals of one apply call. */
export interface ApplyResult {
  /** Events whose effects were written by this call (weight ignored: one per event). */
  appliedEvents: number;
  /** Events skipped because an earlier delivery of the same offsets was already applied. */
  replayedEvents: number;
  droppedLate: number;
  droppedFuture: number;
  /** Store round trips (Redis commands sent by the client) used. */
  storeCalls: number;
  /** Events not counted because their (tenant, traceId, spanId) was already counted (exporter retries), within the dedup horizon. */
  duplicateEvents: number;
  /** Events counted without deduplication because their trace or span id is invalid (all zeros). */
  eventsWithoutIds: number;
  /** duplicateEvents and eventsWithoutIds per tenant (tenants with neither are absent). */
  byTenant: Map<string, { duplicates: number; withoutIds: number }>;
}

/**
 * What one batch adds to one series-bucket: BucketData, but with the latency sketch in a Map
 * (bucket index → weight). Deltas are many, short-lived and mostly hold a few buckets each; a Map
 * is cheap to create and to update with integer keys, where an object with integer keys is backed
 * by an array reaching the largest index. deltaBucket() and deltaJson() give the stored form.
 */
export type DeltaData = Omit<BucketData, 'l'> & { l: Map<BucketIndex, number> };

/** The BucketData of a delta (a new object). */
export function deltaBucket(d: DeltaData): BucketData {
  const l: SketchBuckets = {};
  for (const [k, w] of d.l) l[k] = w;
  return { c: d.c, s: d.s, t: d.t, e: { ...d.e }, l };
}

/** JSON of deltaBucket(d), written directly (no intermediate object). Counts are finite numbers. */
export function deltaJson(d: DeltaData): string {
  let l = '';
  for (const [k, w] of d.l) l += `${l === '' ? '' : ','}"${k}":${w}`;
  return `{"c":${d.c},"s":${d.s},"t":${d.t},"e":${JSON.stringify(d.e)},"l":{${l}}}`;
}

/** One series-bucket delta of a batch. */
export interface BucketDelta {
  key: string;
  resolution: Resolution;
  start: number;
  series: SeriesId;
  /** Absolute expiry, epoch ms: bucket end + retention. */
  expireAt: number;
  data: DeltaData;
}

/** Everything one batch changes for one tenant/connector (one hash tag, one Redis Cluster slot). */
export interface ConnectorGroup {
  tenant: string;
  connector: string;
  tag: string;
  deltas: Map<string, BucketDelta>;
  /** series field → latest event time seen in this batch */
  lastSeen: Map<string, number>;
  droppedLate: number;
  droppedFuture: number;
  events: number;
  /** Latest accepted event time of the group, epoch ms (0 when none). */
  maxEventTime: number;
  /** Whether the batch writes into a settled hour (see settledHourStart), which bumps the connector's generation. */
  touchesSettled: boolean;
  /** Span identities of the group's counted events and its duplicates (empty when dedup is off). */
  dedup: GroupDedup;
}

/**
 * Hours starting before this are "settled" for a writer at `now`: all but late events are in.
 * A write into a settled hour bumps the connector's generation (atomically with the write), so
 * caches of merged settled hours (SettledDayCache) notice it. Readers only cache hours older than
 * one more hour (see SettledDayCache), which leaves an hour for clock skew between instances.
 */
export function settledHourStart(now: number): number {
  return Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS;
}

/**
 * Pre-aggregates a batch in memory: one delta per series-bucket (minute and hour), so the store
 * writes O(series) values per batch instead of O(events). Events older than the hour retention
 * or further ahead than the skew are counted as dropped; events older than the minute retention
 * only update their hour bucket (their minute bucket is already gone).
 */
export function aggregateBatch(records: readonly BatchRecord[], now: number, cfg: WindowConfig, known?: ReadonlyMap<string, ReadonlyMap<number, IdentityIndex>>): Map<string, ConnectorGroup> {
  const agg = new Aggregation(now, cfg, known);
  for (const r of records) {
    if ('events' in r) agg.addEvents(r.events);
    else agg.addColumns(r.columns);
  }
  return agg.finish();
}

/** A group's series slots by action, then version, then kind (read, write). */
type SlotIndex = Map<string, Map<string, [SeriesSlot | undefined, SeriesSlot | undefined]>>;

/** Per group and series: the series' field, its most recently used deltas and all its deltas by bucket start. */
interface SeriesSlot {
  group: ConnectorGroup;
  series: SeriesId;
  field: string;
  lastSeen: number;
  hour: BucketDelta | undefined;
  minute: BucketDelta | undefined;
  /** Minute deltas under their start, hour deltas under -(start + 1): no key string per lookup. */
  byStart: Map<number, BucketDelta>;
}

/**
 * The state of one aggregateBatch. The hot path runs once per event; the records of a batch mostly
 * hold one tenant/connector each, so groups and series slots are found through the last ones used
 * (event objects) or through the record's dictionary indices (columns), and key strings are built
 * only when a series-bucket is first seen.
 */
class Aggregation {
  readonly groups = new Map<string, ConnectorGroup>();
  private readonly slotsOf = new Map<ConnectorGroup, SlotIndex>();
  /** Every series slot, in the order first seen (finish() writes their lastSeen). */
  private readonly slotList: SeriesSlot[] = [];
  private readonly settled: number;
  private readonly dedup: boolean;

  /** `known`: per group tag and event-time minute, identities the store already holds (they count as duplicates). */
  constructor(
    private readonly now: number,
    private readonly cfg: WindowConfig,
    private readonly known: ReadonlyMap<string, ReadonlyMap<number, IdentityIndex>> | undefined,
  ) {
    this.settled = settledHourStart(now);
    this.dedup = cfg.dedupHorizonMs > 0;
  }

  private group(tenant: string, connector: string): ConnectorGroup {
    const tag = connectorTag(tenant, connector);
    let g = this.groups.get(tag);
    if (g === undefined) {
      g = { tenant, connector, tag, deltas: new Map(), lastSeen: new Map(), droppedLate: 0, droppedFuture: 0, events: 0, maxEventTime: 0, touchesSettled: false, dedup: emptyGroupDedup() };
      this.groups.set(tag, g);
      this.slotsOf.set(g, new Map());
    }
    return g;
  }

  private slot(g: ConnectorGroup, action: string, version: string, kind: 'read' | 'write'): SeriesSlot {
    const slots = this.slotsOf.get(g)!;
    let versions = slots.get(action);
    if (versions === undefined) slots.set(action, (versions = new Map()));
    let pair = versions.get(version);
    if (pair === undefined) versions.set(version, (pair = [undefined, undefined]));
    const k = kind === 'write' ? 1 : 0;
    let slot = pair[k];
    if (slot === undefined) {
      const series: SeriesId = { action, version, kind };
      slot = pair[k] = { group: g, series, field: seriesField(series), lastSeen: -Infinity, hour: undefined, minute: undefined, byStart: new Map() };
      this.slotList.push(slot);
    }
    return slot;
  }

  /**
   * The groups, with each series' latest event time written into its group's lastSeen (once per
   * series here rather than a Map write per event), in the order the series were first seen.
   */
  finish(): Map<string, ConnectorGroup> {
    for (const slot of this.slotList) if (slot.lastSeen > -Infinity) slot.group.lastSeen.set(slot.field, slot.lastSeen);
    return this.groups;
  }

  addEvents(events: readonly InvocationEvent[]): void {
    let last: InvocationEvent | undefined;
    let g: ConnectorGroup | undefined;
    for (const ev of events) {
      if (last === undefined || ev.tenant !== last.tenant || ev.connector !== last.connector) g = this.group(ev.tenant, ev.connector);
      last = ev;
      const hourStart = this.accept(g!, ev.eventTime, ev.sampleWeight);
      if (hourStart < 0) continue;
      if (this.dedup) {
        // The decoder's reading of the ids; ids that are not lower-case hex of the right lengths
        // (never in a validated event) read as all zeros: counted, not deduplicated.
        if (!hexWords(ev.traceId, 4, scratch, 0) || !hexWords(ev.spanId, 2, scratch, 4)) scratch.fill(0);
        if (isDuplicate(g!.dedup, scratch, 0, ev.eventTime, this.known?.get(g!.tag))) continue;
      }
      this.add(this.slot(g!, ev.action, ev.connectorVersion, ev.kind), hourStart, ev.eventTime, ev.latencyMs, ev.sampleWeight, OUTCOME_CODES[ev.outcome], ev.errorCode);
    }
  }

  addColumns(c: InvocationColumns): void {
    const dict = c.dict;
    const size = dict.length;
    // Series slots of this record by (action, version, kind) dictionary indices, and its groups by
    // (tenant, connector) indices: integer keys, no string compared or built per event.
    // Keys stay below size² · 2 ≤ 2^29 (dict.length ≤ MAX_DICT_ENTRIES), so they are exact.
    const groups = new Map<number, { g: ConnectorGroup; slots: Map<number, SeriesSlot> }>();
    let lastKey = -1;
    let cur: { g: ConnectorGroup; slots: Map<number, SeriesSlot> } | undefined;
    for (let i = 0; i < c.length; i++) {
      const gKey = c.tenant[i]! * size + c.connector[i]!;
      if (gKey !== lastKey) {
        cur = groups.get(gKey);
        if (cur === undefined) groups.set(gKey, (cur = { g: this.group(dict[c.tenant[i]!]!, dict[c.connector[i]!]!), slots: new Map() }));
        lastKey = gKey;
      }
      const t = c.eventTime[i]!;
      const w = c.sampleWeight[i]!;
      const hourStart = this.accept(cur!.g, t, w);
      if (hourStart < 0) continue;
      if (this.dedup && isDuplicate(cur!.g.dedup, c.ids, i * IDENTITY_WORDS, t, this.known?.get(cur!.g.tag))) continue;
      const sKey = (c.action[i]! * size + c.connectorVersion[i]!) * 2 + c.kind[i]!;
      let slot = cur!.slots.get(sKey);
      if (slot === undefined) cur!.slots.set(sKey, (slot = this.slot(cur!.g, dict[c.action[i]!]!, dict[c.connectorVersion[i]!]!, c.kind[i] === KIND_CODES.write ? 'write' : 'read')));
      const e = c.errorCode[i]!;
      this.add(slot, hourStart, t, c.latencyMs[i]!, w, c.outcome[i]!, e < 0 ? null : dict[e]!);
    }
  }

  /**
   * Counts one call of a group at event time `t`: returns its hour's start, or -1 when the call is
   * dropped (further ahead than the skew, or its hour bucket already expired), counted as such.
   * Event times are ≥ 0 (validated), so an hour start is too.
   */
  private accept(g: ConnectorGroup, t: number, w: number): number {
    g.events++;
    if (t > this.now + this.cfg.maxFutureSkewMs) {
      g.droppedFuture += w;
      return -1;
    }
    const hourStart = Math.floor(t / HOUR_MS) * HOUR_MS;
    if (hourStart + HOUR_MS + this.cfg.hourRetentionMs <= this.now) {
      g.droppedLate += w;
      return -1;
    }
    return hourStart;
  }

  /** Adds an accepted call (accept() gave its hour start) to its series' hour and minute deltas. */
  private add(slot: SeriesSlot, hourStart: number, t: number, latencyMs: number, w: number, outcome: number, errorCode: string | null): void {
    const g = slot.group;
    if (slot.lastSeen < t) slot.lastSeen = t;
    if (t > g.maxEventTime) g.maxEventTime = t;
    if (hourStart < this.settled) g.touchesSettled = true;
    const bucket = bucketIndexOf(latencyMs);
    if (slot.hour === undefined || slot.hour.start !== hourStart) slot.hour = deltaFor(slot, 'h', hourStart, hourStart + HOUR_MS + this.cfg.hourRetentionMs);
    addCall(slot.hour.data, w, outcome, errorCode, bucket);
    const minuteStart = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const minuteExpire = minuteStart + MINUTE_MS + this.cfg.minuteRetentionMs;
    if (minuteExpire > this.now) {
      if (slot.minute === undefined || slot.minute.start !== minuteStart) slot.minute = deltaFor(slot, 'm', minuteStart, minuteExpire);
      addCall(slot.minute.data, w, outcome, errorCode, bucket);
    }
  }
}

function deltaFor(slot: SeriesSlot, res: Resolution, start: number, expireAt: number): BucketDelta {
  const at = res === 'm' ? start : -(start + 1);
  let d = slot.byStart.get(at);
  if (d === undefined) {
    const g = slot.group;
    // redisKey()'s key, from the group's tag and the slot's field (escaped once each, not per delta).
    const key = bucketKey(g.tag, res, start, slot.field);
    d = { key, resolution: res, start, series: slot.series, expireAt, data: { c: 0, s: 0, t: 0, e: {}, l: new Map() } };
    g.deltas.set(key, d);
    slot.byStart.set(at, d);
  }
  return d;
}

/** Adds one call (OUTCOME_CODES outcome, weight w, latency bucket) to a delta. */
function addCall(b: DeltaData, w: number, outcome: number, errorCode: string | null, bucket: BucketIndex): void {
  b.c += w;
  if (outcome === OUTCOME_CODES.success) b.s += w;
  else {
    if (outcome === OUTCOME_CODES.throttled) b.t += w;
    // The cap on distinct codes follows mergeBucket's rule, the one the store uses.
    addErrorCode(b, errorCode ?? UNMAPPED, w);
  }
  const l = b.l;
  l.set(bucket, (l.get(bucket) ?? 0) + w);
}

/**
 * What the store did with one group: applied, skipped as a replay, partly applied before, or not
 * written because some of its identities (traceId + spanId, hex) were already applied.
 */
export type GroupOutcome = { status: 'applied' } | { status: 'replayed' } | { status: 'partial'; storedOffset: number } | { status: 'duplicates'; /** per event-time minute, their words (IDENTITY_WORDS each, id-index.ts) */ ids: IdsByMinute };

/** A group ready for the store, with the offset range it covers. */
export interface PreparedGroup {
  group: ConnectorGroup;
  /** Field of the per-connector offsets hash: "<source>|<partition>". */
  offsetField: string;
  firstOffset: number;
  lastOffset: number;
}

/** The store half of applyBatch: writes groups atomically each, idempotent per offset range. */
export interface GroupWriter {
  writeGroups(groups: PreparedGroup[]): Promise<{ outcomes: GroupOutcome[]; calls: number }>;
}

/**
 * Applies a partition batch exactly once per tenant/connector group: each group's deltas and the
 * batch's last offset are written in one atomic step that is skipped when the stored offset is
 * already ≥ the last offset. When a replayed batch overlaps an applied one (the stored offset lies
 * inside the batch), the group is re-aggregated from the records after the stored offset and written
 * again, so no event is counted twice or lost. With dedup on (cfg.dedupHorizonMs > 0) the same step
 * checks the group's span identities: when the store already holds some, it writes nothing and names
 * them, and the group is re-aggregated without them and written again (optimistic, so the check and
 * the write stay one atomic step; each round only removes identities, so it ends).
 */
export async function applyBatch(writer: GroupWriter, input: ApplyInput, now: number, cfg: WindowConfig): Promise<{ result: ApplyResult; /** groups applied now or before */ groups: ConnectorGroup[] }> {
  const result: ApplyResult = { appliedEvents: 0, replayedEvents: 0, droppedLate: 0, droppedFuture: 0, storeCalls: 0, duplicateEvents: 0, eventsWithoutIds: 0, byTenant: new Map() };
  const offsetField = `${input.source}|${input.partition}`;
  const first = Number(input.firstOffset);
  const last = Number(input.lastOffset);
  const applied: ConnectorGroup[] = [];
  // Per group tag and event-time minute: identities the store reported as already applied.
  const known = new Map<string, Map<number, IdentityIndex>>();
  const regroup = (tag: string, fromOffset: number): ConnectorGroup | undefined =>
    aggregateBatch(input.records.filter((r) => Number(r.offset) >= fromOffset), now, cfg, known).get(tag);
  let pending: PreparedGroup[] = [...aggregateBatch(input.records, now, cfg).values()].map((group) => ({ group, offsetField, firstOffset: first, lastOffset: last }));
  // Offsets move at most a few times (a concurrent replay); identities found can move once per round too.
  for (let round = 0; pending.length > 0; round++) {
    if (round > 8) throw new Error('window store: offsets or identities kept moving while applying a batch');
    const { outcomes, calls } = await writer.writeGroups(pending);
    result.storeCalls += calls;
    const retry: PreparedGroup[] = [];
    pending.forEach((p, i) => {
      const o = outcomes[i]!;
      const g = p.group;
      if (o.status === 'applied') {
        applied.push(g);
        result.appliedEvents += g.events - g.dedup.duplicates;
        result.droppedLate += g.droppedLate;
        result.droppedFuture += g.droppedFuture;
        if (g.dedup.duplicates + g.dedup.withoutIds > 0) {
          result.duplicateEvents += g.dedup.duplicates;
          result.eventsWithoutIds += g.dedup.withoutIds;
          const t = result.byTenant.get(g.tenant) ?? { duplicates: 0, withoutIds: 0 };
          t.duplicates += g.dedup.duplicates;
          t.withoutIds += g.dedup.withoutIds;
          result.byTenant.set(g.tenant, t);
        }
      } else if (o.status === 'replayed') {
        // Still reported: a crash between the write and the connector index must not hide it.
        applied.push(g);
        result.replayedEvents += g.events;
      } else if (o.status === 'duplicates') {
        let sets = known.get(g.tag);
        if (sets === undefined) known.set(g.tag, (sets = new Map()));
        for (const [minute, words] of o.ids) {
          let set = sets.get(minute);
          if (set === undefined) sets.set(minute, (set = new IdentityIndex()));
          for (let at = 0; at < words.length; at += IDENTITY_WORDS) set.add(words, at);
        }
        const regrouped = regroup(g.tag, p.firstOffset);
        if (regrouped !== undefined) retry.push({ ...p, group: regrouped });
      } else {
        const regrouped = regroup(g.tag, o.storedOffset + 1);
        result.replayedEvents += g.events - (regrouped?.events ?? 0);
        if (regrouped !== undefined) retry.push({ group: regrouped, offsetField, firstOffset: o.storedOffset + 1, lastOffset: last });
      }
    });
    pending = retry;
  }
  return { result, groups: applied };
}
