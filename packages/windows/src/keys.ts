import type { ActionKind } from '@pulsegate/events';

/** Prefix of every window-store key; the digit is the layout generation. */
export const KEY_PREFIX = 'pg:w1';

/** Bucket resolutions: minute and hour. */
export type Resolution = 'm' | 'h';
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const RESOLUTION_MS: Readonly<Record<Resolution, number>> = { m: MINUTE_MS, h: HOUR_MS };

/** One series: a connector's action at one version and kind. */
export interface SeriesId {
  action: string;
  version: string;
  kind: ActionKind;
}

/** What a key names. Every key of one tenant/connector shares the hash tag `{tenant|connector}`. */
export type KeyParts =
  | { type: 'bucket'; tenant: string; connector: string; resolution: Resolution; start: number; series: SeriesId }
  | { type: 'series' | 'offsets' | 'dropped' | 'catalog' | 'generation'; tenant: string; connector: string }
  | { type: 'tenants' }
  | { type: 'resume' }
  | { type: 'connectors'; tenant: string };

const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * A label as it appears in a key; never throws. encodeURIComponent escapes '{', '}', '|', ':' and
 * '%', so no label can fake a separator or a hash tag and the key → labels mapping is one-to-one.
 * It throws URIError on a lone surrogate, which ingest rejects (labelProblem) but which must not
 * stop the store if one ever gets here: those are written `%uD800`, a form encodeURIComponent never
 * produces ('u' is not a hex digit), so the mapping stays one-to-one.
 */
export function escapeLabel(label: string): string {
  try {
    return encodeURIComponent(label);
  } catch {
    let out = '';
    let from = 0;
    for (const m of label.matchAll(LONE_SURROGATE)) {
      out += encodeURIComponent(label.slice(from, m.index)) + `%u${m[0].charCodeAt(0).toString(16).toUpperCase()}`;
      from = m.index + m[0].length;
    }
    return out + encodeURIComponent(label.slice(from));
  }
}

/** The label escapeLabel turned into `text`; malformed escapes are kept as they are (never throws). */
export function unescapeLabel(text: string): string {
  if (!text.includes('%')) return text;
  try {
    if (!text.includes('%u')) return decodeURIComponent(text);
  } catch {
    return text;
  }
  return text
    .split(/(%u[0-9A-F]{4})/)
    .map((part) => {
      if (part.startsWith('%u') && part.length === 6) return String.fromCharCode(parseInt(part.slice(2), 16));
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    })
    .join('');
}

const esc = escapeLabel;

/** Hash tag of a tenant/connector: its keys live in one Redis Cluster slot. */
export function connectorTag(tenant: string, connector: string): string {
  return `{${esc(tenant)}|${esc(connector)}}`;
}

/** Field naming a series inside the per-connector series hash. */
export function seriesField(s: SeriesId): string {
  return `${esc(s.action)}|${esc(s.version)}|${s.kind}`;
}

export function parseSeriesField(field: string): SeriesId {
  const [a, v, k] = field.split('|');
  return { action: unescapeLabel(a ?? ''), version: unescapeLabel(v ?? ''), kind: k === 'write' ? 'write' : 'read' };
}

/**
 * Key of a series-bucket in bucket layout 2 (binary records, codec.ts) from its connector's tag
 * (connectorTag) and series field (seriesField), as redisKey builds it. Type `b2`, so the
 * JSON-layout keys (legacyBucketKey) of writers before it never share a value with it.
 */
export function bucketKey(tag: string, resolution: Resolution, start: number, field: string): string {
  return `${KEY_PREFIX}:${tag}:b2:${resolution}:${start}:${field}`;
}

/**
 * Key of a series' settled minutes of one hour in layout 2: one string of entries
 * `minute of the hour (1 byte) · varint length · record` (codec.ts), one entry per minute.
 */
export function minuteArchiveKey(tag: string, hourStart: number, field: string): string {
  return `${KEY_PREFIX}:${tag}:b2:M:${hourStart}:${field}`;
}

/** Key of the same series-bucket in layout 1 (JSON segments), read until such keys expire. */
export function legacyBucketKey(tag: string, resolution: Resolution, start: number, field: string): string {
  return `${KEY_PREFIX}:${tag}:b:${resolution}:${start}:${field}`;
}

/**
 * Key of a connector's identity log of one event-time minute (dedup, see DEDUP_LUA), from its tag
 * (connectorTag). Type `dl`: the Redis sets of the first dedup release were `dd` keys, so writers
 * of both releases during a rolling upgrade never meet a key of the other type (WRONGTYPE).
 */
export function dedupKey(tag: string, minute: number): string {
  return `${KEY_PREFIX}:${tag}:dl:${minute}`;
}

/**
 * The one function that builds Redis keys (bucket keys through bucketKey), always in the order
 * prefix : {tenant|connector} : type [: resolution : bucketStart : action|version|kind].
 * Index keys (tenants, connectors of a tenant) share the tag `{idx}`; the
 * partitions' resume offsets are one hash tagged `{resume}`.
 */
export function redisKey(k: KeyParts): string {
  switch (k.type) {
    case 'bucket':
      return bucketKey(connectorTag(k.tenant, k.connector), k.resolution, k.start, seriesField(k.series));
    case 'series':
      return `${KEY_PREFIX}:${connectorTag(k.tenant, k.connector)}:series`;
    case 'offsets':
      return `${KEY_PREFIX}:${connectorTag(k.tenant, k.connector)}:offsets`;
    case 'dropped':
      return `${KEY_PREFIX}:${connectorTag(k.tenant, k.connector)}:dropped`;
    case 'catalog':
      return `${KEY_PREFIX}:${connectorTag(k.tenant, k.connector)}:catalog`;
    case 'generation':
      return `${KEY_PREFIX}:${connectorTag(k.tenant, k.connector)}:gen`;
    case 'tenants':
      return `${KEY_PREFIX}:{idx}:tenants`;
    case 'resume':
      return `${KEY_PREFIX}:{resume}:offsets`;
    case 'connectors':
      return `${KEY_PREFIX}:{idx}:connectors:${esc(k.tenant)}`;
  }
}

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/**
 * Redis Cluster slot of a key (CRC16/XMODEM of the hash tag, or of the key when it has none,
 * mod 16384), as in https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/.
 */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc & 16383;
}
