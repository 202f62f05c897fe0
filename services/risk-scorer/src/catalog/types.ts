import { z } from 'zod';
import { parseSemver } from '@pulsegate/events';

/** Longest connector name, owner or scope, in characters. */
export const MAX_NAME_LENGTH = 128;
/** Most versions or scopes per connector entry. */
export const MAX_LIST_LENGTH = 1000;

const name = z.string().min(1).max(MAX_NAME_LENGTH).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');
const epochMs = z.number().int().min(0).max(8.64e15).nullable().default(null);
const semver = z.string().max(128).refine((v) => parseSemver(v) !== null, { message: 'must be a strict semantic version such as 1.2.0 (https://semver.org)' });

/** Body of PUT /v1/catalog/connectors/{connector}/versions/{version}. Times are epoch ms. */
export const VersionBody = z.strictObject({
  releasedAt: epochMs,
  deprecatedAt: epochMs,
  sunsetAt: epochMs,
});

/** One catalog version (the path's version plus its lifecycle dates). */
export const VersionEntry = VersionBody.extend({ version: semver });

/** Body of PUT /v1/catalog/connectors/{connector}. */
export const ConnectorBody = z.strictObject({
  owner: z.string().min(1).max(MAX_NAME_LENGTH),
  classification: z.enum(['Public', 'Confidential', 'PII']),
  authMethod: z.enum(['OAuth2', 'ApiKey', 'Basic', 'HMAC', 'OnBehalfOf', 'None']),
  scopes: z.array(z.string().min(1).max(MAX_NAME_LENGTH)).max(MAX_LIST_LENGTH).default([]),
  versions: z.array(VersionEntry).max(MAX_LIST_LENGTH).default([]),
});

export type ConnectorInput = z.infer<typeof ConnectorBody>;
export type VersionInput = z.infer<typeof VersionEntry>;

/** A connector as stored and served. */
export interface ConnectorEntry {
  connector: string;
  owner: string;
  classification: 'Public' | 'Confidential' | 'PII';
  authMethod: ConnectorInput['authMethod'];
  scopes: string[];
  /** Sorted by semantic version precedence, lowest first. */
  versions: VersionInput[];
  updatedAt: number;
}

export const connectorName = name;
export const semverString = semver;
