import { describe, expect, it } from 'vitest';
import { LatencySketch, SKETCH_MIN_VALUE_MS, SKETCH_RELATIVE_ACCURACY, addToBuckets, quantileOfBuckets, weightAtOrBelow } from '../src/sketch';
import { exactQuantile, normal, rng } from './random';

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

function relErr(got: number, want: number): number {
  return want === 0 ? Math.abs(got) : Math.abs(got - want) / want;
}

const distributions: Record<string, (r: () => number) => number> = {
  // latency-like: median ~150 ms, long right tail
  lognormal: (r) => Math.exp(Math.log(150) + 0.9 * normal(r)),
  // cache hits ~3 ms and backend calls ~800 ms
  bimodal: (r) => (r() < 0.7 ? Math.max(0.01, 3 + 0.5 * normal(r)) : Math.max(0.01, 800 + 120 * normal(r))),
  constant: () => 237.5,
  // spans five decades including sub-millisecond values
  wide: (r) => 10 ** (r() * 5 - 2),
};

describe('LatencySketch', () => {
  for (const [name, gen] of Object.entries(distributions)) {
    it(`answers every quantile of a ${name} distribution within α = ${SKETCH_RELATIVE_ACCURACY} of the exact sort`, () => {
      const r = rng(name.length * 7919);
      const sketch = new LatencySketch();
      const values: Array<{ v: number; w: number }> = [];
      for (let i = 0; i < 50_000; i++) {
        const v = gen(r);
        sketch.add(v);
        values.push({ v, w: 1 });
      }
      for (const q of QS) {
        const want = exactQuantile(values, q)!;
        const got = sketch.quantile(q)!;
        expect(relErr(got, want), `${name} q=${q} got ${got} want ${want}`).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY);
      }
    });
  }

  it('honours sample weights like repeating the value weight times', () => {
    const r = rng(42);
    const sketch = new LatencySketch();
    const values: Array<{ v: number; w: number }> = [];
    for (let i = 0; i < 20_000; i++) {
      const v = distributions.lognormal!(r);
      const w = [1, 2, 4, 10, 100][Math.floor(r() * 5)]!;
      sketch.add(v, w);
      values.push({ v, w });
    }
    expect(sketch.count).toBe(values.reduce((s, x) => s + x.w, 0));
    for (const q of QS) {
      const want = exactQuantile(values, q)!;
      expect(relErr(sketch.quantile(q)!, want), `q=${q}`).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY);
    }
  });

  it('merges: sketches of parts merged answer exactly like one sketch of the whole', () => {
    const r = rng(7);
    const whole = new LatencySketch();
    const parts = Array.from({ length: 60 }, () => new LatencySketch());
    const values: Array<{ v: number; w: number }> = [];
    for (let i = 0; i < 30_000; i++) {
      const v = distributions.bimodal!(r);
      whole.add(v);
      parts[i % parts.length]!.add(v);
      values.push({ v, w: 1 });
    }
    const merged = parts.reduce((acc, p) => acc.merge(p), new LatencySketch());
    for (const q of QS) {
      expect(merged.quantile(q)).toBe(whole.quantile(q));
      expect(relErr(merged.quantile(q)!, exactQuantile(values, q)!)).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY);
    }
  });

  it('round-trips through its compact serialisation', () => {
    const s = new LatencySketch().add(0).add(0.5).add(12.25, 3).add(86_400_000);
    const back = LatencySketch.deserialize(s.serialize());
    expect(back.toBuckets()).toEqual(s.toBuckets());
    for (const q of QS) expect(back.quantile(q)).toBe(s.quantile(q));
    expect(s.serialize().length).toBeLessThan(60);
    expect(() => LatencySketch.deserialize('{"x":1}')).toThrow(/bad bucket/);
    expect(() => LatencySketch.deserialize('[1]')).toThrow(/object/);
  });

  it('answers values below 1 µs as 0 and is null when empty', () => {
    expect(new LatencySketch().quantile(0.5)).toBeNull();
    expect(quantileOfBuckets({}, 0.99)).toBeNull();
    const s = new LatencySketch().add(SKETCH_MIN_VALUE_MS / 2, 3).add(0);
    expect(s.quantile(0.99)).toBe(0);
    expect(() => s.add(-1)).toThrow(RangeError);
    expect(() => s.quantile(1.5)).toThrow(RangeError);
  });

  it('keeps a bounded number of buckets whatever the traffic (≤ 1 300 over 1 µs … 1 day)', () => {
    const s = new LatencySketch();
    for (let v = SKETCH_MIN_VALUE_MS; v <= 86_400_000; v *= 1.001) s.add(v);
    expect(Object.keys(s.toBuckets()).length).toBeLessThanOrEqual(1_300);
  });
});

describe('weightAtOrBelow', () => {
  it('counts the weight at or under a bound; only values within α of the bound may land on the other side', () => {
    const b: Record<string, number> = {};
    const values = [0, 10, 100, 700, 740, 749, 760, 800, 1500, 2000];
    for (const v of values) addToBuckets(b, v, 2);
    // Exact for every value farther than α (1 %) from the bound.
    expect(weightAtOrBelow(b, 500)).toBe(2 * 3);
    expect(weightAtOrBelow(b, 1000)).toBe(2 * 8);
    expect(weightAtOrBelow(b, 10_000)).toBe(2 * values.length);
    // A bucket answers within 1 % of its values: 740 (answer ≤ 747.4) is always counted, 760
    // (answer ≥ 752.5) never, 749 may go either way.
    const at750 = weightAtOrBelow(b, 750);
    expect(at750).toBeGreaterThanOrEqual(2 * 5);
    expect(at750).toBeLessThanOrEqual(2 * 6);
  });
});
