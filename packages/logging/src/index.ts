export { createLogger, REDACT_PATHS } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { SECRET_QUERY_PARAMS, isSecretName, redactQuery, pathOnly, serializeError } from './scrub';
