import { MAX_EVENTS_PER_BATCH, encodeInvocationBatch, seriesKey, type InvocationEvent } from '@pulsegate/events';
import type { OutgoingRecord } from '@pulsegate/bus';

/**
 * Packs events into invocation-batch messages: one group per tenant/connector (the partition key,
 * so a series stays in order on one partition), at most `maxPerBatch` events per message.
 */
export function batchRecords(events: readonly InvocationEvent[], maxPerBatch = MAX_EVENTS_PER_BATCH): OutgoingRecord[] {
  const groups = new Map<string, InvocationEvent[]>();
  for (const e of events) {
    const key = seriesKey(e.tenant, e.connector);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [e]);
    else g.push(e);
  }
  const records: OutgoingRecord[] = [];
  for (const [key, group] of groups) {
    for (let i = 0; i < group.length; i += maxPerBatch) {
      records.push({ key, value: encodeInvocationBatch(group.slice(i, i + maxPerBatch)) });
    }
  }
  return records;
}
