import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { integration, startRedis, type RedisHandle } from '@pulsegate/testkit';
import { fingerprint } from '../src/lifecycle/fingerprint';
import { RedisStore } from '../src/store/redis-store';
import { startReceiver, until, type Receiver } from './fixtures/receiver';
import { startService, type Harness } from './fixtures/service';
import { seriesSnapshot } from './fixtures/snapshots';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const S = 1000;
const bad = (at: number) => seriesSnapshot(at, { calls: 200, successes: 150 });
const good = (at: number) => seriesSnapshot(at, { calls: 200, successes: 200 });
const FP = fingerprint({ alertname: 'SuccessRateLow', tenant: 'acme', connector: 'crm', action: 'getContact', version: '1.2.0', kind: 'read', severity: 'critical' });

describe.skipIf(integration(['redis']).skip)('anomaly detector over Redis', () => {
  let redis: RedisHandle;
  let receiver: Receiver;
  const clients: Redis[] = [];
  const harnesses: Harness[] = [];
  let prefix = '';
  const store = (): RedisStore => {
    const c = new Redis(redis.url);
    clients.push(c);
    return new RedisStore(c, { prefix });
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    prefix = `t${Math.random().toString(36).slice(2)}`;
    receiver = await startReceiver();
  });
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.stop();
    for (const c of clients.splice(0)) await c.quit();
    await receiver.close();
  });

  it('a restart between firing and recovery changes nothing: one firing, one resolved', async () => {
    const first = await startService({ receiverUrl: receiver.url, store: store() });
    harnesses.push(first);
    await first.publish(bad(T0), bad(T0 + 120 * S));
    await until(() => receiver.alerts().length === 1, 'firing notification');
    await first.stop();
    harnesses.splice(0);

    // A new instance over the same Redis: still firing, not re-notified, resolves once.
    const second = await startService({ receiverUrl: receiver.url, store: store() });
    harnesses.push(second);
    expect((await second.service.store.getAlert('acme', FP))?.state).toBe('firing');
    await second.publish(bad(T0 + 180 * S), bad(T0 + 240 * S));
    await until(async () => (await second.service.store.getAlert('acme', FP))?.lastEvaluatedAt === T0 + 240 * S, 'breach evaluated after restart');
    expect(await second.service.dispatcher.runOnce()).toBe(0);
    await second.publish(good(T0 + 300 * S), good(T0 + 540 * S));
    await until(() => receiver.alerts().length === 2, 'resolved notification');
    expect(await second.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.alerts()).toEqual([`${FP}:firing`, `${FP}:resolved`]);
    expect(second.alertEvents().map((e) => e.state)).toEqual(['resolved']);
  });

  it('two instances seeing the same snapshots deliver each notification once', async () => {
    const a = await startService({ receiverUrl: receiver.url, store: store() });
    const b = await startService({ receiverUrl: receiver.url, store: store() });
    harnesses.push(a, b);
    const snaps = [bad(T0), bad(T0 + 60 * S), bad(T0 + 120 * S), bad(T0 + 180 * S)];
    await Promise.all([a.publish(...snaps), b.publish(...snaps)]);
    await until(() => receiver.alerts().length >= 1, 'firing notification');
    const recovery = [good(T0 + 240 * S), good(T0 + 400 * S), good(T0 + 500 * S)];
    await Promise.all([a.publish(...recovery), b.publish(...recovery)]);
    await until(() => receiver.alerts().length >= 2, 'resolved notification');
    // Both dispatchers find nothing left to send.
    expect(await a.service.dispatcher.runOnce()).toBe(0);
    expect(await b.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.alerts()).toEqual([`${FP}:firing`, `${FP}:resolved`]);
    // Only the instance that won each transition published it.
    expect([...a.alertEvents(), ...b.alertEvents()].map((e) => e.state).sort()).toEqual(['firing', 'resolved']);
  });

  it('receiver down across a restart: retried and delivered exactly once when back', async () => {
    receiver.down = true;
    const first = await startService({ receiverUrl: receiver.url, store: store() });
    harnesses.push(first);
    await first.publish(bad(T0), bad(T0 + 120 * S));
    await until(() => receiver.requests >= 2, 'failed attempts');
    await first.stop();
    harnesses.splice(0);
    receiver.down = false;
    const second = await startService({ receiverUrl: receiver.url, store: store() });
    harnesses.push(second);
    await until(() => receiver.received.length === 1, 'delivery by the new instance');
    expect(await second.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.alerts()).toEqual([`${FP}:firing`]);
  });
});
