import { LATENCY_BOUNDS_MS } from '@pulsegate/events';
import { z } from 'zod';
import { parseDuration } from '../rules/duration';
import { BLOCK_MS, DEFAULT_BURN_ALERTS, SLO_NAMES, type BurnAlertSet, type SloOverride } from './objectives';

const label = z.string().min(1).max(256);
const blockDuration = (min: number, max: number) =>
  z.string().refine(
    (v) => {
      const ms = parseDuration(v);
      return ms !== null && ms >= min && ms <= max && ms % BLOCK_MS === 0;
    },
    { message: `must be a duration that is a multiple of 5m, between ${min / 60_000}m and ${max / 86_400_000}d` },
  );
const bound = z.number().refine((v) => LATENCY_BOUNDS_MS.includes(v), { message: `must be one of ${LATENCY_BOUNDS_MS.join(', ')} (ms)` });

/** Schema of one `slos:` entry of the rules file. */
export const sloOverrideSchema = z.strictObject({
  slo: z.enum(SLO_NAMES),
  match: z.strictObject({ tenant: label.optional(), connector: label.optional(), action: label.optional(), kind: z.enum(['read', 'write']).optional() }).optional(),
  objective: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1 (100 % leaves no error budget)').optional(),
  window: blockDuration(3_600_000, 90 * 86_400_000).optional(),
  threshold: z.union([bound, z.strictObject({ read: bound, write: bound })]).optional(),
  disabled: z.boolean().optional(),
});

const burnWindowSchema = z.strictObject({ long: blockDuration(BLOCK_MS, 30 * 86_400_000), short: blockDuration(BLOCK_MS, 30 * 86_400_000), factor: z.number().gt(0).max(1000) });

/** Schema of one `burn_alerts:` entry (the list replaces the workbook defaults). */
export const burnAlertSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be 1-32 of a-z 0-9 _ - starting with a letter'),
  severity: z.enum(['info', 'warning', 'critical']),
  windows: z.array(burnWindowSchema).min(1).max(8),
  min_calls: z.number().int().min(1).max(1e9).optional(),
  min_bad_events: z.number().int().min(1).max(1e9).optional(),
});

type SloOverrideShape = z.infer<typeof sloOverrideSchema>;
type BurnAlertShape = z.infer<typeof burnAlertSchema>;

/** Rule-level problems zod cannot see (path relative to the file root, message). */
export function sloCrossChecks(slos: readonly SloOverrideShape[], burns: readonly BurnAlertShape[]): Array<{ path: Array<string | number>; message: string }> {
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  slos.forEach((o, i) => {
    if (o.threshold !== undefined && o.slo !== 'latency') out.push({ path: ['slos', i, 'threshold'], message: `threshold applies to the latency SLO only, not ${o.slo}` });
  });
  const names = new Set<string>();
  burns.forEach((b, i) => {
    if (names.has(b.name)) out.push({ path: ['burn_alerts', i, 'name'], message: `duplicate burn alert name ${b.name}` });
    names.add(b.name);
    b.windows.forEach((w, j) => {
      if (parseDuration(w.short)! >= parseDuration(w.long)!) out.push({ path: ['burn_alerts', i, 'windows', j, 'short'], message: 'short window must be shorter than the long window' });
    });
  });
  return out;
}

/** A validated `slos:` entry as an override (line filled in by the caller). */
export function toSloOverride(o: SloOverrideShape, line: number): SloOverride {
  const set: SloOverride['set'] = {};
  if (o.objective !== undefined) set.objective = o.objective;
  if (o.window !== undefined) set.windowMs = parseDuration(o.window)!;
  if (o.threshold !== undefined) set.thresholdMs = typeof o.threshold === 'number' ? { read: o.threshold, write: o.threshold } : o.threshold;
  if (o.disabled !== undefined) set.disabled = o.disabled;
  return { slo: o.slo, match: { ...(o.match ?? {}) }, set, line };
}

/** The validated `burn_alerts:` list, or the workbook defaults when absent. */
export function toBurnAlerts(list: readonly BurnAlertShape[] | undefined): BurnAlertSet[] {
  if (list === undefined) return DEFAULT_BURN_ALERTS.map((b) => ({ ...b, windows: b.windows.map((w) => ({ ...w })) }));
  return list.map((b) => ({
    name: b.name,
    severity: b.severity,
    windows: b.windows.map((w) => ({ longMs: parseDuration(w.long)!, shortMs: parseDuration(w.short)!, factor: w.factor })),
    minCalls: b.min_calls ?? 50,
    minBadEvents: b.min_bad_events ?? 3,
  }));
}
