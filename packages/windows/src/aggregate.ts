import type { InvocationEvent } from '@pulsegate/events';
import { addErrorCode, emptyBucket, type BucketData } from './bucket';
import type { WindowConfig } from './config';
import { connectorTag, HOUR_MS, MINUTE_MS, redisKey, seriesField, type Resolution, type SeriesId } from './keys';
import { addToBuckets, emptySketch } from './sketch';


/** One decoded bus record: its offset and the events it carried. */
export interface BatchRecord {
  offset: string;
  events: readonly InvocationEvent[];
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
}

/** One series-bucket delta of a batch. */
export interface BucketDelta {
  key: string;
  resolution: Resolution;
  start: number;
  series: SeriesId;
  /** Absolute expiry, epoch ms: bucket end + retention. */
  expireAt: number;
  data: BucketData;
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
export function aggregateBatch(records: readonly BatchRecord[], now: number, cfg: WindowConfig): Map<string, ConnectorGroup> {
  const groups = new Map<string, ConnectorGroup>();
  // Hot loop (every event): the records of a batch mostly hold one tenant/connector each, so the
  // last group and, per group, each series' last minute and hour deltas are kept at hand instead
  // of building key strings per event.
  const slotsOf = new Map<ConnectorGroup, SlotIndex>();
  const settled = settledHourStart(now);
  let lastTenant: string | undefined;
  let lastConnector: string | undefined;
  let g: ConnectorGroup | undefined;
  let slots: SlotIndex | undefined;
  for (const r of records) {
    for (const ev of r.events) {
      if (g === undefined || ev.tenant !== lastTenant || ev.connector !== lastConnector) {
        const tag = connectorTag(ev.tenant, ev.connector);
        g = groups.get(tag);
        if (g === undefined) {
          g = { tenant: ev.tenant, connector: ev.connector, tag, deltas: new Map(), lastSeen: new Map(), droppedLate: 0, droppedFuture: 0, events: 0, maxEventTime: 0, touchesSettled: false };
          groups.set(tag, g);
          slotsOf.set(g, new Map());
        }
        slots = slotsOf.get(g)!;
        lastTenant = ev.tenant;
        lastConnector = ev.connector;
      }
      g.events++;
      const t = ev.eventTime;
      if (t > now + cfg.maxFutureSkewMs) {
        g.droppedFuture += ev.sampleWeight;
        continue;
      }
      const hourStart = Math.floor(t / HOUR_MS) * HOUR_MS;
      const hourExpire = hourStart + HOUR_MS + cfg.hourRetentionMs;
      if (hourExpire <= now) {
        g.droppedLate += ev.sampleWeight;
        continue;
      }
      // action → version → [read, write] slot: no key string built per event.
      let versions = slots!.get(ev.action);
      if (versions === undefined) slots!.set(ev.action, (versions = new Map()));
      let pair = versions.get(ev.connectorVersion);
      if (pair === undefined) versions.set(ev.connectorVersion, (pair = [undefined, undefined]));
      const kindIndex = ev.kind === 'write' ? 1 : 0;
      let slot = pair[kindIndex];
      if (slot === undefined) {
        const series: SeriesId = { action: ev.action, version: ev.connectorVersion, kind: ev.kind };
        slot = pair[kindIndex] = { series, field: seriesField(series), lastSeen: -Infinity, hour: undefined, minute: undefined };
      }
      if (slot.lastSeen < t) {
        slot.lastSeen = t;
        g.lastSeen.set(slot.field, t);
      }
      if (t > g.maxEventTime) g.maxEventTime = t;
      if (hourStart < settled) g.touchesSettled = true;
      if (slot.hour === undefined || slot.hour.start !== hourStart) slot.hour = deltaFor(g, slot, 'h', hourStart, hourExpire);
      addEvent(slot.hour.data, ev);
      const minuteStart = Math.floor(t / MINUTE_MS) * MINUTE_MS;
      const minuteExpire = minuteStart + MINUTE_MS + cfg.minuteRetentionMs;
      if (minuteExpire > now) {
        if (slot.minute === undefined || slot.minute.start !== minuteStart) slot.minute = deltaFor(g, slot, 'm', minuteStart, minuteExpire);
        addEvent(slot.minute.data, ev);
      }
    }
  }
  return groups;
}

/** A group's series slots by action, then version, then kind (read, write). */
type SlotIndex = Map<string, Map<string, [SeriesSlot | undefined, SeriesSlot | undefined]>>;

/** Per group and series: the series' field and its most recently used deltas. */
interface SeriesSlot {
  series: SeriesId;
  field: string;
  lastSeen: number;
  hour: BucketDelta | undefined;
  minute: BucketDelta | undefined;
}

function deltaFor(g: ConnectorGroup, slot: SeriesSlot, res: Resolution, start: number, expireAt: number): BucketDelta {
  const id = `${res}:${start}:${slot.field}`;
  let d = g.deltas.get(id);
  if (d === undefined) {
    d = { key: redisKey({ type: 'bucket', tenant: g.tenant, connector: g.connector, resolution: res, start, series: slot.series }), resolution: res, start, series: slot.series, expireAt, data: emptyBucket(emptySketch()) };
    g.deltas.set(id, d);
  }
  return d;
}

function addEvent(b: BucketData, ev: InvocationEvent): void {
  const w = ev.sampleWeight;
  b.c += w;
  if (ev.outcome === 'success') b.s += w;
  else {
    if (ev.outcome === 'throttled') b.t += w;
    // The cap on distinct codes follows mergeBucket's rule, the one the store uses.
    addErrorCode(b, ev.errorCode ?? 'UNMAPPED', w);
  }
  addToBuckets(b.l, ev.latencyMs, w);
}

/** What the store did with one group: applied, skipped as a replay, or partly applied before. */
export type GroupOutcome = { status: 'applied' } | { status: 'replayed' } | { status: 'partial'; storedOffset: number };

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
 * again, so no event is counted twice or lost.
 */
export async function applyBatch(writer: GroupWriter, input: ApplyInput, now: number, cfg: WindowConfig): Promise<{ result: ApplyResult; /** groups applied now or before */ groups: ConnectorGroup[] }> {
  const result: ApplyResult = { appliedEvents: 0, replayedEvents: 0, droppedLate: 0, droppedFuture: 0, storeCalls: 0 };
  const offsetField = `${input.source}|${input.partition}`;
  const first = Number(input.firstOffset);
  const last = Number(input.lastOffset);
  const applied: ConnectorGroup[] = [];
  let pending: PreparedGroup[] = [...aggregateBatch(input.records, now, cfg).values()].map((group) => ({ group, offsetField, firstOffset: first, lastOffset: last }));
  for (let round = 0; pending.length > 0; round++) {
    if (round > 3) throw new Error('window store: offsets kept moving while applying a batch');
    const { outcomes, calls } = await writer.writeGroups(pending);
    result.storeCalls += calls;
    const retry: PreparedGroup[] = [];
    pending.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.status === 'applied') {
        applied.push(p.group);
        result.appliedEvents += p.group.events;
        result.droppedLate += p.group.droppedLate;
        result.droppedFuture += p.group.droppedFuture;
      } else if (o.status === 'replayed') {
        // Still reported: a crash between the write and the connector index must not hide it.
        applied.push(p.group);
        result.replayedEvents += p.group.events;
      } else {
        const rest = input.records.filter((r) => Number(r.offset) > o.storedOffset);
        const regrouped = aggregateBatch(rest, now, cfg).get(p.group.tag);
        result.replayedEvents += p.group.events - (regrouped?.events ?? 0);
        if (regrouped !== undefined) retry.push({ group: regrouped, offsetField, firstOffset: o.storedOffset + 1, lastOffset: last });
      }
    });
    pending = retry;
  }
  return { result, groups: applied };
}
