import { compareSemver, parseSemver } from '@pulsegate/events';
import type { VersionInput } from '../catalog/types';

/** Versions in semantic-version precedence, lowest first (invalid ones cannot be stored). */
export function sortVersions(versions: VersionInput[]): VersionInput[] {
  return [...versions].sort((a, b) => compareSemver(parseSemver(a.version)!, parseSemver(b.version)!));
}
