import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Topics } from '@pulsegate/events';
import { fingerprint } from '../src/lifecycle/fingerprint';
import { MemoryStore } from '../src/store/memory-store';
import { MemoryAlertHistoryStore, type HistoryEntry } from '../src/history/store';
import { startReceiver, until, type Receiver } from './fixtures/receiver';
import { startService, type Harness } from './fixtures/service';
import { seriesSnapshot } from './fixtures/snapshots';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const S = 1000;
const bad = (at: number) => seriesSnapshot(at, { calls: 200, successes: 150 }); // success rate 0.75
const good = (at: number) => seriesSnapshot(at, { calls: 200, successes: 200 });
const labels = { alertname: 'SuccessRateLow', tenant: 'acme', connector: 'crm', action: 'getContact', version: '1.2.0', kind: 'read', severity: 'critical' };
const FP = fingerprint(labels);
/** A history that keeps the fixture's 2025 evaluation times (the default retention counts from now). */
const longHistory = () => new MemoryAlertHistoryStore({ retentionMs: 1e13, maxEntries: 1_000 });
const everything = { from: 0, to: Number.MAX_SAFE_INTEGER, limit: 1_000 };
const brief = (e: HistoryEntry) => (e.kind === 'transition' ? `${e.from}->${e.to}` : `${e.receiver}:${e.status}:${e.outcome}`);

describe('anomaly detector service (embedded: memory bus and store)', () => {
  let receiver: Receiver;
  let h: Harness | null = null;
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await h?.stop();
    h = null;
    await receiver.close();
  });

  it('sends exactly one firing then exactly one resolved notification in Alertmanager v4 format', async () => {
    const history = longHistory();
    h = await startService({ receiverUrl: receiver.url, deps: { historyStore: history } });
    // Breach for the rule's `for` (2 min): pending at T0, firing at T0+120 s.
    await h.publish(bad(T0), bad(T0 + 60 * S), bad(T0 + 120 * S), bad(T0 + 150 * S));
    await until(() => receiver.alerts().length === 1, 'firing notification');
    // Recovery: keep_firing_for is 5 min after the last breach (T0+150 s) -> resolved at T0+450 s.
    await h.publish(good(T0 + 180 * S), good(T0 + 300 * S), good(T0 + 450 * S), good(T0 + 500 * S));
    await until(() => receiver.alerts().length === 2, 'resolved notification');
    expect(await h.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.alerts()).toEqual([`${FP}:firing`, `${FP}:resolved`]);

    const [firing, resolved] = receiver.received;
    expect(firing).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'webhook-0',
      groupLabels: labels,
      commonLabels: labels,
      truncatedAlerts: 0,
    });
    expect(firing!.groupKey).toBe(`{}:{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k as keyof typeof labels])}`).join(', ')}}`);
    const a = firing!.alerts[0]!;
    expect(a).toMatchObject({ status: 'firing', labels, fingerprint: FP, startsAt: new Date(T0).toISOString(), endsAt: '0001-01-01T00:00:00Z' });
    expect(a.annotations).toMatchObject({ value: '0.75', threshold: '0.99', window: '5m', calls: '200' });
    expect(a.generatorURL).toBe('http://127.0.0.1:8081/v1/connectors/crm/timeseries?metric=successRate&window=1h&step=1m&action=getContact&version=1.2.0&kind=read');
    expect(resolved!.alerts[0]).toMatchObject({ status: 'resolved', startsAt: new Date(T0).toISOString(), endsAt: new Date(T0 + 450 * S).toISOString() });
    expect(new Set(receiver.idempotencyKeys).size).toBe(2);

    const events = h.alertEvents();
    expect(events.map((e) => [e.state, e.fingerprint, e.value, e.threshold, e.window])).toEqual([
      ['firing', FP, 0.75, 0.99, '5m'],
      ['resolved', FP, 1, 0.99, '5m'],
    ]);
    const stored = await h.service.store.getAlert('acme', FP);
    expect(stored).toMatchObject({ state: 'resolved', startsAt: T0, endsAt: T0 + 450 * S });

    // History: every transition at its evaluation time (the fixture's 2025 data times), each delivery
    // at the clock time it was attempted (now), with its outbox key; oldest first.
    // The dispatcher records a delivery once the receiver has answered: wait for the second one.
    await until(async () => (await history.query('acme', everything)).length >= 5, 'both deliveries in the history');
    const entries = await history.query('acme', everything);
    expect(entries.map(brief)).toEqual(['null->pending', 'pending->firing', 'firing->resolved', 'webhook-0:firing:delivered', 'webhook-0:resolved:delivered']);
    expect(entries.filter((e) => e.kind === 'transition').map((e) => e.at)).toEqual([T0, T0 + 120 * S, T0 + 450 * S]);
    expect(entries.filter((e) => e.kind === 'notification').map((e) => (e.kind === 'notification' ? e.idempotencyKey : null))).toEqual([`${FP}.${T0}.firing.0.webhook-0`, `${FP}.${T0}.resolved.webhook-0`]);
    expect(await history.query('other', everything)).toEqual([]);
  });

  it('a breach shorter than `for` never notifies', async () => {
    h = await startService({ receiverUrl: receiver.url });
    await h.publish(bad(T0), bad(T0 + 60 * S), good(T0 + 90 * S), good(T0 + 200 * S));
    await until(async () => (await h!.service.store.getAlert('acme', FP))?.state === 'inactive', 'pending then inactive');
    expect(await h.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.requests).toBe(0);
    expect(h.alertEvents()).toEqual([]);
  });

  it('retries with backoff while the receiver is down and delivers once when it is back', async () => {
    receiver.down = true;
    const history = longHistory();
    h = await startService({ receiverUrl: receiver.url, deps: { historyStore: history } });
    await h.publish(bad(T0), bad(T0 + 120 * S));
    await until(() => receiver.requests >= 3, 'three failed attempts');
    receiver.down = false;
    await until(() => receiver.received.length === 1, 'delivery after recovery');
    // The delivery loop settles the item just after the receiver answered: wait for that, then
    // a further pass finds nothing to send.
    await until(async () => (await h!.service.store.due(Number.MAX_SAFE_INTEGER, 10)).length === 0, 'delivered item settled');
    expect(await h.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.alerts()).toEqual([`${FP}:firing`]);
    expect(await h.service.store.deadLetters(10)).toEqual([]);
    // Every failed attempt and the delivery are in the history, with the reason of the failures.
    const attempts = (await history.query('acme', everything)).filter((e) => e.kind === 'notification');
    expect(attempts.map((e) => (e.kind === 'notification' ? e.outcome : ''))).toEqual([...Array<string>(receiver.requests - 1).fill('failed'), 'delivered']);
    expect(attempts[0]).toMatchObject({ reason: 'receiver answered HTTP 503', idempotencyKey: `${FP}.${T0}.firing.0.webhook-0` });
  });

  it('keeps a dead-letter record after the last attempt', async () => {
    receiver.down = true;
    const history = longHistory();
    h = await startService({ receiverUrl: receiver.url, env: { WEBHOOK_MAX_ATTEMPTS: '3' }, deps: { historyStore: history } });
    await h.publish(bad(T0), bad(T0 + 120 * S));
    await until(async () => (await h!.service.store.deadLetters(10)).length === 1, 'dead letter');
    const [dl] = await h.service.store.deadLetters(10);
    expect(dl).toMatchObject({ reason: 'receiver answered HTTP 503', item: { attempts: 3, status: 'firing', receiver: 'webhook-0' } });
    expect(receiver.requests).toBe(3);
    expect(await h.service.store.due(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    expect((await history.query('acme', everything)).filter((e) => e.kind === 'notification').map(brief)).toEqual(['webhook-0:firing:failed', 'webhook-0:firing:failed', 'webhook-0:firing:dead-lettered']);
  });

  it('does not notify a silenced alert but still records and publishes it', async () => {
    const store = new MemoryStore();
    await store.putSilence({ id: 's1', tenant: 'acme', matchers: [{ name: 'connector', op: '=~', value: 'cr.*' }], startsAt: 0, endsAt: Date.now() + 3_600_000, createdBy: 'test', comment: '', createdAt: 0 });
    h = await startService({ receiverUrl: receiver.url, store });
    await h.publish(bad(T0), bad(T0 + 120 * S));
    await until(async () => (await store.getAlert('acme', FP))?.state === 'firing', 'firing');
    expect(await h.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.requests).toBe(0);
    expect(h.alertEvents().map((e) => e.state)).toEqual(['firing']);
  });

  it('repeats a still-firing alert after the repeat interval, once per interval', async () => {
    const rules = new URL('./fixtures/repeat-rules.yaml', import.meta.url);
    h = await startService({ receiverUrl: receiver.url, env: { RULES_FILE: rules.pathname } });
    // firing at 120 s; repeat every 10 min -> at 800 s (not at 700 s) and again at 1400 s.
    await h.publish(bad(T0), bad(T0 + 120 * S));
    await until(() => receiver.alerts().length === 1, 'first firing notification');
    await h.publish(bad(T0 + 300 * S), bad(T0 + 700 * S), bad(T0 + 800 * S));
    await until(() => receiver.alerts().length === 2, 'first repeat');
    await h.publish(bad(T0 + 1000 * S), bad(T0 + 1400 * S));
    await until(() => receiver.alerts().length === 3, 'second repeat');
    expect(await h.service.dispatcher.runOnce()).toBe(0);
    expect(receiver.alerts()).toEqual([`${FP}:firing`, `${FP}:firing`, `${FP}:firing`]);
    expect(new Set(receiver.idempotencyKeys).size).toBe(3);
  });

  it('dead-letters poison messages and still processes the good ones sent alongside', async () => {
    h = await startService({ receiverUrl: receiver.url });
    const good1 = bad(T0);
    await h.bus.publish(Topics.metrics, [
      { key: 'x', value: 'not json {' },
      { key: 'x', value: JSON.stringify({ ...good1, schemaVersion: 2 }) },
      { key: 'x', value: JSON.stringify({ ...good1, windows: { '5m': { calls: 'many' } } }) },
      { key: 'x', value: JSON.stringify({ ...good1, tenant: 'x'.repeat(300) }) },
      { key: 'x', value: JSON.stringify({ type: 'series' }) },
      { key: 'x', value: 'null' },
      { key: 'x', value: JSON.stringify(good1) },
    ]);
    await until(async () => (await h!.service.store.getAlert('acme', FP))?.state === 'pending', 'good snapshot processed');
    await until(() => h!.bus.recordsIn(Topics.deadLetter).length === 6, 'six dead letters');
    const reasons = h.bus.recordsIn(Topics.deadLetter).map((r) => r.headers['x-dlq-reason']);
    expect(reasons[0]).toMatch(/undecodable snapshot/);
    for (const r of reasons.slice(1)) expect(r).toMatch(/invalid snapshot/);
  });

  it('threshold rules for latency (per kind), throttles and adoption fire with their own labels', async () => {
    h = await startService({ receiverUrl: receiver.url });
    const { adoptionSnapshot } = await import('./fixtures/snapshots');
    await h.publish(
      seriesSnapshot(T0, { kind: 'write', action: 'createContact', p95: 1400 }), // under the 1500 ms write limit
      seriesSnapshot(T0, { kind: 'read', action: 'listContacts', p95: 800 }),
      seriesSnapshot(T0 + 120 * S, { kind: 'read', action: 'listContacts', p95: 800 }),
      seriesSnapshot(T0, { action: 'search', calls: 1000, throttled: 20 }), // 2 % throttled over 1 h, for = 0
      adoptionSnapshot(T0),
    );
    await until(() => receiver.alerts().length === 4, 'four notifications');
    const names = receiver.received.map((p) => `${p.alerts[0]!.labels.alertname}/${p.alerts[0]!.labels.action ?? '-'}`).sort();
    expect(names).toEqual(['DeprecatedVersionUse/-', 'LatencyP95High/listContacts', 'LatestMinorAdoptionLow/-', 'ThrottleRateHigh/search']);
    const adoption = receiver.received.find((p) => p.alerts[0]!.labels.alertname === 'DeprecatedVersionUse')!.alerts[0]!;
    expect(adoption.annotations).toMatchObject({ value: '0.2', threshold: '0.05', window: '30d' });
  });
});
