import { z } from 'zod';

/**
 * An integer environment variable for a service's zod config schema: unset or blank gives `def`;
 * anything else must be an integer within [min, max], and the error names the variable, the range
 * and the value given.
 */
export function intVar(name: string, def: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });
}

/** `REDIS_URL`-style variable: unset, blank, or a `redis://` / `rediss://` URL. */
export function redisUrlVar(name: string) {
  return z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^rediss?:\/\//.test(v), `${name} must start with redis:// or rediss://`);
}

/** `REDIS_CLUSTER_NODES`-style variable: unset, blank, or a comma list of host:port. */
export function hostPortListVar(name: string) {
  return z
    .string()
    .optional()
    .refine((v) => v === undefined || v.trim() === '' || v.split(',').every((n) => /^[^\s:,]+:\d{1,5}$/.test(n.trim())), `${name} must be a comma list of host:port`);
}
