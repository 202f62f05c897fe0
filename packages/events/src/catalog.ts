/** One released version of a connector in the catalog. Times are epoch ms. */
export interface CatalogVersion {
  version: string;
  releasedAt: number | null;
  deprecatedAt: number | null;
  sunsetAt: number | null;
}

/** Published on the catalog topic whenever a connector's catalog entry changes. */
export interface CatalogEvent {
  schemaVersion: 1;
  tenant: string;
  connector: string;
  versions: CatalogVersion[];
  at: number;
}
