import { z } from 'zod';
import { hostPortListVar, redisUrlVar } from '@pulsegate/env';
import { isNonLoopback, parseApiKeys, type ApiKeyEntry, serverLimitsFromEnv, type ServerLimits } from '@pulsegate/http-kit';
import { checkOverrides, type RuleOverrides } from './spec/rules';

/** The risk scorer's settings, read once from the environment (see README for the table). */
export interface RiskScorerConfig {
  host: string;
  /** Client time limits of the HTTP server (HTTP_* variables, see serverLimitsFromEnv). */
  http: ServerLimits;
  port: number;
  logLevel: string | undefined;
  /** Kafka bootstrap brokers; empty = embedded in-memory bus. */
  kafkaBrokers: string[];
  /** Redis URL for state and models; undefined = memory state and file models. */
  redisUrl: string | undefined;
  /** Redis Cluster seed nodes; when set they win over redisUrl. */
  redisClusterNodes: Array<{ host: string; port: number }>;
  apiKeys: ApiKeyEntry[];
  allowAnonymous: boolean;
  /** Probability cut-offs (ratio 0–1): medium from 0.3, high from 0.7 by default. */
  cutoffs: { medium: number; high: number };
  /** Directory of model files when Redis is not configured (RISK_MODEL_DIR). Default unset: models stay in this process's memory. */
  modelDir: string | undefined;
  /** Gradient steps per training run. Default 100. */
  trainSteps: number;
  /** Spec rule severity overrides per tenant (RISK_RULE_OVERRIDES, JSON); default none. */
  ruleOverrides: Record<string, RuleOverrides>;
  /** Aggregator base URL the gate reads live canary telemetry from (RISK_AGGREGATOR_URL); undefined = stored snapshots. */
  aggregatorUrl: string | undefined;
}

/** RISK_RULE_OVERRIDES: `{"<tenant>": {"<rule id>": "error|warning|info|off"}}`; errors name the variable. */
function parseRuleOverrides(text: string | undefined): Record<string, RuleOverrides> {
  if (text === undefined || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`risk-scorer configuration: RISK_RULE_OVERRIDES is not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('risk-scorer configuration: RISK_RULE_OVERRIDES must be a JSON object of tenant to {rule id: severity}');
  for (const [tenant, o] of Object.entries(parsed)) {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`risk-scorer configuration: RISK_RULE_OVERRIDES.${tenant} must be an object of rule id to severity`);
    try {
      checkOverrides(o as RuleOverrides, `RISK_RULE_OVERRIDES.${tenant}`);
    } catch (err) {
      throw new Error(`risk-scorer configuration: ${(err as Error).message}`);
    }
  }
  return parsed as Record<string, RuleOverrides>;
}

const probability = (name: string, dflt: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return dflt;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n >= 1) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a number between 0 and 1 (exclusive), got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });

const Env = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z
      .string()
      .default('8083')
      .refine((v) => /^\d+$/.test(v) && Number(v) <= 65535, 'PORT must be an integer 0-65535'),
    LOG_LEVEL: z.string().optional(),
    KAFKA_BROKERS: z.string().optional(),
    REDIS_URL: redisUrlVar('REDIS_URL'),
    REDIS_CLUSTER_NODES: hostPortListVar('REDIS_CLUSTER_NODES'),
    PULSEGATE_API_KEYS: z.string().optional(),
    PULSEGATE_ALLOW_ANONYMOUS: z.enum(['true', 'false', '']).optional(),
    RISK_MEDIUM_CUTOFF: probability('RISK_MEDIUM_CUTOFF', 0.3),
    RISK_HIGH_CUTOFF: probability('RISK_HIGH_CUTOFF', 0.7),
    RISK_MODEL_DIR: z.string().optional(),
    RISK_RULE_OVERRIDES: z.string().optional(),
    RISK_AGGREGATOR_URL: z
      .string()
      .optional()
      .refine((v) => v === undefined || v === '' || /^https?:\/\/[^\s/]+/.test(v), 'RISK_AGGREGATOR_URL must be an http:// or https:// URL, e.g. http://aggregator:8081'),
    RISK_TRAIN_STEPS: z
      .string()
      .optional()
      .refine((v) => v === undefined || v === '' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 100_000), 'RISK_TRAIN_STEPS must be an integer 1-100000'),
  })
  .superRefine((e, ctx) => {
    if (e.RISK_MEDIUM_CUTOFF >= e.RISK_HIGH_CUTOFF) ctx.addIssue({ code: 'custom', path: ['RISK_MEDIUM_CUTOFF'], message: 'RISK_MEDIUM_CUTOFF must be below RISK_HIGH_CUTOFF' });
  });

/** Parses the environment; throws one Error listing every problem, each naming its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): RiskScorerConfig {
  const r = Env.safeParse(env);
  if (!r.success) throw new Error('risk-scorer configuration: ' + r.error.issues.map((i) => (i.message.includes(String(i.path[0] ?? '')) ? i.message : `${String(i.path[0])}: ${i.message}`)).join('; '));
  const e = r.data;
  const apiKeys = parseApiKeys(e.PULSEGATE_API_KEYS);
  const allowAnonymous = e.PULSEGATE_ALLOW_ANONYMOUS === 'true';
  if (apiKeys.length === 0 && isNonLoopback(e.HOST) && !allowAnonymous) {
    throw new Error(`risk-scorer configuration: HOST=${e.HOST} is not loopback and PULSEGATE_API_KEYS is empty; set keys or PULSEGATE_ALLOW_ANONYMOUS=true`);
  }
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return {
    host: e.HOST,
    http: serverLimitsFromEnv(env),
    port: Number(e.PORT),
    logLevel: e.LOG_LEVEL,
    kafkaBrokers: list(e.KAFKA_BROKERS),
    redisUrl: e.REDIS_URL === '' ? undefined : e.REDIS_URL,
    redisClusterNodes: list(e.REDIS_CLUSTER_NODES).map((n) => {
      const i = n.lastIndexOf(':');
      return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
    }),
    apiKeys,
    allowAnonymous,
    cutoffs: { medium: e.RISK_MEDIUM_CUTOFF, high: e.RISK_HIGH_CUTOFF },
    modelDir: e.RISK_MODEL_DIR !== undefined && e.RISK_MODEL_DIR !== '' ? e.RISK_MODEL_DIR : undefined,
    trainSteps: e.RISK_TRAIN_STEPS !== undefined && e.RISK_TRAIN_STEPS !== '' ? Number(e.RISK_TRAIN_STEPS) : 100,
    ruleOverrides: parseRuleOverrides(e.RISK_RULE_OVERRIDES),
    aggregatorUrl: e.RISK_AGGREGATOR_URL === undefined || e.RISK_AGGREGATOR_URL === '' ? undefined : e.RISK_AGGREGATOR_URL,
  };
}
