import { describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { Detector } from '../../src/detector';
import { RuleBook } from '../../src/rules/rule-book';
import { SloEngine } from '../../src/slo/engine';
import { MemorySloLedgerStore } from '../../src/slo/ledger-store';
import { DEFAULT_BURN_ALERTS, SloBook } from '../../src/slo/objectives';
import { MemoryStore } from '../../src/store/memory-store';
import { blockSnapshot, type BlockSpec } from '../fixtures/slo';

const B = 300_000;
const T0 = Date.UTC(2025, 0, 6, 0, 0); // a multiple of 5 minutes

function setup(book = new SloBook()) {
  let now = T0;
  const ledger = new MemorySloLedgerStore();
  const slo = new SloEngine({ store: ledger, book, burnAlerts: DEFAULT_BURN_ALERTS, clock: () => now, aggregatorUrl: 'http://agg:8081' });
  const store = new MemoryStore(() => now);
  const detector = new Detector({ store, bus: new MemoryBus(), logger: createLogger({ name: 't', level: 'silent' }), clock: () => now, rules: new RuleBook(), receivers: [], groupBy: ['...'], repeatIntervalMs: 0, aggregatorUrl: 'http://agg:8081', staleAfterMs: 1e12, retentionMs: 1e12, slo });
  /** Feeds block i (from T0) and moves the clock into its last minute. */
  const feed = async (i: number, spec: BlockSpec) => {
    const s = blockSnapshot(T0 + i * B, spec);
    now = s.at;
    await detector.process(s);
  };
  const firing = async () => (await store.listAlerts('acme')).filter((a) => a.state === 'firing').map((a) => `${a.labels.alertname}/${a.labels.slo}/${a.labels.burn ?? '-'}`).sort();
  return { ledger, slo, store, detector, feed, firing, setNow: (t: number) => (now = t) };
}

describe('SLO engine', () => {
  it('sums versions into action blocks and reports exact window figures', async () => {
    const { slo, feed } = setup();
    // 24 blocks (2 h): versions 1.2.0 and 1.3.0, 100 calls each; block i has i % 4 failures on 1.3.0.
    for (let i = 0; i < 24; i++) {
      await feed(i, { calls: 100, version: '1.2.0', throttled: i === 23 ? 2 : 0, slow: i >= 20 ? 10 : 0 });
      await feed(i, { calls: 100, version: '1.3.0', failed: i % 4 });
    }
    const [avail, latency, throttling] = await slo.status('acme');
    // Whole window: 4 800 calls; failures 0+1+2+3 per 4 blocks = 6 × 6 = 36, plus 2 throttled (not successes).
    expect(avail).toMatchObject({ connector: 'crm', action: 'getContact', kind: 'read', slo: 'availability', objective: 0.99, window: '30d', events: 4800, badEvents: 38 });
    expect(avail!.attainment).toBeCloseTo(1 - 38 / 4800, 12);
    expect(avail!.budgetRemaining).toBeCloseTo(1 - 38 / 48, 12);
    // Last hour = blocks 12..23: 2 400 calls, failures 18 + 2 throttled; 5 m = block 23: 3 failed + 2 throttled of 200.
    expect(avail!.burnRates['1h']).toBeCloseTo(20 / 2400 / 0.01, 12);
    expect(avail!.burnRates['5m']).toBeCloseTo(5 / 200 / 0.01, 12);
    expect(avail!.timeToExhaustionSeconds).toBeCloseTo(((1 - 38 / 48) * 30 * 86_400) / (20 / 24), 6);
    // Latency: 10 slow reads (> 750 ms) in each of blocks 20..23.
    expect(latency).toMatchObject({ slo: 'latency', objective: 0.95, thresholdMs: 750, events: 4800, badEvents: 40 });
    expect(latency!.burnRates['1h']).toBeCloseTo(40 / 2400 / 0.05, 12);
    expect(throttling).toMatchObject({ slo: 'throttling', events: 4800, badEvents: 2 });
    expect(await slo.status('other')).toEqual([]);
  });

  it('pages at 14.4× over 1 h and 5 m, resolves after recovery; a restart keeps the ledger', async () => {
    const t = setup();
    // One clean hour, then 20 % failures (burn rate 20).
    for (let i = 0; i < 12; i++) await t.feed(i, { calls: 1000 });
    expect(await t.firing()).toEqual([]);
    let i = 12;
    let firedAt = -1;
    for (; i < 36 && firedAt < 0; i++) {
      await t.feed(i, { calls: 1000, failed: 200 });
      if ((await t.firing()).includes('SloBurnRateHigh/availability/page')) firedAt = i;
    }
    // With n bad blocks after 12 clean ones, the 6 h window (all n + 12 blocks so far) burns at
    // 20n / (n + 12) ≥ 6 from n = 6 on (its 30 m window is then all bad, 20×); the 1 h window
    // (20 × n / 12 ≥ 14.4) would need n = 9. So the 6× condition pages first, at n = 6.
    expect(firedAt).toBe(12 + 5);
    const page = (await t.store.listAlerts('acme')).find((a) => a.labels.burn === 'page' && a.labels.slo === 'availability')!;
    expect(page.labels).toMatchObject({ alertname: 'SloBurnRateHigh', tenant: 'acme', connector: 'crm', action: 'getContact', kind: 'read', severity: 'critical' });
    expect(page.threshold).toBe(6);
    expect(page.window).toBe('6h');
    expect(page.value).toBeCloseTo((6 * 200) / 18_000 / 0.01, 9);
    expect(page.annotations.burnRate_1h).toBe(String(Number(((6 * 200) / 12_000 / 0.01).toPrecision(4))));

    // Restart: a new engine over the same ledger store computes the same figures.
    const before = await t.slo.status('acme');
    const again = new SloEngine({ store: t.ledger, book: new SloBook(), burnAlerts: DEFAULT_BURN_ALERTS, clock: () => T0 + (firedAt + 1) * B - 1000, aggregatorUrl: 'http://agg:8081' });
    expect(await again.status('acme')).toEqual(before);

    // Recovery: the 5 m window clears first; the 6 h / 30 m condition (6×) needs its 30 m window clean.
    for (let j = i; j < i + 12; j++) await t.feed(j, { calls: 1000 });
    expect(await t.firing()).not.toContain('SloBurnRateHigh/availability/page');
    expect((await t.store.listAlerts('acme')).find((a) => a.labels.burn === 'page' && a.labels.slo === 'availability')!.state).toBe('resolved');
  });

  it('reports an action from its live window before its first block is recorded', async () => {
    const { slo, detector, setNow, ledger } = setup();
    // A snapshot two minutes into a block: its 5-minute window is not block-aligned, nothing is recorded.
    const live = blockSnapshot(T0, { calls: 400, failed: 40 });
    const at = T0 + 2 * 60_000;
    const w = { ...live.windows['5m']!, from: at - 240_000, to: at + 60_000 };
    setNow(at);
    await detector.process({ ...live, at, windows: { ...live.windows, '5m': w } });
    expect(await ledger.actions('acme')).toEqual([]);
    const [avail] = await slo.status('acme', 'crm');
    expect(avail).toMatchObject({ connector: 'crm', action: 'getContact', slo: 'availability', events: 400, badEvents: 40 });
    expect(avail!.burnRates['1h']).toBeCloseTo(40 / 400 / 0.01, 12);
    expect(await slo.tenants()).toEqual(['acme']);
    expect(await slo.status('other')).toEqual([]);
  });

  it('low-traffic guard: one failed call never pages; a spent budget raises the exhaustion alert', async () => {
    const t = setup();
    await t.feed(0, { calls: 2, failed: 1 });
    for (let i = 1; i < 12; i++) await t.feed(i, { calls: 3 });
    expect(await t.firing()).toEqual([]);
    // Two more failures: 3 bad of 38 calls, far over a 1 % budget -> exhaustion (warning), still no page.
    await t.feed(12, { calls: 3, failed: 2 });
    expect(await t.firing()).toEqual(['SloBudgetExhausted/availability/-']);
    const a = (await t.store.listAlerts('acme')).find((x) => x.state === 'firing')!;
    expect(a.labels.severity).toBe('warning');
  });

  it('honours SLO overrides (objective, latency threshold, disabled)', async () => {
    const book = new SloBook([
      { slo: 'availability', match: { connector: 'crm' }, set: { objective: 0.9 }, line: 1 },
      { slo: 'latency', match: {}, set: { thresholdMs: { read: 2500, write: 2500 } }, line: 2 },
      { slo: 'throttling', match: { action: 'getContact' }, set: { disabled: true }, line: 3 },
    ]);
    const t = setup(book);
    await t.feed(0, { calls: 100, failed: 5, slow: 10 });
    const s = await t.slo.status('acme');
    expect(s.map((x) => x.slo)).toEqual(['availability', 'latency']);
    expect(s[0]!.budgetRemaining).toBeCloseTo(1 - 5 / 10, 12);
    // 2 s calls are under a 2 500 ms threshold.
    expect(s[1]).toMatchObject({ thresholdMs: 2500, badEvents: 0 });
  });
});
