/**
 * Heap bytes per latency sketch: a plain `{}` against emptySketch(), for sketches of 1 – 200
 * buckets around 150 ms (prints figures; not part of the test suite). Run from the repo root:
 *   node --expose-gc --import tsx packages/windows/bench/sketch-memory.ts
 */
import { addToBuckets, emptySketch, type SketchBuckets } from '../src/index';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (see the header)');
const COUNT = 20_000;

/** Heap bytes per sketch of `buckets` distinct buckets made by `make`, all kept alive at once. */
function bytesPerSketch(make: () => SketchBuckets, buckets: number): number {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const kept: SketchBuckets[] = new Array(COUNT);
  for (let i = 0; i < COUNT; i++) {
    const s = make();
    // Latencies 150 ms × 1.0202^j: one new bucket each.
    for (let j = 0; j < buckets; j++) addToBuckets(s, 150 * Math.pow(1.0202, j - buckets / 2));
    kept[i] = s;
  }
  gc!();
  const bytes = (process.memoryUsage().heapUsed - before) / COUNT;
  if (kept.length !== COUNT) throw new Error('unreachable');
  return bytes;
}

console.log(`node ${process.version}; heap bytes per sketch (${COUNT} kept alive), by distinct buckets`);
console.log('buckets   plain {}   emptySketch()');
for (const n of [1, 5, 20, 60, 200]) {
  console.log(`${String(n).padStart(7)} ${bytesPerSketch(() => ({}), n).toFixed(0).padStart(10)} ${bytesPerSketch(emptySketch, n).toFixed(0).padStart(15)}`);
}
