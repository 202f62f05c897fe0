import { z } from 'zod';
import { badRequest } from '@pulsegate/http-kit';
import { CANARY_WINDOWS, MAX_CANARY_RANGE_MS, type CanaryWindow } from '../telemetry/aggregator';

const Time = z.union([z.number().int().min(0), z.string().max(64)]);

/** The window fields a gate request (body, Flagger metadata) may carry; `from`/`to` are epoch ms or ISO 8601. */
export const WindowFields = z.object({
  window: z.string().max(16).optional(),
  from: Time.optional(),
  to: Time.optional(),
});
type Fields = z.infer<typeof WindowFields>;

function time(v: number | string, name: string): number {
  const t = typeof v === 'number' ? v : /^\d{1,16}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw badRequest(`${name} must be epoch milliseconds or an ISO 8601 date-time, got ${JSON.stringify(String(v).slice(0, 64))}`);
  return t;
}

function fromQuery(query: Record<string, unknown>): Fields {
  const out: Fields = {};
  for (const name of ['window', 'from', 'to'] as const) {
    const v = query[name];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length > 64) throw badRequest(`query parameter ${name} must be given once, at most 64 characters`);
    out[name] = v;
  }
  return out;
}

/**
 * The canary window of a gate request, from the body (or Flagger metadata) or the query string
 * (`?window=24h`, `?from=…&to=…`, for webhooks whose body cannot be shaped), not both. A named
 * window (1m … 30d) ends now; from/to is [from, to) of at most 30 days, not in the future.
 * Undefined when none is given. Errors are 400s naming the field.
 */
export function canaryWindowOf(body: Fields, query: Record<string, unknown>, now: number): CanaryWindow | undefined {
  const q = fromQuery(query);
  const inBody = Object.values(body).some((v) => v !== undefined);
  const inQuery = Object.values(q).some((v) => v !== undefined);
  if (inBody && inQuery) throw badRequest('give the canary window in the body or in the query string, not both');
  const f = inQuery ? q : body;
  if (f.window !== undefined) {
    if (f.from !== undefined || f.to !== undefined) throw badRequest('give either window or from/to, not both');
    if (!(CANARY_WINDOWS as readonly string[]).includes(f.window)) throw badRequest(`window must be one of ${CANARY_WINDOWS.join(', ')}`);
    return { window: f.window };
  }
  if (f.from === undefined && f.to === undefined) return undefined;
  if (f.from === undefined || f.to === undefined) throw badRequest('from and to go together');
  const from = time(f.from, 'from');
  const to = time(f.to, 'to');
  if (from >= to) throw badRequest('from must be before to');
  if (to - from > MAX_CANARY_RANGE_MS) throw badRequest('from/to may span at most 30 days');
  if (from > now) throw badRequest('from is in the future');
  return { from, to };
}
