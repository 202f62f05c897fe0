import { describe, expect, it } from 'vitest';
import { IDENTITY_WORDS, IdentityIndex, identityWords } from '../src/id-index';
import { identityBytes } from '../src/dedup';
import { rng } from './random';

const hex = (random: () => number, chars: number): string => Array.from({ length: chars }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');

describe('IdentityIndex', () => {
  it('answers exactly like a Set of the hex identities, across growth, with near-identical identities', () => {
    const random = rng(5);
    const index = new IdentityIndex();
    const reference = new Set<string>();
    const w = new Uint32Array(IDENTITY_WORDS);
    const base = hex(random, 48);
    for (let i = 0; i < 20_000; i++) {
      // A third differ from one shared identity in a single character: neighbours must stay apart.
      let id = hex(random, 48);
      if (i % 3 === 0) {
        const at = Math.floor(random() * 48);
        id = base.slice(0, at) + hex(random, 1) + base.slice(at + 1);
      }
      if (i % 5 === 0 && reference.size > 0) id = [...reference][Math.floor(random() * reference.size)]!;
      identityWords(id, w);
      expect(index.has(w)).toBe(reference.has(id));
      expect(index.add(w)).toBe(!reference.has(id));
      reference.add(id);
      expect(index.size).toBe(reference.size);
    }
    for (let i = 0; i < 2_000; i++) {
      const id = hex(random, 48);
      identityWords(id, w);
      expect(index.has(w)).toBe(reference.has(id));
    }
  });

  it('stays exact when it outgrows the fingerprints (positions take all the bits), including truncate across that change', () => {
    const random = rng(21);
    // 4 position bits: fingerprints until 15 identities, then positions only.
    const index = new IdentityIndex(4);
    const ids: string[] = [];
    const w = new Uint32Array(IDENTITY_WORDS);
    for (let i = 0; i < 3_000; i++) {
      const id = i % 4 === 0 && ids.length > 0 ? ids[Math.floor(random() * ids.length)]! : hex(random, 48);
      identityWords(id, w);
      const fresh = !ids.includes(id);
      expect(index.add(w)).toBe(fresh);
      if (fresh) ids.push(id);
    }
    expect(index.size).toBe(ids.length);
    // Back across the switch: exactly the first 10 stay.
    index.truncate(10);
    expect(index.size).toBe(10);
    ids.forEach((id, i) => {
      identityWords(id, w);
      expect(index.has(w)).toBe(i < 10);
    });
  });

  it('reads upper-case hex like lower-case, and identities back from their stored bytes', () => {
    const random = rng(9);
    const ids = Array.from({ length: 300 }, () => hex(random, 48));
    const words = new Uint32Array(ids.length * IDENTITY_WORDS);
    ids.forEach((id, i) => identityWords(id.toUpperCase(), words, i * IDENTITY_WORDS));
    const bytes = identityBytes(words);
    expect(bytes.toString('hex')).toBe(ids.join(''));
    const index = new IdentityIndex();
    index.addBytes(Buffer.concat([Buffer.from('x'.repeat(32)), bytes]), 32);
    expect(index.size).toBe(300);
    const w = new Uint32Array(IDENTITY_WORDS);
    for (const id of ids) {
      identityWords(id, w);
      expect(index.has(w)).toBe(true);
    }
  });

  it('truncate takes out exactly the newest identities, across rehashes and colliding probe paths', () => {
    const random = rng(13);
    const index = new IdentityIndex();
    const order: string[] = [];
    const w = new Uint32Array(IDENTITY_WORDS);
    const add = (id: string): void => {
      identityWords(id, w);
      if (index.add(w)) order.push(id);
    };
    const check = (): void => {
      const held = new Set(order);
      expect(index.size).toBe(held.size);
      for (const id of held) {
        identityWords(id, w);
        expect(index.has(w)).toBe(true);
      }
    };
    const removed: string[] = [];
    for (let round = 0; round < 60; round++) {
      const before = index.size;
      // Some rounds grow the table past a rehash; a few identities repeat earlier ones.
      const n = 1 + Math.floor(random() * (round % 7 === 0 ? 3_000 : 200));
      for (let i = 0; i < n; i++) add(i % 11 === 0 && order.length > 0 ? order[Math.floor(random() * order.length)]! : hex(random, 48));
      if (round % 2 === 0) {
        removed.push(...order.splice(before));
        index.truncate(before);
      }
      check();
      for (const id of removed.slice(-500)) {
        identityWords(id, w);
        expect(index.has(w)).toBe(order.includes(id));
      }
    }
    expect(removed.length).toBeGreaterThan(1_000);
    // Taken-out identities can be added again.
    for (const id of removed.slice(0, 100)) add(id);
    check();
  });
});
