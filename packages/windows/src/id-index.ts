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

const randomOdd = (): number => (randomInt(2 ** 31) * 2 + 1) >>> 0;
const MULTIPLIERS = Uint32Array.from({ length: IDENTITY_WORDS }, randomOdd);
/** A second, independent multiply-shift hash: its top bits are an entry's fingerprint. */
const FP_MULTIPLIERS = Uint32Array.from({ length: IDENTITY_WORDS }, randomOdd);

/** Bits of a table entry that hold the position (+ 1) while the set is small enough for fingerprints. */
const POSITION_BITS = 24;

/**
 * An exact set of span identities, compact: the identities' words one after another (24 B each)
 * and an open-addressing table (linear probing, at most half full) of 4 B entries. An entry is the
 * identity's position + 1 (0 = empty slot) with, in its top 7 bits, a fingerprint from a second hash
 * of the identity: a probe reads an identity's words only when the fingerprints agree (1 in 128 for
 * another identity), so a miss mostly touches the table alone. Sets that outgrow the position bits
 * (2^24 − 1 identities) drop the fingerprints and use all 31 bits for positions. Both hashes are
 * multiply-shift with random odd multipliers drawn per process, so no input can be chosen to collide.
 */
export class IdentityIndex {
  private words = new Uint32Array(IDENTITY_WORDS * 16);
  private table = new Int32Array(32);
  private bits = 5;
  private n = 0;
  /** Position bits of a table entry; the fingerprint gets the bits above them, up to bit 30. */
  private positionBits: number;
  private positionMask: number;
  private fpShift: number;

  /** `positionBits` (tests only): entries keep fingerprints until the set holds 2^positionBits − 1 identities. */
  constructor(positionBits = POSITION_BITS) {
    this.positionBits = positionBits;
    this.positionMask = 2 ** positionBits - 1;
    // The fingerprint: the second hash's top (31 − positionBits) bits.
    this.fpShift = positionBits + 1;
  }

  get size(): number {
    return this.n;
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return this.words.byteLength + this.table.byteLength;
  }

  /** The identities' words in the order they were added (a view, valid until the next add). */
  added(): Uint32Array {
    return this.words.subarray(0, this.n * IDENTITY_WORDS);
  }

  private hash(w: Uint32Array, at: number): number {
    const m = MULTIPLIERS;
    let h = 0;
    for (let i = 0; i < IDENTITY_WORDS; i++) h = (h + Math.imul(w[at + i]!, m[i]!)) | 0;
    return h >>> (32 - this.bits);
  }

  /** The identity's fingerprint, already shifted into an entry's top bits (0 once the set has no fingerprints). */
  private fingerprint(w: Uint32Array, at: number): number {
    if (this.fpShift >= 32) return 0;
    const m = FP_MULTIPLIERS;
    let h = 0;
    for (let i = 0; i < IDENTITY_WORDS; i++) h = (h + Math.imul(w[at + i]!, m[i]!)) | 0;
    return (h >>> this.fpShift) << this.positionBits;
  }

  /** The table slot holding the identity at w[at…], or the empty slot where it would go; `fp` is its fingerprint. */
  private slot(w: Uint32Array, at: number, fp: number): number {
    const mask = (1 << this.bits) - 1;
    const words = this.words;
    const table = this.table;
    const posMask = this.positionMask;
    for (let s = this.hash(w, at); ; s = (s + 1) & mask) {
      const e = table[s]!;
      if (e === 0) return s;
      if ((e & ~posMask) !== fp) continue;
      const q = ((e & posMask) - 1) * IDENTITY_WORDS;
      if (words[q] === w[at] && words[q + 1] === w[at + 1] && words[q + 2] === w[at + 2] && words[q + 3] === w[at + 3] && words[q + 4] === w[at + 4] && words[q + 5] === w[at + 5]) return s;
    }
  }

  /** Whether the identity at w[at…] is in the set. */
  has(w: Uint32Array, at = 0): boolean {
    return this.table[this.slot(w, at, this.fingerprint(w, at))]! !== 0;
  }

  /** Adds the identity at w[at…]; false when it was already in. */
  add(w: Uint32Array, at = 0): boolean {
    const fp = this.fingerprint(w, at);
    const s = this.slot(w, at, fp);
    if (this.table[s]! !== 0) return false;
    if (this.n * IDENTITY_WORDS === this.words.length) {
      const grown = new Uint32Array(this.words.length * 2);
      grown.set(this.words);
      this.words = grown;
    }
    const q = this.n * IDENTITY_WORDS;
    for (let i = 0; i < IDENTITY_WORDS; i++) this.words[q + i] = w[at + i]!;
    this.table[s] = fp | ++this.n;
    if (this.n === this.positionMask) {
      // No room left for position + 1 beside a fingerprint: positions get all 31 bits.
      this.positionBits = 31;
      this.positionMask = 0x7fffffff;
      this.fpShift = 32;
      this.rehash(this.bits);
    } else if (this.n * 2 > this.table.length) this.rehash(this.bits + 1);
    return true;
  }

  /**
   * Removes the identities added at positions ≥ `n` (the last size - n adds), newest first. Exact
   * for linear probing: an identity placed after another's slot was added (or, after a rehash,
   * placed) later, so removing the newest one first never cuts a remaining identity's probe path.
   */
  truncate(n: number): void {
    const mask = (1 << this.bits) - 1;
    const posMask = this.positionMask;
    for (let p = this.n - 1; p >= n; p--) {
      let s = this.hash(this.words, p * IDENTITY_WORDS);
      while ((this.table[s]! & posMask) !== p + 1) s = (s + 1) & mask;
      this.table[s] = 0;
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

  /** Places every identity again, in position order, in a table of 2^bits slots. */
  private rehash(bits: number): void {
    this.bits = bits;
    this.table = new Int32Array(1 << bits);
    const mask = (1 << bits) - 1;
    for (let p = 0; p < this.n; p++) {
      let s = this.hash(this.words, p * IDENTITY_WORDS);
      while (this.table[s]! !== 0) s = (s + 1) & mask;
      this.table[s] = this.fingerprint(this.words, p * IDENTITY_WORDS) | (p + 1);
    }
  }
}
