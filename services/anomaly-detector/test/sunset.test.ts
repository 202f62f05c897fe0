import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { integration, startRedis, type RedisHandle } from '@pulsegate/testkit';
import type { AdoptionSnapshot } from '@pulsegate/events';
import { fingerprint } from '../src/lifecycle/fingerprint';
import { MemoryAlertHistoryStore, type AlertHistoryStore, type HistoryEntry } from '../src/history/store';
import { MemoryStore } from '../src/store/memory-store';
import { RedisStore } from '../src/store/redis-store';
import type { DetectorStore } from '../src/store/types';
import { startReceiver, until, type Receiver } from './fixtures/receiver';
import { startService, type Harness } from './fixtures/service';
import { adoptionSnapshot } from './fixtures/snapshots';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const MIN = 60_000;
const DAY = 86_400_000;
const everything = { from: 0, to: Number.MAX_SAFE_INTEGER, limit: 1_000 };
const brief = (e: HistoryEntry) => (e.kind === 'transition' ? `${e.rule}:${e.from}->${e.to}` : `${e.receiver}:${e.status}:${e.outcome}`);

const pastLabels = { alertname: 'VersionPastSunset', tenant: 'acme', connector: 'crm', version: '1.0.0', severity: 'warning' };
const PAST = fingerprint(pastLabels);
const readyLabels = (version: string) => ({ alertname: 'VersionReadyToSunset', tenant: 'acme', connector: 'crm', version, severity: 'info' });
const READY_100 = fingerprint(readyLabels('1.0.0'));
const READY_110 = fingerprint(readyLabels('1.1.0'));
/** LatestMinorAdoptionLow fires on every fixture snapshot (latest minor at 50 % after 40 days): its record shows what was evaluated. */
const ADOPTION = fingerprint({ alertname: 'LatestMinorAdoptionLow', tenant: 'acme', connector: 'crm', severity: 'info' });

/** 1.0.0 sunset a day before T0 with `recent` calls in the last 5 minutes; 1.2.0 sunsets in 10 days and is still called. */
function sunsetSnapshot(at: number, recent: number): AdoptionSnapshot {
  return adoptionSnapshot(at, {
    recentWindow: '5m',
    versions: [
      { version: '1.3.0', calls: 500, share: 0.5, deprecated: false, deprecatedAt: null, sunsetAt: null, daysToSunset: null, recentCalls: 40 },
      { version: '1.2.0', calls: 300, share: 0.3, deprecated: true, deprecatedAt: T0 - 45 * DAY, sunsetAt: T0 + 10 * DAY, daysToSunset: 10, recentCalls: 25 },
      { version: '1.0.0', calls: 200, share: 0.2, deprecated: true, deprecatedAt: T0 - 90 * DAY, sunsetAt: T0 - DAY, daysToSunset: -1, recentCalls: recent },
    ],
  });
}

/** Two deprecated versions: 1.0.0 at 4 % of the connector's 1 000 calls, 1.1.0 at 6 %. */
function shareSnapshot(at: number): AdoptionSnapshot {
  return adoptionSnapshot(at, {
    versions: [
      { version: '1.3.0', calls: 500, share: 0.5, deprecated: false, deprecatedAt: null },
      { version: '1.2.0', calls: 400, share: 0.4, deprecated: false, deprecatedAt: null },
      { version: '1.1.0', calls: 60, share: 0.06, deprecated: true, deprecatedAt: T0 - 10 * DAY },
      { version: '1.0.0', calls: 40, share: 0.04, deprecated: true, deprecatedAt: T0 - 45 * DAY },
    ],
  });
}

/** The same suite over the embedded store (memory) and the distributed one (Redis). */
function suite(name: string, makeStore: () => DetectorStore | Promise<DetectorStore>): void {
  describe(`version sunset (${name} store)`, () => {
    let receiver: Receiver;
    let history: AlertHistoryStore;
    const harnesses: Harness[] = [];
    let dir: string;

    beforeEach(async () => {
      receiver = await startReceiver();
      history = new MemoryAlertHistoryStore({ retentionMs: 1e13, maxEntries: 1_000 });
      dir = mkdtempSync(join(tmpdir(), 'pulsegate-sunset-'));
    });
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.stop();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const start = async (store: DetectorStore, env: Record<string, string> = {}): Promise<Harness> => {
      const h = await startService({ receiverUrl: receiver.url, store, env, deps: { historyStore: history } });
      harnesses.push(h);
      return h;
    };
    const evaluatedAt = async (h: Harness, at: number): Promise<void> =>
      until(async () => (await h.service.store.getAlert('acme', ADOPTION))?.lastEvaluatedAt === at, `evaluation at ${at}`);
    const mine = (fp: string) => receiver.received.flatMap((p) => p.alerts).filter((a) => a.fingerprint === fp);

    it('traffic past sunset fires VersionPastSunset with tenant, connector and version labels; it resolves once the traffic stops', async () => {
      const h = await start(await makeStore());
      await h.publish(sunsetSnapshot(T0, 12));
      await until(() => mine(PAST).length === 1, 'firing notification');
      const firing = mine(PAST)[0]!;
      expect(firing).toMatchObject({ status: 'firing', labels: pastLabels, startsAt: new Date(T0).toISOString() });
      expect(firing.annotations).toMatchObject({ value: '12', threshold: '0', window: '5m', calls: '12', sunsetAt: new Date(T0 - DAY).toISOString() });
      expect(firing.generatorURL).toBe('http://127.0.0.1:8081/v1/connectors/crm/timeseries?metric=calls&window=1h&step=1m&version=1.0.0');
      expect((await h.service.alertmanager.alerts()).filter((a) => a.labels.alertname === 'VersionPastSunset').map((a) => a.labels)).toEqual([pastLabels]);
      // 1.2.0 is called too but its sunset is 10 days ahead: no alert for it.
      expect(await h.service.store.getAlert('acme', fingerprint({ ...pastLabels, version: '1.2.0' }))).toBeNull();

      // Traffic stops: no breach from T0+5m; keep_firing_for (15 m) after the last breach resolves it at T0+15m.
      await h.publish(sunsetSnapshot(T0 + 5 * MIN, 0), sunsetSnapshot(T0 + 10 * MIN, 0));
      await evaluatedAt(h, T0 + 10 * MIN);
      expect((await h.service.store.getAlert('acme', PAST))?.state).toBe('firing');
      await h.publish(sunsetSnapshot(T0 + 15 * MIN, 0));
      await until(() => mine(PAST).length === 2, 'resolved notification');
      expect(mine(PAST)[1]).toMatchObject({ status: 'resolved', labels: pastLabels, endsAt: new Date(T0 + 15 * MIN).toISOString() });
      expect(h.alertEvents().filter((e) => e.fingerprint === PAST).map((e) => e.state)).toEqual(['firing', 'resolved']);
      const entries = (await history.query('acme', everything)).filter((e) => e.fingerprint === PAST);
      expect(entries.filter((e) => e.kind === 'transition').map(brief)).toEqual(['VersionPastSunset:null->firing', 'VersionPastSunset:firing->resolved']);
    });

    it('a deprecated version at 4 % gets exactly one ready-to-sunset notice, not repeated on later evaluations nor after a restart; 6 % gets none', async () => {
      const store = await makeStore();
      const first = await start(store);
      await first.publish(shareSnapshot(T0));
      await until(() => mine(READY_100).length === 1, 'ready-to-sunset notice');
      const notice = mine(READY_100)[0]!;
      expect(notice).toMatchObject({ status: 'firing', labels: readyLabels('1.0.0'), startsAt: new Date(T0).toISOString() });
      expect(notice.annotations).toMatchObject({ value: '0.04', threshold: '0.05', window: '30d', calls: '40', deprecatedAt: new Date(T0 - 45 * DAY).toISOString() });

      // Later evaluations of the same figures: no second notice.
      await first.publish(shareSnapshot(T0 + 5 * MIN), shareSnapshot(T0 + 10 * MIN));
      await evaluatedAt(first, T0 + 10 * MIN);
      expect(await first.service.dispatcher.runOnce()).toBe(0);
      await first.stop();

      // A new instance over the same store: the fact that it went out is kept.
      const second = await start(store);
      await second.publish(shareSnapshot(T0 + 15 * MIN));
      await evaluatedAt(second, T0 + 15 * MIN);
      expect(await second.service.dispatcher.runOnce()).toBe(0);

      expect(mine(READY_100)).toHaveLength(1);
      expect(mine(READY_110)).toEqual([]);
      expect(await second.service.store.noticeSentAt('acme', 'VersionReadyToSunset\u001fcrm\u001f1.0.0')).toBe(T0);
      expect(await second.service.store.noticeSentAt('acme', 'VersionReadyToSunset\u001fcrm\u001f1.1.0')).toBeNull();
      const entries = (await history.query('acme', everything)).filter((e) => e.fingerprint === READY_100);
      expect(entries.map(brief)).toEqual(['VersionReadyToSunset:null->notified', 'webhook-0:firing:delivered']);
      expect(entries[1]).toMatchObject({ idempotencyKey: `${READY_100}.notice.webhook-0` });
    });

    it('the share limit comes from the rules file (threshold of VersionReadyToSunset)', async () => {
      const rulesFile = join(dir, 'rules.yaml');
      writeFileSync(rulesFile, 'rules:\n  - rule: VersionReadyToSunset\n    threshold: 0.1\n  - rule: VersionReadyToSunset\n    match: { version: "1.0.0" }\n    disabled: true\n');
      const h = await start(await makeStore(), { RULES_FILE: rulesFile });
      await h.publish(shareSnapshot(T0));
      await until(() => mine(READY_110).length === 1, 'notice for 1.1.0 (6 % < 10 %)');
      await evaluatedAt(h, T0);
      expect(await h.service.dispatcher.runOnce()).toBe(0);
      expect(mine(READY_110)[0]!.annotations).toMatchObject({ value: '0.06', threshold: '0.1' });
      expect(mine(READY_100)).toEqual([]);
    });
  });
}

suite('memory', () => new MemoryStore());

describe.skipIf(integration(['redis']).skip)('over Redis', () => {
  let redis: RedisHandle;
  const clients: Redis[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients.splice(0)) await c.quit();
    await redis?.stop();
  });
  suite('redis', () => {
    const c = new Redis(redis.url);
    clients.push(c);
    return new RedisStore(c, { prefix: `t${Math.random().toString(36).slice(2)}` });
  });
});
