import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

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

/** A browser with a profile of its own: a fresh user-data-dir from mkdtemp, removed on close. */
export interface Profile {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches chromium on a fresh profile (its own cookies and storage: one browser user). */
export async function launchProfile(): Promise<Profile> {
  const dir = await mkdtemp(join(tmpdir(), 'pulsegate-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 60_000, viewport: { width: 1400, height: 1800 } });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Signs the page's user in through the dashboard's form and waits until the data is drawn. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.locator('#signin-key').waitFor({ state: 'visible', timeout: 30_000 });
  await page.fill('#signin-key', key);
  await page.click('#signin button[type="submit"]');
  await page.locator('body[data-state="loaded"]').waitFor({ timeout: 30_000 });
}
