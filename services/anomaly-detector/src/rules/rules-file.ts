import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { BUILTIN_RULES, type EffectiveRule, type KindValue } from './defaults';
import { parseDuration } from './duration';
import { burnAlertSchema, sloCrossChecks, sloOverrideSchema, toBurnAlerts, toSloOverride } from '../slo/config';
import type { BurnAlertSet, SloOverride } from '../slo/objectives';

/** Labels an override may be scoped by; more labels = more specific = applied later. */
export const MATCH_KEYS = ['tenant', 'connector', 'action', 'version', 'kind'] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

/** One `rules:` entry: settings for a built-in rule within a scope. */
export interface RuleOverride {
  rule: string;
  match: Partial<Record<MatchKey, string>>;
  set: Partial<EffectiveRule>;
  /** 1-based line of the entry in the rules file (0 when built in code). */
  line: number;
}

/** A webhook that gets Alertmanager v4 notifications; `tenants` null = every tenant. */
export interface Receiver {
  name: string;
  url: string;
  tenants: string[] | null;
}

/** The whole rules file, validated. */
export interface RulesConfig {
  overrides: RuleOverride[];
  receivers: Receiver[];
  /** Labels alerts are grouped by in one notification; ['...'] = every label (one alert per group). */
  groupBy: string[];
  /** Re-send a still-firing alert after this long, ms; 0 = never. Default 4 h. */
  repeatIntervalMs: number;
  /** `slos:` overrides of the SLO defaults. */
  slos: SloOverride[];
  /** `burn_alerts:` (default: the SRE workbook's page and ticket sets). */
  burnAlerts: BurnAlertSet[];
}

/** A rules-file error, placed at the line and column of the offending node (1-based). */
export interface RulesProblem {
  line: number;
  column: number;
  path: string;
  message: string;
}

export type RulesParseResult = { ok: true; config: RulesConfig } | { ok: false; problems: RulesProblem[] };

/** Default notification grouping and repeat interval (Alertmanager's defaults: per alert, 4 h). */
export const NOTIFY_DEFAULTS = { groupBy: ['...'], repeatIntervalMs: 4 * 3_600_000 } as const;

/** Largest rules file accepted, bytes. */
export const MAX_RULES_BYTES = 256 * 1024;

const RULE_NAMES = BUILTIN_RULES.map((r) => r.name);
const label = z.string().min(1).max(256);
const duration = z.union([z.string(), z.literal(0)]).refine((v) => parseDuration(v) !== null, {
  message: 'must be a duration like "30s", "5m", "4h", "30d" or 0',
});
const ratioOrMs = z.number().finite().min(0);
const kindValue = z.union([ratioOrMs, z.strictObject({ read: ratioOrMs, write: ratioOrMs })], { error: 'must be a number >= 0 or {read: number, write: number}' });

const overrideSchema = z.strictObject({
  rule: z.string().refine((v) => RULE_NAMES.includes(v), { message: `must be one of ${RULE_NAMES.join(', ')}` }),
  match: z
    .strictObject({
      tenant: label.optional(),
      connector: label.optional(),
      action: label.optional(),
      version: label.optional(),
      kind: z.enum(['read', 'write']).optional(),
    })
    .optional(),
  threshold: kindValue.optional(),
  clear_threshold: kindValue.optional(),
  min_calls: z.number().int().min(0).max(1e9).optional(),
  for: duration.optional(),
  keep_firing_for: duration.optional(),
  min_age: duration.optional(),
  sensitivity: z.number().finite().positive().max(100).optional(),
  warmup: z.number().int().min(0).max(100_000).optional(),
  min_delta: z.number().finite().min(0).optional(),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  disabled: z.boolean().optional(),
  summary: z.string().max(500).optional(),
});

const httpUrl = z.string().max(2048).refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL' },
);

const fileSchema = z.strictObject({
  rules: z.array(overrideSchema).max(10_000).optional(),
  receivers: z
    .array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -'), url: httpUrl, tenants: z.array(label).optional() }))
    .max(100)
    .optional(),
  notify: z.strictObject({ group_by: z.array(z.string().min(1).max(256)).max(50).optional(), repeat_interval: duration.optional() }).optional(),
  slos: z.array(sloOverrideSchema).max(10_000).optional(),
  burn_alerts: z.array(burnAlertSchema).max(20).optional(),
});

type FileShape = z.infer<typeof fileSchema>;
type OverrideShape = z.infer<typeof overrideSchema>;

function toKindValue(v: number | KindValue | undefined): KindValue | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? { read: v, write: v } : v;
}

function overrideSettings(o: OverrideShape): Partial<EffectiveRule> {
  const set: Partial<EffectiveRule> = {};
  const threshold = toKindValue(o.threshold);
  if (threshold !== undefined) set.threshold = threshold;
  const clear = toKindValue(o.clear_threshold);
  if (clear !== undefined) set.clearThreshold = clear;
  if (o.min_calls !== undefined) set.minCalls = o.min_calls;
  if (o.for !== undefined) set.forMs = parseDuration(o.for)!;
  if (o.keep_firing_for !== undefined) set.keepFiringForMs = parseDuration(o.keep_firing_for)!;
  if (o.min_age !== undefined) set.minAgeMs = parseDuration(o.min_age)!;
  if (o.sensitivity !== undefined) set.sensitivity = o.sensitivity;
  if (o.warmup !== undefined) set.warmupPoints = o.warmup;
  if (o.min_delta !== undefined) set.minDelta = o.min_delta;
  if (o.severity !== undefined) set.severity = o.severity;
  if (o.disabled !== undefined) set.disabled = o.disabled;
  if (o.summary !== undefined) set.summary = o.summary;
  return set;
}

// Settings that only make sense for one rule type: a mistake here would be silently ignored.
const THRESHOLD_ONLY = ['threshold', 'clear_threshold'] as const;
const ANOMALY_ONLY = ['sensitivity', 'warmup', 'min_delta'] as const;
// Notices go out once and have no lifecycle: no hysteresis, no `for`, no keep_firing_for.
const NOT_FOR_NOTICES = [...ANOMALY_ONLY, 'clear_threshold', 'for', 'keep_firing_for'] as const;

function crossChecks(file: FileShape): Array<{ path: Array<string | number>; message: string }> {
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  (file.rules ?? []).forEach((o, i) => {
    const builtin = BUILTIN_RULES.find((r) => r.name === o.rule)!;
    const wrong = builtin.type === 'anomaly' ? THRESHOLD_ONLY : builtin.type === 'notice' ? NOT_FOR_NOTICES : ANOMALY_ONLY;
    for (const key of wrong) {
      if (o[key] !== undefined) out.push({ path: ['rules', i, key], message: `${key} does not apply to ${builtin.type} rule ${o.rule}` });
    }
  });
  const names = new Set<string>();
  (file.receivers ?? []).forEach((r, i) => {
    if (names.has(r.name)) out.push({ path: ['receivers', i, 'name'], message: `duplicate receiver name ${r.name}` });
    names.add(r.name);
  });
  out.push(...sloCrossChecks(file.slos ?? [], file.burn_alerts ?? []));
  return out;
}

/** The node a zod path points at, or the closest existing ancestor. */
function nodeAt(doc: Document, path: Array<string | number>, key?: string): Node | null {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node === undefined || node === null) continue;
    if (n === path.length && key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair !== undefined && isScalar(pair.key)) return pair.key as Node;
    }
    return node as Node;
  }
  return null;
}

function place(doc: Document, lc: LineCounter, path: Array<string | number>, message: string, key?: string): RulesProblem {
  const node = nodeAt(doc, path, key);
  const offset = node?.range?.[0] ?? 0;
  const pos = lc.linePos(offset);
  const full = key === undefined ? path : [...path, key];
  return { line: pos.line, column: pos.col, path: full.map(String).join('.') || '(root)', message };
}

/**
 * Parses and validates a rules file (YAML, or JSON since JSON is YAML 1.2). Every problem names
 * its line and column; nothing partial is returned when any problem exists.
 */
export function parseRulesText(text: string): RulesParseResult {
  if (Buffer.byteLength(text, 'utf8') > MAX_RULES_BYTES) {
    return { ok: false, problems: [{ line: 1, column: 1, path: '(root)', message: `rules file larger than ${MAX_RULES_BYTES} bytes` }] };
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { line: pos.line, column: pos.col, path: '(syntax)', message: e.message.split('\n')[0]! };
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 50 }) ?? {};
  } catch (err) {
    return { ok: false, problems: [{ line: 1, column: 1, path: '(root)', message: (err as Error).message }] };
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems: RulesProblem[] = [];
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push(place(doc, lc, path, `unknown key "${key}"`, key));
      } else {
        problems.push(place(doc, lc, path, issue.message));
      }
    }
    return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };
  }
  const cross = crossChecks(parsed.data);
  if (cross.length > 0) return { ok: false, problems: cross.map((c) => place(doc, lc, c.path, c.message)) };

  const file = parsed.data;
  const overrides: RuleOverride[] = (file.rules ?? []).map((o, i) => {
    const node = doc.getIn(['rules', i], true) as Node | undefined;
    return { rule: o.rule, match: { ...(o.match ?? {}) }, set: overrideSettings(o), line: lc.linePos(node?.range?.[0] ?? 0).line };
  });
  return {
    ok: true,
    config: {
      overrides,
      receivers: (file.receivers ?? []).map((r) => ({ name: r.name, url: r.url, tenants: r.tenants ?? null })),
      groupBy: file.notify?.group_by ?? [...NOTIFY_DEFAULTS.groupBy],
      repeatIntervalMs: file.notify?.repeat_interval === undefined ? NOTIFY_DEFAULTS.repeatIntervalMs : parseDuration(file.notify.repeat_interval)!,
      slos: (file.slos ?? []).map((o, i) => toSloOverride(o, lc.linePos((doc.getIn(['slos', i], true) as Node | undefined)?.range?.[0] ?? 0).line)),
      burnAlerts: toBurnAlerts(file.burn_alerts),
    },
  };
}

/** The rules configuration used when no rules file is given. */
export function emptyRulesConfig(): RulesConfig {
  return { overrides: [], receivers: [], groupBy: [...NOTIFY_DEFAULTS.groupBy], repeatIntervalMs: NOTIFY_DEFAULTS.repeatIntervalMs, slos: [], burnAlerts: toBurnAlerts(undefined) };
}
