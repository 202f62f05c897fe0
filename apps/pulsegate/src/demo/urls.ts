import { embeddedPort, portVariable, type EmbeddedName } from '../ports';

/** Where `pulsegate demo` sends, and the variables that moved it there (for error hints). */
export interface DemoTarget {
  url: string;
  /** `PULSEGATE_<X>_URL`, or the embedded start's port variable when the URL was built from it. */
  from: string;
}

const URL_VARIABLES = {
  ingest: ['PULSEGATE_INGEST_URL', 'ingest'],
  aggregator: ['PULSEGATE_AGGREGATOR_URL', 'aggregator'],
  risk: ['PULSEGATE_RISK_URL', 'risk-scorer'],
  dashboard: ['PULSEGATE_DASHBOARD_URL', 'dashboard'],
} as const satisfies Record<string, readonly [string, EmbeddedName]>;

/**
 * The demo's targets: each `PULSEGATE_<X>_URL` when set, else the embedded start on this machine at
 * its `PULSEGATE_<SERVICE>_PORT` (so `npm start` and `npm run demo` in one shell agree).
 */
export function demoTargets(env: Record<string, string | undefined>): Record<keyof typeof URL_VARIABLES, DemoTarget> {
  const target = ([urlVariable, service]: readonly [string, EmbeddedName]): DemoTarget => {
    const url = env[urlVariable];
    if (url !== undefined && url.trim() !== '') {
      if (!/^https?:\/\//.test(url)) throw new Error(`${urlVariable} must start with http:// or https://, got ${JSON.stringify(url)}`);
      return { url: url.trim(), from: urlVariable };
    }
    return { url: `http://127.0.0.1:${embeddedPort(env, service)}`, from: `${urlVariable} or ${portVariable(service)}` };
  };
  return { ingest: target(URL_VARIABLES.ingest), aggregator: target(URL_VARIABLES.aggregator), risk: target(URL_VARIABLES.risk), dashboard: target(URL_VARIABLES.dashboard) };
}
