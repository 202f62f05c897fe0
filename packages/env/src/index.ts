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
