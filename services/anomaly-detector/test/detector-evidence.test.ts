import { describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import type { AlertEvent, SeriesSnapshot } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { Detector } from '../src/detector';
import { generateDataset, type EvalMetric } from '../src/eval/dataset';
import { evaluate } from '../src/eval/evaluate';
import { RuleBook } from '../src/rules/rule-book';
import { BUCKET_MS } from '../src/stats/baseline';
import { MemoryStore } from '../src/store/memory-store';
import { windowOf } from './fixtures/snapshots';

const RULE: Record<EvalMetric, string> = { p95: 'LatencyP95Anomaly', errorRate: 'ErrorRateAnomaly', throttleRate: 'ThrottleRateAnomaly' };

describe('one code path: the service fires exactly where the evaluation does', () => {
  it('replays a series of the evaluation set (low-volume when one fired) through the Detector', async () => {
    const dataset = generateDataset({ seed: 7, series: 3, days: 9, anomaliesPerSeries: 2 });
    const { episodes } = evaluate(dataset);
    const fired = dataset.series.filter((x) => episodes.some((e) => e.series === x.id));
    const s = fired.find((x) => x.volumeClass === 'low') ?? fired[0]!;
    const want = episodes.filter((e) => e.series === s.id).map((e) => `${RULE[e.metric]}@${e.firedBucket}`);

    let now = s.firstBucket * BUCKET_MS;
    const bus = new MemoryBus();
    const store = new MemoryStore(() => now);
    const logger = createLogger({ name: 'detector-evidence-test', level: 'silent' });
    const detector = new Detector({ store, bus, logger, clock: () => now, rules: new RuleBook(), receivers: [], groupBy: ['...'], repeatIntervalMs: 0, aggregatorUrl: 'http://127.0.0.1:1', staleAfterMs: 3_600_000, retentionMs: 86_400_000 });
    const got: string[] = [];
    const published = bus.publish.bind(bus);
    bus.publish = async (topic, records) => {
      for (const r of records) {
        const ev = JSON.parse(String(r.value)) as AlertEvent;
        if (ev.state === 'firing' && Object.values(RULE).includes(ev.rule)) got.push(`${ev.rule}@${Math.floor(ev.at / BUCKET_MS)}`);
      }
      return published(topic, records);
    };
    for (let i = 0; i < s.calls.length; i++) {
      now = (s.firstBucket + i) * BUCKET_MS;
      const calls = s.calls[i]!;
      const w5 = windowOf('5m', now, { calls, successes: calls - s.errors[i]! - s.throttled[i]!, throttled: s.throttled[i]!, p95: s.p95[i]! });
      w5.latencyMs.p50 = s.p50[i]!;
      const w1h = windowOf('1h', now, { calls: s.callsHour[i]!, p95: s.p95Hour[i]! });
      w1h.latencyMs.p50 = s.p50Hour[i]!;
      const snap: SeriesSnapshot = { type: 'series', schemaVersion: 1, tenant: 't', connector: 'c', action: 'a', version: '1.0.0', kind: 'read', at: now, windows: { '5m': w5, '1h': w1h } };
      await detector.process(snap);
    }
    expect(want.length).toBeGreaterThan(0);
    expect(got.sort()).toEqual(want.sort());
  }, 600_000);
});
