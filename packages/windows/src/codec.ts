import { addErrorCode, emptyBucket, mergeBucket, type BucketData } from './bucket';
import type { BucketIndex } from './sketch';

/**
 * Binary form of a BucketData record (bucket layout 2, see README "Memory per series"). The Lua
 * scripts in lua.ts read and write the same bytes. A record is
 *   num(c) num(s) num(t) var(#codes) { var(#bytes) code num(w) }* num(zero-bucket weight)
 *   var(#buckets) { first: zigzag(index), then var(index − previous index) ; num(w) }*
 * with sketch buckets in ascending index order. var = unsigned LEB128 varint; num(x) = var(2x) for
 * an integer 0 ≤ x < 2^48 (sample weights are mostly 1: one byte each), else the byte 0x01 and x as
 * a little-endian IEEE-754 double, so every count round-trips exactly. Records are self-delimiting,
 * so a stored value is records appended one after the other, merged in order by readers.
 */

/** Largest integer stored as a varint; larger or fractional numbers are stored as doubles. */
const MAX_VARINT_INT = 2 ** 48;

/** A growing byte buffer: records encoded one after the other (encodeRecordInto), or raw bytes. */
export class RecordWriter {
  private buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  varint(v: number): void {
    this.room(8);
    while (v >= 128) {
      this.buf[this.length++] = (v % 128) + 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  num(x: number): void {
    if (x >= 0 && x < MAX_VARINT_INT && Number.isInteger(x)) return this.varint(x * 2);
    this.room(9);
    this.buf[this.length++] = 1;
    this.buf.writeDoubleLE(x, this.length);
    this.length += 8;
  }

  /** var(#bytes) then the string's UTF-8 bytes, written in place. */
  utf8(str: string): void {
    // Short ASCII strings (error codes are) byte by byte: cheaper than a native call each.
    if (str.length <= 64) {
      let ascii = true;
      for (let i = 0; i < str.length && ascii; i++) ascii = str.charCodeAt(i) < 0x80;
      if (ascii) {
        this.varint(str.length);
        this.room(str.length);
        for (let i = 0; i < str.length; i++) this.buf[this.length++] = str.charCodeAt(i);
        return;
      }
    }
    const n = Buffer.byteLength(str, 'utf8');
    this.varint(n);
    this.room(n);
    this.buf.write(str, this.length, n, 'utf8');
    this.length += n;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** Bytes the writer holds (its buffer's size). */
  get capacity(): number {
    return this.buf.length;
  }

  /** Empties the writer for reuse, with room for at least `capacity` bytes. */
  reset(capacity: number): void {
    this.length = 0;
    if (this.buf.length < capacity) this.buf = Buffer.allocUnsafe(capacity);
  }
}

/**
 * RecordWriters reused across script calls, so a store does not take fresh memory for its
 * arguments on every call (fresh pages cost a page fault each, and their buffers GC work). A writer
 * goes back only once its call was answered: Redis replied, so the client has written the command
 * and will never send it again. A call that failed keeps its writer (it may still be queued).
 */
export class WriterPool {
  private readonly free: RecordWriter[] = [];

  /** Keeps at most `keep` writers of at most `maxBytes` each. */
  constructor(
    private readonly keep = 4,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {}

  take(capacity: number): RecordWriter {
    const w = this.free.pop();
    if (w === undefined) return new RecordWriter(capacity);
    w.reset(capacity);
    return w;
  }

  give(...writers: RecordWriter[]): void {
    for (const w of writers) if (this.free.length < this.keep && w.capacity <= this.maxBytes) this.free.push(w);
  }
}

/** Counts, error codes and latency buckets of a record to encode (BucketData or a delta's Map sketch). */
export interface RecordSource {
  c: number;
  s: number;
  t: number;
  e: Record<string, number>;
  l: Map<BucketIndex, number> | Record<string, number>;
}

/** Encodes one record (see the layout above). Error codes keep their insertion order. */
export function encodeRecord(b: RecordSource): Buffer {
  const w = new RecordWriter();
  encodeRecordInto(w, b);
  return w.result();
}

/**
 * Appends one record to `w` (what encodeRecord returns, without a buffer per record: a store call
 * encodes all its records into one writer and sends its bytes as they are).
 */
export function encodeRecordInto(w: RecordWriter, b: RecordSource): void {
  w.num(b.c);
  w.num(b.s);
  w.num(b.t);
  let codes = 0;
  for (const _code in b.e) codes++;
  w.varint(codes);
  for (const code in b.e) {
    w.utf8(code);
    w.num(b.e[code]!);
  }
  // The sketch's bucket indices sorted in a reused typed array, then each one's weight looked up
  // again: nothing allocated per bucket.
  let n = 0;
  let zero = 0;
  const map = b.l instanceof Map ? b.l : null;
  const obj = b.l instanceof Map ? null : b.l;
  if (map !== null) {
    for (const k of map.keys()) {
      if (k === 'z') zero += map.get(k)!;
      else n = pushIndex(n, k);
    }
  } else {
    for (const k in obj) {
      if (k === 'z') zero += obj[k]!;
      else n = pushIndex(n, Number(k));
    }
  }
  w.num(zero);
  const indices = sortScratch.subarray(0, n).sort();
  w.varint(n);
  let prev = 0;
  for (let j = 0; j < n; j++) {
    const i = indices[j]!;
    w.varint(j === 0 ? (i >= 0 ? 2 * i : -2 * i - 1) : i - prev);
    prev = i;
    w.num(map !== null ? map.get(i)! : obj![i]!);
  }
}

/** Bucket indices of the record being encoded (encodeRecordInto; grown as needed, never shrunk). */
let sortScratch: Float64Array<ArrayBuffer> = new Float64Array(256);

function pushIndex(n: number, index: number): number {
  sortScratch = grown(sortScratch, n + 1, n);
  sortScratch[n] = index;
  return n + 1;
}

class Reader {
  pos = 0;
  constructor(private buf: Buffer) {}

  /** Reads `buf` from its start (one Reader serves many values). */
  reset(buf: Buffer): this {
    this.buf = buf;
    this.pos = 0;
    return this;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let v = 0;
    let m = 1;
    for (let n = 0; n < 8; n++) {
      const b = this.byte();
      if (b < 128) return v + b * m;
      v += (b - 128) * m;
      m *= 128;
    }
    throw new Error('bucket record: varint too long');
  }

  num(): number {
    const v = this.varint();
    if (v % 2 === 0) return v / 2;
    if (v !== 1 || this.pos + 8 > this.buf.length) throw new Error('bucket record: bad number');
    const x = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return x;
  }

  text(n: number): string {
    if (this.pos + n > this.buf.length) throw new Error('bucket record: truncated');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new Error('bucket record: truncated');
    return this.buf[this.pos++]!;
  }
}

/** A record's error codes (count, then code and weight each; a repeated code keeps its last weight), or null when it has none. */
function readCodes(r: Reader): Record<string, number> | null {
  const codes = r.varint();
  if (codes === 0) return null;
  const e: Record<string, number> = {};
  for (let i = 0; i < codes; i++) {
    const code = r.text(r.varint());
    e[code] = r.num();
  }
  return e;
}

function readRecord(r: Reader): BucketData {
  const b = emptyBucket();
  b.c = r.num();
  b.s = r.num();
  b.t = r.num();
  b.e = readCodes(r) ?? b.e;
  const zero = r.num();
  if (zero > 0) b.l.z = zero;
  const n = r.varint();
  let idx = 0;
  for (let i = 0; i < n; i++) {
    const v = r.varint();
    idx = i === 0 ? (v % 2 === 0 ? v / 2 : -(v + 1) / 2) : idx + v;
    b.l[idx] = r.num();
  }
  return b;
}

/** Decodes one record (throws on trailing bytes). */
export function decodeRecord(buf: Buffer): BucketData {
  const r = new Reader(buf);
  const b = readRecord(r);
  if (!r.done) throw new Error('bucket record: trailing bytes');
  return b;
}

/** A stored layout-2 value: its records merged in order (mergeBucket's rule, as the Lua compaction). */
export function decodeBucketValue(buf: Buffer): BucketData {
  const r = new Reader(buf);
  let acc: BucketData | undefined;
  while (!r.done) {
    const b = readRecord(r);
    if (acc === undefined) acc = b;
    else mergeBucket(acc, b);
  }
  return acc ?? emptyBucket();
}

/** Float64Array with room for `n` values, keeping the first `keep`. */
function grown(a: Float64Array<ArrayBuffer>, n: number, keep: number): Float64Array<ArrayBuffer> {
  if (n <= a.length) return a;
  const next = new Float64Array(Math.max(n, a.length * 2));
  next.set(a.subarray(0, keep));
  return next;
}

/**
 * A stored layout-2 value decoded into reusable arrays rather than a BucketData of its own, for
 * readers that only add buckets up (readTotals through WindowStore.readBuckets): a decoded
 * BucketData costs a few KiB, because V8 backs its sketch's numeric keys with an array as long as
 * the largest index (≈ 250 – 400 for latencies of 0.1 – 1 s), all of it garbage a moment later;
 * this allocates nothing per value (an object only for error codes). `decode(buf)` then
 * `addTo(acc)` is mergeBucket(acc, decodeBucketValue(buf)), with the same additions in the same
 * order, so sums of fractional weights and the error-code cap come out identical.
 */
export class DecodedBucket {
  c = 0;
  s = 0;
  t = 0;
  /** Error codes as decodeBucketValue builds them; null when no record has any. */
  e: Record<string, number> | null = null;
  /** Zero-bucket weight, present when a record had one > 0 (as `l.z`). */
  private zero = 0;
  private hasZero = false;
  /** Sketch buckets, ascending index: n indices and weights. */
  private n = 0;
  private idx = new Float64Array(64);
  private w = new Float64Array(64);
  /** The record being read (records after the first) and the merge target, swapped with idx/w. */
  private rn = 0;
  private ridx = new Float64Array(64);
  private rw = new Float64Array(64);
  private tidx = new Float64Array(64);
  private tw = new Float64Array(64);
  private readonly reader = new Reader(Buffer.alloc(0));

  /** Decodes a stored value (its records merged in order, as decodeBucketValue); an empty value is an empty bucket. */
  decode(buf: Buffer): this {
    this.c = this.s = this.t = 0;
    this.e = null;
    this.zero = 0;
    this.hasZero = false;
    this.n = 0;
    const r = this.reader.reset(buf);
    for (let first = true; !r.done; first = false) {
      if (first) this.readFirst(r);
      else this.readMore(r);
    }
    this.reader.reset(EMPTY);
    return this;
  }

  /** Adds the decoded value into `into` in place: mergeBucket(into, decodeBucketValue(buf)). */
  addTo(into: BucketData): BucketData {
    into.c += this.c;
    into.s += this.s;
    into.t += this.t;
    const e = this.e;
    if (e !== null) for (const code in e) addErrorCode(into, code, e[code]!);
    const l = into.l;
    // The zero bucket first, then ascending indices: the order mergeBuckets meets a decoded value's keys in.
    if (this.hasZero) l.z = (l.z ?? 0) + this.zero;
    const { idx, w } = this;
    for (let i = 0; i < this.n; i++) {
      const k = idx[i]!;
      l[k] = (l[k] ?? 0) + w[i]!;
    }
    return into;
  }

  /** The first record (readRecord): assigned as read. */
  private readFirst(r: Reader): void {
    this.c = r.num();
    this.s = r.num();
    this.t = r.num();
    this.e = readCodes(r);
    const zero = r.num();
    if (zero > 0) {
      this.zero = zero;
      this.hasZero = true;
    }
    this.n = this.readSketch(r, 'main');
  }

  /** A further record (readRecord, then mergeBucket into what came before). */
  private readMore(r: Reader): void {
    this.c += r.num();
    this.s += r.num();
    this.t += r.num();
    const rec = readCodes(r);
    if (rec !== null) {
      const into = { e: (this.e ??= {}) };
      for (const code in rec) addErrorCode(into, code, rec[code]!);
    }
    const zero = r.num();
    if (zero > 0) {
      this.zero = this.hasZero ? this.zero + zero : 0 + zero;
      this.hasZero = true;
    }
    this.rn = this.readSketch(r, 'record');
    // Sorted merge of the two index lists; a shared index adds (mergeBuckets: (into[k] ?? 0) + from[k]).
    const total = this.n + this.rn;
    this.tidx = grown(this.tidx, total, 0);
    this.tw = grown(this.tw, total, 0);
    const { idx, w, ridx, rw, tidx, tw } = this;
    let a = 0;
    let b = 0;
    let o = 0;
    while (a < this.n || b < this.rn) {
      if (b >= this.rn || (a < this.n && idx[a]! < ridx[b]!)) {
        tidx[o] = idx[a]!;
        tw[o++] = w[a++]!;
      } else if (a >= this.n || ridx[b]! < idx[a]!) {
        tidx[o] = ridx[b]!;
        tw[o++] = 0 + rw[b++]!;
      } else {
        tidx[o] = idx[a]!;
        tw[o++] = w[a++]! + rw[b++]!;
      }
    }
    this.tidx = idx;
    this.tw = w;
    this.idx = tidx;
    this.w = tw;
    this.n = o;
  }

  /** Reads a record's sketch buckets into idx/w ('main') or ridx/rw; a repeated index keeps its last weight (readRecord assigns). */
  private readSketch(r: Reader, into: 'main' | 'record'): number {
    const count = r.varint();
    let idx: Float64Array<ArrayBuffer>;
    let w: Float64Array<ArrayBuffer>;
    if (into === 'main') {
      idx = this.idx = grown(this.idx, count, 0);
      w = this.w = grown(this.w, count, 0);
    } else {
      idx = this.ridx = grown(this.ridx, count, 0);
      w = this.rw = grown(this.rw, count, 0);
    }
    let k = 0;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const v = r.varint();
      if (i > 0 && v === 0) {
        w[k - 1] = r.num();
        continue;
      }
      at = i === 0 ? (v % 2 === 0 ? v / 2 : -(v + 1) / 2) : at + v;
      idx[k] = at;
      w[k++] = r.num();
    }
    return k;
  }
}

const EMPTY = Buffer.alloc(0);

/** Number of records in a stored layout-2 value (1 once compacted). */
export function countRecords(buf: Buffer): number {
  const r = new Reader(buf);
  let n = 0;
  for (; !r.done; n++) readRecord(r);
  return n;
}

/** One archive entry (see minuteArchiveKey): the minute of the hour, then the record with its length. */
export function encodeArchiveEntry(minuteOfHour: number, record: Buffer): Buffer {
  const w = new RecordWriter();
  w.varint(minuteOfHour);
  w.varint(record.length);
  w.bytes(record);
  return w.result();
}

/** The entries of a minute archive in stored order: minute of the hour and its record bytes. */
export function archiveEntries(buf: Buffer): Array<{ minute: number; record: Buffer }> {
  const r = new Reader(buf);
  const out: Array<{ minute: number; record: Buffer }> = [];
  while (!r.done) {
    const minute = r.varint();
    const len = r.varint();
    if (minute > 59 || r.pos + len > buf.length) throw new Error('minute archive: bad entry');
    out.push({ minute, record: buf.subarray(r.pos, r.pos + len) });
    r.pos += len;
  }
  return out;
}

/** A minute archive: per minute of the hour, its entries' records merged in order. */
export function decodeMinuteArchive(buf: Buffer): Map<number, BucketData> {
  const out = new Map<number, BucketData>();
  for (const { minute, record } of archiveEntries(buf)) {
    const b = decodeBucketValue(record);
    const cur = out.get(minute);
    out.set(minute, cur === undefined ? b : mergeBucket(cur, b));
  }
  return out;
}
