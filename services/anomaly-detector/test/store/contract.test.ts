import { beforeAll, describe, expect, it } from 'vitest';
import { integration } from '@pulsegate/testkit';
import { useRedisClient } from '@pulsegate/testkit/vitest';
import type { AlertRecord } from '../../src/lifecycle/alert';
import { MemoryStore } from '../../src/store/memory-store';
import { RedisStore } from '../../src/store/redis-store';
import type { DetectorStore, OutboxItem } from '../../src/store/types';

const alert = (o: Partial<AlertRecord> = {}): AlertRecord => ({
  version: 1,
  fingerprint: '0123456789abcdef',
  tenant: 'acme',
  rule: 'SuccessRateLow',
  labels: { alertname: 'SuccessRateLow', tenant: 'acme' },
  annotations: {},
  state: 'pending',
  activeAt: 1000,
  startsAt: null,
  endsAt: null,
  lastBreachAt: 1000,
  lastEvaluatedAt: 1000,
  value: 0.5,
  threshold: 0.99,
  window: '5m',
  generatorURL: 'http://x',
  notifiedAt: null,
  notifications: 0,
  ...o,
});

const item = (key: string, dueAt: number): OutboxItem => ({
  key,
  receiver: 'r',
  url: 'http://x',
  tenant: 'acme',
  groupKey: '{}:{}',
  groupLabels: {},
  status: 'firing',
  alert: { status: 'firing', labels: {}, annotations: {}, startsAt: '', endsAt: '', generatorURL: '', fingerprint: 'f' },
  after: null,
  attempts: 0,
  dueAt,
  createdAt: dueAt,
});

/** One contract for every DetectorStore implementation. */
function contract(name: string, make: () => Promise<DetectorStore>): void {
  describe(`DetectorStore contract: ${name}`, () => {
    let store: DetectorStore;
    beforeAll(async () => {
      store = await make();
    });

    it('saves alerts with compare-and-set on the version; tenants are isolated', async () => {
      expect(await store.saveAlert(alert())).toBe(true);
      expect(await store.saveAlert(alert())).toBe(false); // version 1 again: stale writer loses
      expect(await store.saveAlert(alert({ version: 3 }))).toBe(false);
      expect(await store.saveAlert(alert({ version: 2, state: 'firing' }))).toBe(true);
      expect(await store.getAlert('acme', '0123456789abcdef')).toMatchObject({ version: 2, state: 'firing' });
      expect(await store.getAlert('other', '0123456789abcdef')).toBeNull();
      expect(await store.saveAlert(alert({ tenant: 'we}ird{tenant', fingerprint: 'fedcba9876543210' }))).toBe(true);
      expect((await store.listAlerts('acme')).map((a) => a.fingerprint)).toEqual(['0123456789abcdef']);
      expect((await store.tenants()).sort()).toEqual(['acme', 'we}ird{tenant']);
      expect(await store.deleteAlert('acme', '0123456789abcdef', 1)).toBe(false);
      expect(await store.deleteAlert('acme', '0123456789abcdef', 2)).toBe(true);
      expect(await store.listAlerts('acme')).toEqual([]);
    });

    it('keeps one value per bucket and trims old buckets', async () => {
      await store.recordPoint('acme', 's1', 100, 1, 10);
      await store.recordPoint('acme', 's1', 100, 2, 10); // overwrite
      await store.recordPoint('acme', 's1', 105, 0.125, 10);
      await store.recordPoint('acme', 's1', 111, 3, 10); // drops bucket 100 (<= 111 - 10)
      expect([...(await store.history('acme', 's1'))].sort((a, b) => a[0] - b[0])).toEqual([[105, 0.125], [111, 3]]);
      expect((await store.history('other', 's1')).size).toBe(0);
    });

    it('stores silences per tenant', async () => {
      const s = { id: 'a1', tenant: 'acme', matchers: [{ name: 'connector', op: '=' as const, value: 'crm' }], startsAt: 1, endsAt: 2, createdBy: 'me', comment: '', createdAt: 1 };
      await store.putSilence(s);
      expect(await store.getSilence('acme', 'a1')).toEqual(s);
      expect(await store.getSilence('other', 'a1')).toBeNull();
      await store.putSilence({ ...s, endsAt: 1 });
      expect(await store.listSilences('acme')).toEqual([{ ...s, endsAt: 1 }]);
    });

    it('remembers one-time notices per tenant: the first mark wins', async () => {
      expect(await store.noticeSentAt('acme', 'ready\u001fcrm\u001f1.0.0')).toBeNull();
      expect(await store.markNoticeSent('acme', 'ready\u001fcrm\u001f1.0.0', 1_000)).toBe(true);
      expect(await store.markNoticeSent('acme', 'ready\u001fcrm\u001f1.0.0', 2_000)).toBe(false);
      expect(await store.noticeSentAt('acme', 'ready\u001fcrm\u001f1.0.0')).toBe(1_000);
      expect(await store.noticeSentAt('other', 'ready\u001fcrm\u001f1.0.0')).toBeNull();
    });

    it('outbox: idempotent enqueue, single claim, reschedule, complete, dead letter', async () => {
      await store.enqueue([item('k1', 10), item('k2', 20)]);
      await store.enqueue([{ ...item('k1', 5), attempts: 9 }]); // already queued: ignored
      expect((await store.due(15, 10)).map((i) => [i.key, i.attempts])).toEqual([['k1', 0]]);
      expect(await store.claim('k1', 'a', 60_000)).toBe(true);
      expect(await store.claim('k1', 'b', 60_000)).toBe(false);
      await store.reschedule({ ...item('k1', 30), attempts: 1 });
      expect(await store.claim('k1', 'b', 60_000)).toBe(true); // released by reschedule
      expect((await store.due(25, 10)).map((i) => i.key)).toEqual(['k2']);
      await store.complete('k1', 60_000);
      expect(await store.queued('k1')).toBe(false);
      expect(await store.claim('k1', 'c', 60_000)).toBe(false); // delivered: never again
      await store.enqueue([item('k1', 1)]); // re-queueing a delivered key is a no-op
      expect(await store.queued('k1')).toBe(false);
      await store.deadLetter({ item: { ...item('k2', 20), attempts: 8 }, reason: 'HTTP 503', at: 99 }, 60_000);
      expect(await store.due(1e15, 10)).toEqual([]);
      expect(await store.deadLetters(10)).toEqual([{ item: { ...item('k2', 20), attempts: 8 }, reason: 'HTTP 503', at: 99 }]);
      expect(await store.ping()).toBe(true);
    });
  });
}

contract('memory', async () => new MemoryStore());

describe.skipIf(integration(['redis']).skip)('redis', () => {
  const redis = useRedisClient();
  contract('redis', async () => new RedisStore(redis.client, { prefix: `t${Date.now()}` }));
});
