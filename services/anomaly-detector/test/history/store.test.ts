import { describe, expect, it } from 'vitest';
import { integration } from '@pulsegate/testkit';
import { useRedisClient } from '@pulsegate/testkit/vitest';
import { MemoryAlertHistoryStore, RedisAlertHistoryStore, type AlertHistoryStore, type HistoryEntry, type HistoryLimits } from '../../src/history/store';

const transition = (tenant: string, at: number, connector: string, to = 'firing'): HistoryEntry => ({
  kind: 'transition',
  at,
  tenant,
  fingerprint: '0123456789abcdef',
  rule: 'SuccessRateLow',
  labels: { alertname: 'SuccessRateLow', connector },
  from: 'pending',
  to,
});

const notification = (tenant: string, at: number): HistoryEntry => ({
  kind: 'notification',
  at,
  tenant,
  fingerprint: '0123456789abcdef',
  labels: { alertname: 'SuccessRateLow', connector: 'crm' },
  status: 'firing',
  receiver: 'alertmanager:http://am:9093',
  outcome: 'failed',
  idempotencyKey: null,
  reason: 'Alertmanager answered HTTP 503',
});

/** One contract for every AlertHistoryStore implementation. */
function contract(name: string, make: (limits: HistoryLimits, clock: () => number) => AlertHistoryStore): void {
  describe(`AlertHistoryStore contract: ${name}`, () => {
    const all = { from: 0, to: Number.MAX_SAFE_INTEGER, limit: 100 };

    it('lists entries by time range and connector, oldest first; tenants are isolated', async () => {
      const store = make({ retentionMs: 1e12, maxEntries: 100 }, () => 10_000);
      await store.append([transition('acme', 300, 'crm'), transition('acme', 100, 'erp'), notification('acme', 200), transition('we}ird{tenant', 150, 'crm')]);
      await store.append([transition('acme', 200, 'crm', 'resolved')]); // equal time: both kept, in insertion order
      expect((await store.query('acme', all)).map((e) => e.at)).toEqual([100, 200, 200, 300]);
      expect((await store.query('acme', all))[1]).toEqual(notification('acme', 200));
      expect((await store.query('acme', { ...all, connector: 'crm' })).map((e) => e.at)).toEqual([200, 200, 300]);
      expect((await store.query('acme', { from: 150, to: 250, limit: 100 })).map((e) => e.at)).toEqual([200, 200]);
      expect((await store.query('acme', { ...all, limit: 2 })).map((e) => e.at)).toEqual([100, 200]);
      expect(await store.query('other', all)).toEqual([]);
      expect(await store.query('we}ird{tenant', all)).toEqual([transition('we}ird{tenant', 150, 'crm')]);
    });

    it('drops entries past the retention time and beyond the max count (oldest first)', async () => {
      let now = 1_000;
      const store = make({ retentionMs: 500, maxEntries: 3 }, () => now);
      await store.append([600, 700, 800, 900].map((at) => transition('acme', at, 'crm')));
      expect((await store.query('acme', all)).map((e) => e.at)).toEqual([700, 800, 900]); // count bound
      now = 1_250; // cutoff 750
      expect((await store.query('acme', all)).map((e) => e.at)).toEqual([800, 900]);
      await store.append([transition('acme', 1_200, 'crm')]);
      expect((await store.query('acme', all)).map((e) => e.at)).toEqual([800, 900, 1_200]);
    });
  });
}

contract('memory', (limits, clock) => new MemoryAlertHistoryStore(limits, clock));

describe.skipIf(integration(['redis']).skip)('redis', () => {
  const redis = useRedisClient();
  let n = 0;
  contract('redis', (limits, clock) => new RedisAlertHistoryStore(redis.client, limits, clock, `t${Date.now()}-${n++}`));

  it('keeps a tenant in its hash tag', () => {
    const key = new RedisAlertHistoryStore(redis.client).key('we}ird');
    expect(key).toBe('pg:ad:{t:we%7Dird}:alert-history');
  });
});
