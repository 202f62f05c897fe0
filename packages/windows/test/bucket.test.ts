import { describe, expect, it } from 'vitest';
import { addErrorCode, emptyBucket, mergeBucket, MAX_ERROR_CODES_PER_BUCKET, OVERFLOW_CODE } from '../src/bucket';
import { addToBuckets, bucketKeyOf } from '../src/sketch';
import { rng } from './random';

describe('per-event bucket updates equal merging one-event buckets', () => {
  it.each([1, 2, 3])('addErrorCode keeps the code cap exactly like mergeBucket (seed %i)', (seed) => {
    const random = rng(seed);
    const fast = emptyBucket();
    const merged = emptyBucket();
    // The rule written out on its own: the first MAX_ERROR_CODES_PER_BUCKET distinct codes are
    // kept, UNMAPPED always, every later code counts under OVERFLOW_CODE.
    const reference = emptyBucket();
    const kept = new Set<string>();
    // More distinct codes than the cap, plus UNMAPPED, so the overflow rule is exercised.
    for (let i = 0; i < 2_000; i++) {
      const r = random();
      const code = r < 0.1 ? 'UNMAPPED' : `CODE_${Math.floor(random() * (MAX_ERROR_CODES_PER_BUCKET + 20))}`;
      const w = random() < 0.2 ? 2.5 : 1;
      addErrorCode(fast, code, w);
      mergeBucket(merged, { c: 0, s: 0, t: 0, e: { [code]: w }, l: {} });
      if (code !== 'UNMAPPED' && !kept.has(code) && kept.size < MAX_ERROR_CODES_PER_BUCKET) kept.add(code);
      const into = code === 'UNMAPPED' || kept.has(code) ? code : OVERFLOW_CODE;
      reference.e[into] = (reference.e[into] ?? 0) + w;
    }
    expect(merged.e).toEqual(reference.e);
    expect(fast.e).toEqual(reference.e);
    expect(fast.e[OVERFLOW_CODE]).toBeGreaterThan(0);
    expect(fast.e.UNMAPPED).toBeGreaterThan(0);
  });

  it('addToBuckets files each value under bucketKeyOf, including the zero bucket and values below 1 ms', () => {
    const random = rng(9);
    const fast: Record<string, number> = {};
    const reference: Record<string, number> = {};
    const values = [0, 1e-4, 1e-3, 0.5, 0.999, 1, 1.0001, NaN, 86_400_000];
    for (let i = 0; i < 5_000; i++) values.push(Math.exp(random() * 12 - 4));
    for (const v of values) {
      addToBuckets(fast, v, 1);
      const k = bucketKeyOf(v);
      reference[k] = (reference[k] ?? 0) + 1;
    }
    expect(fast).toEqual(reference);
    expect(JSON.parse(JSON.stringify(fast))).toEqual(reference);
  });
});
