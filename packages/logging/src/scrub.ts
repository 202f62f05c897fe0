/**
 * Query parameters whose values are credentials or personal data (compared case-insensitively,
 * `-` and `_` ignored): never logged, never put on spans.
 */
export const SECRET_QUERY_PARAMS: readonly string[] = ['api_key', 'apikey', 'key', 'token', 'access_token', 'id_token', 'refresh_token', 'auth', 'authorization', 'password', 'passwd', 'secret', 'client_secret', 'sig', 'signature', 'credential', 'session', 'code', 'email'];

const SECRET_SET = new Set(SECRET_QUERY_PARAMS.map((p) => p.replace(/[-_]/g, '').toLowerCase()));

/** True when a query parameter (or header / field) name may carry a secret. */
export function isSecretName(name: string): boolean {
  const n = name.replace(/[-_]/g, '').toLowerCase();
  return SECRET_SET.has(n) || /(?:key|token|secret|password|passwd|signature|credential|cookie|authorization)$/.test(n);
}

/**
 * `text` with the value of every query parameter that may carry a secret replaced by
 * "[redacted]", wherever a `?` or `&` introduces it (URLs, paths, messages quoting a URL).
 */
export function redactQuery(text: string): string {
  return text.replace(/([?&;])([^=&#\s?;"']+)=([^&#\s"';]*)/g, (all, sep: string, name: string) => (isSecretName(safeDecode(name)) ? `${sep}${name}=[redacted]` : all));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** The path of a request target without its query string (what request logs show). */
export function pathOnly(url: string): string {
  const q = url.search(/[?#]/);
  return q < 0 ? url : url.slice(0, q);
}

/**
 * pino serializer for `err`: type, message, stack, code, status and retriable, with secret query
 * values scrubbed from the text, and the cause chain (3 deep). Other properties are dropped: body
 * parsers, HTTP clients and Node's parser attach request bodies, raw packets and headers.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? redactQuery(err) : err;
  const e = err as Error & { code?: unknown; status?: unknown; statusCode?: unknown; retriable?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: redactQuery(e.message) };
  if (e.stack !== undefined) out.stack = redactQuery(e.stack);
  for (const k of ['code', 'status', 'statusCode', 'retriable'] as const) {
    const v = e[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
  return out;
}
