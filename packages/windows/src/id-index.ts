import { randomInt } from 'node:crypto';
import { ID_WORDS } from '@pulsegate/events';

/**
 * 32-bit words of one span identity: trace id (4 words) + span id (2 words), big-endian as in the
 * hex; the layout of the decoder's InvocationColumns.ids, so the store reads those words as they are.
 */
export const IDENTITY_WORDS = ID_WORDS;

/**
 * Reads 8 hex characters of `s` from `at` as an unsigned 32-bit word. The strings are validated hex:
 * (c & 15) + 9 · (c >> 6) maps '0'–'9' to 0–9 and 'a'–'f' / 'A'–'F' to 10–15 without a table.
 */
function hexWord(s: string, at: number): number {
  let w = 0;
  for (let i = at; i < at + 8; i++) {
    const c = s.charCodeAt(i);
    w = (w << 4) | ((c & 15) + 9 * (c >> 6));
  }
  return w >>> 0;
}

/** Writes the identity `id` (traceId + spanId, 48 hex characters) into out[at…] as IDENTITY_WORDS words. */
export function identityWords(id: string, out: Uint32Array, at = 0): void {
  for (let i = 0; i < IDENTITY_WORDS; i++) out[at + i] = hexWord(id, 8 * i);
}

/** Identities in order (duplicates allowed), IDENTITY_WORDS words each. */
export class IdentityList {
  private buf = new Uint32Array(IDENTITY_WORDS * 8);
  private n = 0;

  get size(): number {
    return this.n;
  }

  /** Appends the identity at w[at…]. */
  push(w: Uint32Array, at = 0): void {
    if (this.n * IDENTITY_WORDS === this.buf.length) {
      const grown = new Uint32Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    const q = this.n++ * IDENTITY_WORDS;
    for (let i = 0; i < IDENTITY_WORDS; i++) this.buf[q + i] = w[at + i]!;
  }

  /** The identities' words (a view, valid until the next push). */
  words(): Uint32Array {
    return this.buf.subarray(0, this.n * IDENTITY_WORDS);
  }
}

const MULTIPLIERS = Uint32Array.from({ length: IDENTITY_WORDS }, () => (randomInt(2 ** 31) * 2 + 1) >>> 0);

/**
 * An exact set of span identities, compact: the identities' words one after another (24 B each)
 * and an open-addressing table of their positions (4 B per slot, at most half full). The hash is
 * multiply-shift with random odd multipliers drawn per process, so no input can be chosen to collide.
 */
export class IdentityIndex {
  private words = new Uint32Array(IDENTITY_WORDS * 16);
  private table = new Int32Array(32).fill(-1);
  private bits = 5;
  private n = 0;

  get size(): number {
    return this.n;
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return this.words.byteLength + this.table.byteLength;
  }

  private hash(w: Uint32Array, at: number): number {
    const m = MULTIPLIERS;
    let h = 0;
    for (let i = 0; i < IDENTITY_WORDS; i++) h = (h + Math.imul(w[at + i]!, m[i]!)) | 0;
    return h >>> (32 - this.bits);
  }

  /** The table slot holding the identity at w[at…], or the empty slot where it would go. */
  private slot(w: Uint32Array, at: number): number {
    const mask = (1 << this.bits) - 1;
    const words = this.words;
    for (let s = this.hash(w, at); ; s = (s + 1) & mask) {
      const p = this.table[s]!;
      if (p < 0) return s;
      const q = p * IDENTITY_WORDS;
      if (words[q] === w[at] && words[q + 1] === w[at + 1] && words[q + 2] === w[at + 2] && words[q + 3] === w[at + 3] && words[q + 4] === w[at + 4] && words[q + 5] === w[at + 5]) return s;
    }
  }

  /** Whether the identity at w[at…] is in the set. */
  has(w: Uint32Array, at = 0): boolean {
    return this.table[this.slot(w, at)]! >= 0;
  }

  /** Adds the identity at w[at…]; false when it was already in. */
  add(w: Uint32Array, at = 0): boolean {
    const s = this.slot(w, at);
    if (this.table[s]! >= 0) return false;
    if (this.n * IDENTITY_WORDS === this.words.length) {
      const grown = new Uint32Array(this.words.length * 2);
      grown.set(this.words);
      this.words = grown;
    }
    const q = this.n * IDENTITY_WORDS;
    for (let i = 0; i < IDENTITY_WORDS; i++) this.words[q + i] = w[at + i]!;
    this.table[s] = this.n++;
    if (this.n * 2 > this.table.length) this.rehash();
    return true;
  }

  /**
   * Removes the identities added at positions ≥ `n` (the last size - n adds), newest first. Exact
   * for linear probing: an identity placed after another's slot was added (or, after a rehash,
   * placed) later, so removing the newest one first never cuts a remaining identity's probe path.
   */
  truncate(n: number): void {
    const mask = (1 << this.bits) - 1;
    for (let p = this.n - 1; p >= n; p--) {
      let s = this.hash(this.words, p * IDENTITY_WORDS);
      while (this.table[s] !== p) s = (s + 1) & mask;
      this.table[s] = -1;
    }
    this.n = Math.min(this.n, Math.max(0, n));
  }

  /** Adds the identities stored as big-endian bytes (IDENTITY_WORDS × 4 each) in `buf` from `at`. */
  addBytes(buf: Buffer, at = 0): void {
    const w = new Uint32Array(IDENTITY_WORDS);
    for (let p = at; p + IDENTITY_WORDS * 4 <= buf.length; p += IDENTITY_WORDS * 4) {
      for (let i = 0; i < IDENTITY_WORDS; i++) w[i] = buf.readUInt32BE(p + 4 * i);
      this.add(w);
    }
  }

  private rehash(): void {
    this.bits++;
    this.table = new Int32Array(1 << this.bits).fill(-1);
    const mask = (1 << this.bits) - 1;
    for (let p = 0; p < this.n; p++) {
      let s = this.hash(this.words, p * IDENTITY_WORDS);
      while (this.table[s]! >= 0) s = (s + 1) & mask;
      this.table[s] = p;
    }
  }
}
