export { HttpError, errorBody, badRequest, notFound, unauthorized, forbidden } from './errors';
export type { ErrorBody } from './errors';
export { correlation, correlationIdOf } from './correlation';
export { errorHandler, notFoundHandler } from './error-handler';
export { SCOPES, KeyRing, parseApiKeys, hashKey, authenticate, principalOf, presentedKey, isNonLoopback } from './auth';
export type { Scope, ApiKeyEntry, Principal } from './auth';
