/** Default partition count of topics created by the embedded bus (matches the Kafka mock broker). */
export const DEFAULT_PARTITIONS = 4;

/** Stable partition for a key (FNV-1a over UTF-8), used by the in-memory bus. */
export function partitionFor(key: string | null, partitions: number): number {
  if (key === null) return 0;
  let h = 0x811c9dc5;
  const bytes = Buffer.from(key, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}
