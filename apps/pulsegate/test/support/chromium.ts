import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (apt-get install -y chromium); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where browser tests leave screenshots, for a person to look at after a run. */
export const SHOTS = join(tmpdir(), 'pulsegate-dashboard-test');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Whether browser suites can run: skip with one loud line when chromium is missing, but throw under
 * CI=true, where a skipped browser test would let CI pass without the check.
 */
export function chromiumStatus(): { skip: boolean } {
  if (existsSync(CHROMIUM_PATH)) return { skip: false };
  const line = `browser suite needs chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${line}`);
  process.stderr.write(`\n!!! SKIPPING ${line}\n\n`);
  return { skip: true };
}

/** Launches headless chromium through playwright-core with the project's flags. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 60_000 });
}
