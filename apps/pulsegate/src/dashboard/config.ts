import { z } from 'zod';
import { intVar } from '@pulsegate/env';

/** The dashboard's settings when it runs as its own service (distributed mode). */
export interface DashboardConfig {
  /** Bind address. Default 127.0.0.1. */
  host: string;
  /** Listen port. Default 8080. */
  port: number;
  /** The dashboard has no bus; runService gives it the in-memory one. */
  kafkaBrokers: string[];
  /** Aggregator base URL. Default http://127.0.0.1:8081. */
  aggregatorUrl: string;
  /** Anomaly detector base URL. Default http://127.0.0.1:8082. */
  detectorUrl: string;
  /** Risk scorer base URL. Default http://127.0.0.1:8083. */
  riskUrl: string;
}

const url = (name: string, def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v.trim() === '' ? def : v.trim();
      if (!/^https?:\/\/[^\s/]+/.test(value)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an http(s) URL, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return value;
    });

const schema = z.object({
  HOST: z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? '127.0.0.1' : v.trim())),
  PORT: intVar('PORT', 8080, 0, 65535),
  PULSEGATE_AGGREGATOR_URL: url('PULSEGATE_AGGREGATOR_URL', 'http://127.0.0.1:8081'),
  PULSEGATE_ANOMALY_DETECTOR_URL: url('PULSEGATE_ANOMALY_DETECTOR_URL', 'http://127.0.0.1:8082'),
  PULSEGATE_RISK_URL: url('PULSEGATE_RISK_URL', 'http://127.0.0.1:8083'),
  PULSEGATE_DASHBOARD_API_KEY: z.string().optional(),
});

/**
 * Parses the dashboard's environment; errors name the variable. The dashboard holds no key: each
 * user signs in with their own, so the removed PULSEGATE_DASHBOARD_API_KEY is refused rather than
 * silently ignored.
 */
export function loadDashboardConfig(env: Record<string, string | undefined>): DashboardConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid dashboard configuration: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const e = parsed.data;
  if (e.PULSEGATE_DASHBOARD_API_KEY !== undefined && e.PULSEGATE_DASHBOARD_API_KEY !== '') {
    throw new Error('invalid dashboard configuration: PULSEGATE_DASHBOARD_API_KEY is no longer supported: the dashboard holds no key, each user signs in with their own');
  }
  return { host: e.HOST, port: e.PORT, kafkaBrokers: [], aggregatorUrl: e.PULSEGATE_AGGREGATOR_URL, detectorUrl: e.PULSEGATE_ANOMALY_DETECTOR_URL, riskUrl: e.PULSEGATE_RISK_URL };
}
