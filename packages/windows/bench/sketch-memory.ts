/**
 * Heap bytes per latency sketch, for sketches of 1 – 200 buckets around 150 ms: the plain object
 * stored and merged sketches use (SketchBuckets) against the Map pre-aggregation's deltas use
 * (DeltaData.l). Prints figures; not part of the test suite. Run from the repo root:
 *   node --expose-gc --import tsx packages/windows/bench/sketch-memory.ts
 */
import { addToBuckets, bucketIndexOf, type BucketIndex, type SketchBuckets } from '../src/index';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (see the header)');
const COUNT = 20_000;

/** Heap bytes per sketch of `buckets` distinct buckets made by `make` and filled by `add`, all kept alive at once. */
function bytesPerSketch<S>(make: () => S, add: (s: S, valueMs: number) => void, buckets: number): number {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const kept: S[] = new Array(COUNT);
  for (let i = 0; i < COUNT; i++) {
    const s = make();
    // Latencies 150 ms × 1.0202^j: one new bucket each.
    for (let j = 0; j < buckets; j++) add(s, 150 * Math.pow(1.0202, j - buckets / 2));
    kept[i] = s;
  }
  gc!();
  const bytes = (process.memoryUsage().heapUsed - before) / COUNT;
  if (kept.length !== COUNT) throw new Error('unreachable');
  return bytes;
}

const addToMap = (m: Map<BucketIndex, number>, v: number): void => {
  const k = bucketIndexOf(v);
  m.set(k, (m.get(k) ?? 0) + 1);
};

console.log(`node ${process.version}; heap bytes per sketch (${COUNT} kept alive), by distinct buckets`);
console.log('buckets   plain {}   Map (deltas)');
for (const n of [1, 5, 20, 60, 200]) {
  const plain = bytesPerSketch((): SketchBuckets => ({}), (s, v) => addToBuckets(s, v), n);
  const map = bytesPerSketch(() => new Map<BucketIndex, number>(), addToMap, n);
  console.log(`${String(n).padStart(7)} ${plain.toFixed(0).padStart(10)} ${map.toFixed(0).padStart(14)}`);
}
