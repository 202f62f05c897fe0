import type { z } from 'zod';
import { badRequest, type HttpError } from '@pulsegate/http-kit';

/** A zod failure as a 400 whose message names the first offending field; all issues in details. */
export function toBadRequest(error: z.ZodError, prefix = ''): HttpError {
  const issues = error.issues.slice(0, 20).map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
    const message = i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message;
    return { field: path === '' ? '(body)' : path, message };
  });
  const first = issues[0] ?? { field: '(body)', message: 'invalid' };
  return badRequest(`${first.field}: ${first.message}`, issues);
}

/** Parses `value` with `schema` or throws a 400 naming the field. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, prefix = ''): z.infer<T> {
  if (value === undefined) throw badRequest('request body must be a JSON object sent with Content-Type: application/json');
  const r = schema.safeParse(value);
  if (!r.success) throw toBadRequest(r.error, prefix);
  return r.data;
}
