/** Default ports of the embedded start, by service. */
export const EMBEDDED_PORTS = { ingest: 4318, aggregator: 8081, 'anomaly-detector': 8082, 'risk-scorer': 8083, dashboard: 8080 } as const;

/** A service of the embedded start. */
export type EmbeddedName = keyof typeof EMBEDDED_PORTS;

/** The variable that moves a service's port in the embedded start: `PULSEGATE_<NAME>_PORT`. */
export function portVariable(name: EmbeddedName): string {
  return `PULSEGATE_${name.toUpperCase().replace(/-/g, '_')}_PORT`;
}

/** The embedded start's port of `name`: its PULSEGATE_<NAME>_PORT, else the default; a bad value names the variable. */
export function embeddedPort(env: Record<string, string | undefined>, name: EmbeddedName): number {
  const variable = portVariable(name);
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return EMBEDDED_PORTS[name];
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) throw new Error(`${variable} must be an integer 0-65535, got ${JSON.stringify(raw)}`);
  return port;
}
