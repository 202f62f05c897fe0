import { readFileSync } from 'node:fs';
import { isNonLoopback, parseApiKeys, type ApiKeyEntry, serverLimitsFromEnv, type ServerLimits } from '@pulsegate/http-kit';
import { z } from 'zod';
import { intVar as int, redisUrlVar } from '@pulsegate/env';
import { emptyRulesConfig, parseRulesText, type Receiver, type RulesConfig } from './rules/rules-file';

/** Settings of the anomaly detector, parsed once from the environment by `loadConfig`. */
export interface AnomalyDetectorConfig {
  host: string;
  /** Client time limits of the HTTP server (HTTP_* variables, see serverLimitsFromEnv). */
  http: ServerLimits;
  port: number;
  kafkaBrokers: string[];
  redisUrl: string | null;
  redisClusterNodes: Array<{ host: string; port: number }>;
  logLevel: string;
  rulesFile: string | null;
  /** The rules file's content (built-in defaults only when no file), with WEBHOOK_URLS receivers appended. */
  rules: RulesConfig;
  aggregatorUrl: string;
  externalUrl: string;
  apiKeys: ApiKeyEntry[];
  allowAnonymous: boolean;
  consumerGroup: string;
  /** Consumer-group session timeout, ms: how soon a dead instance's partitions move. Default 30 000. */
  kafkaSessionTimeoutMs: number;
  webhookTimeoutMs: number;
  webhookMaxAttempts: number;
  webhookBackoffInitialMs: number;
  webhookBackoffMaxMs: number;
  staleAfterMs: number;
  retentionMs: number;
  sweepIntervalMs: number;
  /** ALERTMANAGER_URLS: Alertmanager base URLs alerts are pushed to over the v2 API (empty = none). */
  alertmanagerUrls: string[];
  /** ALERTMANAGER_PUSH_INTERVAL_SECONDS × 1000: push period, ms (default 60 000). */
  alertmanagerPushIntervalMs: number;
  /** ALERT_HISTORY_RETENTION_HOURS × 3 600 000: how long alert history is kept, ms (default 7 days). */
  alertHistoryRetentionMs: number;
  /** ALERT_HISTORY_MAX_ENTRIES: most history entries kept per tenant (default 10 000). */
  alertHistoryMaxEntries: number;
  /** SLO_ALERTS: raise SLO burn-rate / budget alerts (true by default); false = SLOs are reported only. */
  sloAlerts: boolean;
}

const url = (name: string, def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const text = v === undefined || v.trim() === '' ? def : v.trim();
      try {
        const u = new URL(text);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
        return text;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be an http(s) URL, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
    });

const envSchema = z.object({
  HOST: z.string().optional().transform((v) => (v === undefined || v === '' ? '127.0.0.1' : v)),
  PORT: int('PORT', 8082, 0, 65535),
  KAFKA_BROKERS: z.string().optional(),
  REDIS_URL: redisUrlVar('REDIS_URL'),
  REDIS_CLUSTER_NODES: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  RULES_FILE: z.string().optional(),
  WEBHOOK_URLS: z.string().optional(),
  AGGREGATOR_URL: url('AGGREGATOR_URL', 'http://127.0.0.1:8081'),
  EXTERNAL_URL: z.string().optional(),
  PULSEGATE_API_KEYS: z.string().optional(),
  PULSEGATE_ALLOW_ANONYMOUS: z.enum(['true', 'false', '']).optional(),
  CONSUMER_GROUP: z.string().optional(),
  KAFKA_SESSION_TIMEOUT_MS: int('KAFKA_SESSION_TIMEOUT_MS', 30_000, 6_000, 300_000),
  WEBHOOK_TIMEOUT_MS: int('WEBHOOK_TIMEOUT_MS', 5_000, 100, 120_000),
  WEBHOOK_MAX_ATTEMPTS: int('WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
  WEBHOOK_BACKOFF_INITIAL_MS: int('WEBHOOK_BACKOFF_INITIAL_MS', 500, 1, 3_600_000),
  WEBHOOK_BACKOFF_MAX_MS: int('WEBHOOK_BACKOFF_MAX_MS', 60_000, 1, 86_400_000),
  STALE_AFTER_SECONDS: int('STALE_AFTER_SECONDS', 900, 1, 30 * 86_400),
  RESOLVED_RETENTION_HOURS: int('RESOLVED_RETENTION_HOURS', 24, 1, 24 * 90),
  SWEEP_INTERVAL_SECONDS: int('SWEEP_INTERVAL_SECONDS', 30, 0, 86_400),
  ALERTMANAGER_URLS: z.string().optional(),
  ALERTMANAGER_PUSH_INTERVAL_SECONDS: int('ALERTMANAGER_PUSH_INTERVAL_SECONDS', 60, 1, 3_600),
  ALERT_HISTORY_RETENTION_HOURS: int('ALERT_HISTORY_RETENTION_HOURS', 168, 1, 24 * 90),
  ALERT_HISTORY_MAX_ENTRIES: int('ALERT_HISTORY_MAX_ENTRIES', 10_000, 100, 1_000_000),
  SLO_ALERTS: z.enum(['true', 'false', ''], { error: 'SLO_ALERTS must be true or false' }).optional(),
});

/** A comma list of http(s) URLs; errors name the variable and the entry. */
function httpUrls(name: string, text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((u, i) => {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        throw new Error(`${name}: entry ${i + 1} is not a URL`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${name}: entry ${i + 1} must be http(s)`);
      return u;
    });
}

function webhookReceivers(text: string | undefined): Receiver[] {
  return httpUrls('WEBHOOK_URLS', text).map((url, i) => ({ name: `webhook-${i}`, url, tenants: null }));
}

function clusterNodes(text: string | undefined): Array<{ host: string; port: number }> {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((entry, i) => {
    const m = /^\s*([^\s:]+):(\d{1,5})\s*$/.exec(entry);
    if (m === null || Number(m[2]) > 65535) throw new Error(`REDIS_CLUSTER_NODES: entry ${i + 1} must be host:port`);
    return { host: m[1]!, port: Number(m[2]) };
  });
}

/**
 * Parses the environment once. Throws an Error whose message names the variable (and, for the
 * rules file, every problem with its line) when anything is wrong.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AnomalyDetectorConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error('invalid configuration: ' + parsed.error.issues.map((i) => (i.code === 'custom' ? i.message : `${i.path.join('.')}: ${i.message}`)).join('; '));
  }
  const e = parsed.data;
  const apiKeys = parseApiKeys(e.PULSEGATE_API_KEYS);
  const allowAnonymous = e.PULSEGATE_ALLOW_ANONYMOUS === 'true';
  if (apiKeys.length === 0 && isNonLoopback(e.HOST) && !allowAnonymous) {
    throw new Error(`HOST=${e.HOST} exposes the API beyond this machine but PULSEGATE_API_KEYS is empty; set keys or PULSEGATE_ALLOW_ANONYMOUS=true`);
  }
  let rules = emptyRulesConfig();
  const rulesFile = e.RULES_FILE === undefined || e.RULES_FILE.trim() === '' ? null : e.RULES_FILE;
  if (rulesFile !== null) {
    let text: string;
    try {
      text = readFileSync(rulesFile, 'utf8');
    } catch (err) {
      throw new Error(`RULES_FILE: cannot read ${rulesFile}: ${(err as Error).message}`);
    }
    const result = parseRulesText(text);
    if (!result.ok) throw new Error(`RULES_FILE ${rulesFile} is invalid: ` + result.problems.map((p) => `line ${p.line} col ${p.column} ${p.path}: ${p.message}`).join('; '));
    rules = result.config;
  }
  const fromEnv = webhookReceivers(e.WEBHOOK_URLS);
  const taken = new Set(rules.receivers.map((r) => r.name));
  rules = { ...rules, receivers: [...rules.receivers, ...fromEnv.filter((r) => !taken.has(r.name))] };
  if (e.WEBHOOK_BACKOFF_MAX_MS < e.WEBHOOK_BACKOFF_INITIAL_MS) throw new Error('WEBHOOK_BACKOFF_MAX_MS must be at least WEBHOOK_BACKOFF_INITIAL_MS');
  return {
    host: e.HOST,
    http: serverLimitsFromEnv(env),
    port: e.PORT,
    kafkaBrokers: (e.KAFKA_BROKERS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    redisUrl: e.REDIS_URL === undefined || e.REDIS_URL === '' ? null : e.REDIS_URL,
    redisClusterNodes: clusterNodes(e.REDIS_CLUSTER_NODES),
    logLevel: e.LOG_LEVEL ?? 'info',
    rulesFile,
    rules,
    aggregatorUrl: e.AGGREGATOR_URL,
    externalUrl: e.EXTERNAL_URL !== undefined && e.EXTERNAL_URL !== '' ? e.EXTERNAL_URL : `http://${e.HOST}:${e.PORT}`,
    apiKeys,
    allowAnonymous,
    consumerGroup: e.CONSUMER_GROUP !== undefined && e.CONSUMER_GROUP !== '' ? e.CONSUMER_GROUP : 'pulsegate-anomaly-detector',
    kafkaSessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    webhookMaxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffInitialMs: e.WEBHOOK_BACKOFF_INITIAL_MS,
    webhookBackoffMaxMs: e.WEBHOOK_BACKOFF_MAX_MS,
    staleAfterMs: e.STALE_AFTER_SECONDS * 1000,
    retentionMs: e.RESOLVED_RETENTION_HOURS * 3_600_000,
    sweepIntervalMs: e.SWEEP_INTERVAL_SECONDS * 1000,
    sloAlerts: e.SLO_ALERTS !== 'false',
    alertmanagerUrls: httpUrls('ALERTMANAGER_URLS', e.ALERTMANAGER_URLS),
    alertmanagerPushIntervalMs: e.ALERTMANAGER_PUSH_INTERVAL_SECONDS * 1000,
    alertHistoryRetentionMs: e.ALERT_HISTORY_RETENTION_HOURS * 3_600_000,
    alertHistoryMaxEntries: e.ALERT_HISTORY_MAX_ENTRIES,
  };
}
