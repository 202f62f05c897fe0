import { pino, type Logger, type DestinationStream } from 'pino';
import { serializeError } from './scrub';

export type { Logger } from 'pino';

/**
 * Paths pino replaces with "[redacted]": credentials in any header or config, and fields the
 * connector catalog classifies as PII. Wildcards cover one nesting level, as pino allows.
 */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  'apiKey',
  'apiKeys',
  'token',
  'password',
  'secret',
  '*.authorization',
  '*.apiKey',
  '*.apiKeys',
  '*.token',
  '*.password',
  '*.secret',
  '*.email',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers.cookie',

  '*.pii',
];

export interface LoggerOptions {
  /** Service name put on every line as `service`. */
  name: string;
  /** pino level; default LOG_LEVEL or "info" ("silent" under tests unless LOG_LEVEL is set). */
  level?: string;
  /** Extra paths to redact. */
  redact?: string[];
  /** Where lines go; default stdout. Tests pass a stream to inspect output. */
  destination?: DestinationStream;
  /**
   * True when every line comes from a child that binds its own `service` (the embedded start runs
   * several services in one process): the root then binds none, so no line has two. Default false.
   */
  servicePerChild?: boolean;
}

/** JSON logger with redaction (REDACT_PATHS, and `err` through serializeError); one per service. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  // `service` is the one name key of a line (pino's own `name` would repeat it).
  const opts = {
    level,
    redact: { paths: [...REDACT_PATHS, ...(options.redact ?? [])], censor: '[redacted]' },
    base: options.servicePerChild === true ? {} : { service: options.name },
    // Errors keep what explains them and lose what may hold request data (see serializeError).
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination === undefined ? pino(opts) : pino(opts, options.destination);
}
