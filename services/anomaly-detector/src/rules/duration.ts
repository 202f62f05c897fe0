const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;

/** Parses "500ms", "30s", "5m", "4h", "30d" or the number 0 into milliseconds; null when malformed. */
export function parseDuration(value: unknown): number | null {
  if (value === 0 || value === '0') return 0;
  if (typeof value !== 'string') return null;
  const m = DURATION.exec(value.trim());
  if (m === null) return null;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Shortest exact text for a duration in ms ("5m", "90s", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
