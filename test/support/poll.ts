/**
 * Polls `probe` every `everyMs` until it returns a value other than undefined; throws naming `what`
 * after `limitMs`. A bound against hanging, not a timing assertion.
 */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, limitMs = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * `until` for probes over the network: a probe that throws (a service not listening yet, a
 * connection reset while it restarts) counts as "not yet" instead of ending the wait.
 */
export function eventually<T>(probe: () => Promise<T | undefined>, what: string, limitMs = 60_000, everyMs = 250): Promise<T> {
  return until(() => probe().catch(() => undefined), what, limitMs, everyMs);
}
