import { describe, expect, it } from 'vitest';
import { DedupCache } from '../src/dedup-cache';
import { emptyGroupDedup, isDuplicate, type GroupDedup, type IdsByMinute } from '../src/dedup';
import { IDENTITY_WORDS, IdentityIndex, identityWords } from '../src/id-index';
import { MINUTE_MS } from '../src/keys';
import { rng } from './random';

const TAG = '{t|c}';
const MINUTE = 1_700_000_040_000;
const hex = (random: () => number): string => Array.from({ length: 48 }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');

/** A group's identities (as the aggregator builds them), all in one event-time minute. */
function groupOf(ids: readonly string[]): GroupDedup {
  const d = emptyGroupDedup();
  const w = new Uint32Array(IDENTITY_WORDS);
  for (const id of ids) {
    identityWords(id, w);
    isDuplicate(d, w, 0, MINUTE + 1_000, undefined);
  }
  return d;
}

/** The hex identities of known ones, all of them in the groups' one minute. */
function hexOf(known: IdsByMinute): string[] {
  expect([...known.keys()].every((m) => m === MINUTE)).toBe(true);
  const words = known.get(MINUTE) ?? new Uint32Array(0);
  const out: string[] = [];
  for (let p = 0; p < words.length; p += IDENTITY_WORDS) out.push(Array.from(words.subarray(p, p + IDENTITY_WORDS), (x) => x.toString(16).padStart(8, '0')).join(''));
  return out;
}

const expireAt = (minute: number): number => minute + 11 * MINUTE_MS;

describe('DedupCache', () => {
  const random = rng(21);
  const first = Array.from({ length: 500 }, () => hex(random));
  const second = Array.from({ length: 300 }, () => hex(random));

  it('knows what a script applied, and nothing that it did not', () => {
    const cache = new DedupCache(1_000_000);
    // An unknown log: nothing known, nothing held; the applied script makes it exactly these identities.
    const a = cache.prepare(groupOf(first), TAG, MINUTE);
    expect(a.minutes).toHaveLength(1);
    expect(a.minutes[0]!.stamp).toBe('');
    expect(a.known.size).toBe(0);
    cache.commit(TAG, a.minutes, 's1', expireAt);
    expect(cache.size).toBe(500);

    // Half known: those are reported, the others held in the log until the script answers.
    const mixed = [...first.slice(0, 250), ...second];
    const b = cache.prepare(groupOf(mixed), TAG, MINUTE);
    expect(b.minutes[0]!.stamp).toBe('s1');
    expect(hexOf(b.known).sort()).toEqual(first.slice(0, 250).sort());
    expect(cache.size).toBe(800);

    // The script did not apply them (stale stamp, duplicates, a failure): released exactly, so
    // the same identities are new again, and the earlier ones still known.
    cache.release(b.minutes);
    expect(cache.size).toBe(500);
    const c = cache.prepare(groupOf(mixed), TAG, MINUTE);
    expect(hexOf(c.known).sort()).toEqual(first.slice(0, 250).sort());

    // Applied: the held identities stay, under the new stamp; releasing afterwards changes nothing.
    cache.commit(TAG, c.minutes, 's2', expireAt);
    cache.release(c.minutes);
    expect(cache.size).toBe(800);
    const d = cache.prepare(groupOf([...first, ...second]), TAG, MINUTE);
    expect(d.minutes[0]!.stamp).toBe('s2');
    expect(hexOf(d.known)).toHaveLength(800);
    cache.release(d.minutes);
    expect(cache.size).toBe(800);
  });

  it('forgets a log when another prepare added to it before a release, instead of guessing', () => {
    const cache = new DedupCache(1_000_000);
    const a = cache.prepare(groupOf(first), TAG, MINUTE);
    cache.commit(TAG, a.minutes, 's1', expireAt);
    const one = cache.prepare(groupOf(second.slice(0, 100)), TAG, MINUTE);
    const two = cache.prepare(groupOf(second.slice(100)), TAG, MINUTE);
    // Releasing the first cannot take out only its own identities: the log is dropped and reloaded later.
    cache.release(one.minutes);
    expect(cache.size).toBe(0);
    const next = cache.prepare(groupOf(first), TAG, MINUTE);
    expect(next.minutes[0]!.stamp).toBe('');
    expect(next.known.size).toBe(0);
    // The second's commit no longer finds the log it prepared against: nothing is claimed for it.
    cache.commit(TAG, two.minutes, 's2', expireAt);
    expect(cache.size).toBe(0);
  });

  it('lists a minute only with an identity to remember: identities the store holds do not open it', () => {
    const [a, b] = [first[0]!, first[1]!].map((id) => {
      const w = new Uint32Array(IDENTITY_WORDS);
      identityWords(id, w);
      return w;
    }) as [Uint32Array, Uint32Array];
    const held = new IdentityIndex();
    held.add(a);
    const known = new Map([[MINUTE, held]]);
    const d = emptyGroupDedup();
    expect(isDuplicate(d, a, 0, MINUTE + 1_000, known)).toBe(true);
    expect(d.byMinute.size).toBe(0);
    expect(isDuplicate(d, b, 0, MINUTE + 2_000, known)).toBe(false);
    expect(isDuplicate(d, b, 0, MINUTE + 2_000, known)).toBe(true);
    expect([...d.byMinute.keys()]).toEqual([MINUTE]);
    expect(d.byMinute.get(MINUTE)!.size).toBe(1);
    expect(d.duplicates).toBe(2);
  });

  it('loads a stored log in place of what it held', () => {
    const cache = new DedupCache(1_000_000);
    const a = cache.prepare(groupOf(first), TAG, MINUTE);
    cache.commit(TAG, a.minutes, 's1', expireAt);
    const b = cache.prepare(groupOf(second), TAG, MINUTE);
    // The script found another stamp (-3): release, then load what Redis holds.
    cache.release(b.minutes);
    const stored = Buffer.concat([Buffer.from('x'.repeat(32), 'latin1'), Buffer.from(second.slice(0, 10).join(''), 'hex')]);
    cache.load(b.minutes[0]!, TAG, stored, expireAt(MINUTE));
    expect(cache.size).toBe(10);
    const c = cache.prepare(groupOf(second), TAG, MINUTE);
    expect(c.minutes[0]!.stamp).toBe('x'.repeat(32));
    expect(hexOf(c.known).sort()).toEqual(second.slice(0, 10).sort());
  });
});
