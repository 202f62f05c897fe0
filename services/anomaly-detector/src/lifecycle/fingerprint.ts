import { createHash } from 'node:crypto';

/**
 * Identity of an alert: SHA-256 over its labels sorted by name (name and value separated by bytes
 * that cannot occur in label text), first 16 hex characters, as Alertmanager fingerprints are 64-bit.
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(labels).sort()) h.update(name).update('\u0000').update(labels[name]!).update('\u0001');
  return h.digest('hex').slice(0, 16);
}

/** Shape of a fingerprint in URLs. */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;
