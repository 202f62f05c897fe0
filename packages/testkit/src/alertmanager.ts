import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { startHttpBinary } from './http-binary';

/** Debian's Alertmanager binary (package prometheus-alertmanager). */
export const ALERTMANAGER_BINARY = 'prometheus-alertmanager';

/** A running Alertmanager started by the harness. */
export interface AlertmanagerHandle {
  /** Base URL, e.g. http://127.0.0.1:PORT (the v2 API is under /api/v2). */
  url: string;
  pid: number;
  /** Stops the process by PID and removes its storage directory. Idempotent. */
  stop(): Promise<void>;
}

// One route to a receiver without integrations: the alerts are kept and served by the API only.
const CONFIG = `route:\n  receiver: keep\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: keep\n`;

/**
 * Starts `prometheus-alertmanager` on a free loopback port with a temporary storage directory and
 * clustering off, and waits until it answers /-/ready (default 30 s).
 */
export async function startAlertmanager(options: { readyTimeoutMs?: number } = {}): Promise<AlertmanagerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'pulsegate-alertmanager-'));
  writeFileSync(join(dir, 'alertmanager.yml'), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  return startHttpBinary(ALERTMANAGER_BINARY, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
  ], url, dir, options.readyTimeoutMs);
}
