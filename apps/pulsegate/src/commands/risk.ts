import { appendFile } from 'node:fs/promises';
import { computeSpecFeatures, type GateDecision } from '@pulsegate/risk-scorer';
import { fetchFailure } from '../net';
import { cell, CliError, numberFlag as number, parseArgs, processIo, readText, required, ruleOverrides, type Args, type CliIo, type FlagSpec } from './cli';

/** Exit codes: 0 promotion may proceed (or command done), 1 it may not, 2 any error. */
export const EXIT = { proceed: 0, blocked: 1, error: 2 } as const;

const USAGE = `usage:
  risk gate [--url <risk-scorer url>] --connector <name> --version <semver>
            [--previous-version <semver>] [--old <spec> --new <spec>] [--rule <rule id>=<severity>]…
            [--canary <baseline+candidate telemetry.json> | --window 1h|6h|24h|7d|30d… | --from <t> --to <t>]
            [--features <file.json>]
            [--lint-warnings <n>] [--prior-incident-rate <x>] [--max-level low|medium]
            [--summary <file, e.g. $GITHUB_STEP_SUMMARY>] [--api-key <key> | env PULSEGATE_API_KEY]
            [--timeout-ms <ms>] [--json]
  risk features --old <spec> --new <spec>
--url defaults to PULSEGATE_RISK_URL, else the embedded start's http://127.0.0.1:8083.
exit codes: 0 promotion may proceed, 1 it may not, 2 error`;

/** The risk scorer of `risk gate` when neither --url nor PULSEGATE_RISK_URL is given: the embedded start's. */
export const DEFAULT_RISK_URL = 'http://127.0.0.1:8083';

const GATE_FLAGS = { values: ['url', 'connector', 'version', 'previous-version', 'old', 'new', 'features', 'lint-warnings', 'prior-incident-rate', 'max-level', 'api-key', 'timeout-ms', 'summary', 'canary', 'window', 'from', 'to'], booleans: ['json'], repeatable: ['rule'] } as const;
const FEATURE_FLAGS = { values: ['old', 'new'] } as const;

function parseFlags(args: string[], spec: FlagSpec): Map<string, string> {
  return parseArgs(args, spec).flags;
}

async function specFeatures(flags: Map<string, string>): ReturnType<typeof computeSpecFeatures> {
  const [oldText, newText] = await Promise.all([readText(required(flags, 'old'), '--old'), readText(required(flags, 'new'), '--new')]);
  try {
    return await computeSpecFeatures(oldText, newText);
  } catch (err) {
    throw new CliError((err as Error).message.replace(/^oldSpec/, `--old ${flags.get('old')}`).replace(/^newSpec/, `--new ${flags.get('new')}`));
  }
}

/** A JSON object from a file; errors name the flag. */
async function jsonFile(flags: Map<string, string>, name: string): Promise<Record<string, unknown> | undefined> {
  const path = flags.get(name);
  if (path === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(path, `--${name}`));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`--${name}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`--${name} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

/** The decision as Markdown for a GitHub Actions step summary. */
export function decisionMarkdown(d: GateDecision): string {
  const icon = { pass: '✅', hold: '⏸️', fail: '❌' } as const;
  const lines = [`### Release gate: ${d.connector} ${d.previousVersion ?? '?'} → ${d.version}: **${d.outcome}**`, '', '| Check | Status | Detail |', '| --- | --- | --- |'];
  for (const c of d.checks) lines.push(`| ${c.check} | ${icon[c.status]} ${c.status} | ${cell(c.message)} |`);
  return lines.join('\n') + '\n';
}

async function gate(args: Args, io: CliIo, env: Record<string, string | undefined>): Promise<number> {
  const flags = args.flags;
  const fromEnv = env.PULSEGATE_RISK_URL !== undefined && env.PULSEGATE_RISK_URL.trim() !== '';
  const source = flags.has('url') ? '--url' : fromEnv ? 'PULSEGATE_RISK_URL' : 'default';
  const url = flags.get('url') ?? (fromEnv ? env.PULSEGATE_RISK_URL!.trim() : DEFAULT_RISK_URL);
  if (!/^https?:\/\//.test(url)) throw new CliError(`${source} must start with http:// or https://, got ${JSON.stringify(url)}`);
  const connector = required(flags, 'connector');
  const version = required(flags, 'version');
  const maxLevel = flags.get('max-level') ?? 'low';
  if (maxLevel !== 'low' && maxLevel !== 'medium') throw new CliError('--max-level must be low or medium');
  const timeoutMs = number(flags, 'timeout-ms') ?? 30_000;
  const features = ((await jsonFile(flags, 'features')) ?? {}) as Record<string, number>;
  const lint = number(flags, 'lint-warnings');
  if (lint !== undefined) features.lintWarnings = lint;
  const incidents = number(flags, 'prior-incident-rate');
  if (incidents !== undefined) features.priorIncidentRate = incidents;
  const body: Record<string, unknown> = { connector, version, features };
  if (flags.has('previous-version')) body.previousVersion = flags.get('previous-version');
  if (flags.has('old') !== flags.has('new')) throw new CliError('--old and --new go together', true);
  if (flags.has('old')) [body.oldSpec, body.newSpec] = await Promise.all([readText(flags.get('old')!, '--old'), readText(flags.get('new')!, '--new')]);
  const overrides = ruleOverrides(args.lists.get('rule'));
  if (Object.keys(overrides).length > 0) body.overrides = overrides;
  const canary = await jsonFile(flags, 'canary');
  if (canary !== undefined) body.canary = canary;
  // Without --canary the service judges both versions' live telemetry over this window.
  if (canary !== undefined && (flags.has('window') || flags.has('from') || flags.has('to'))) throw new CliError('--canary brings its own telemetry; --window/--from/--to choose live telemetry', true);
  if (flags.has('window') && (flags.has('from') || flags.has('to'))) throw new CliError('give either --window or --from/--to', true);
  if (flags.has('from') !== flags.has('to')) throw new CliError('--from and --to go together', true);
  for (const name of ['window', 'from', 'to']) if (flags.has(name)) body[name] = flags.get(name);
  const apiKey = flags.get('api-key') ?? env.PULSEGATE_API_KEY;
  let res: Response;
  try {
    res = await fetch(new URL('/v1/risk/gate', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${url} (${source === 'default' ? 'the default; set --url or PULSEGATE_RISK_URL' : `from ${source}`}): ${fetchFailure(err)}`);
  }
  const text = await res.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new CliError(`risk scorer answered ${res.status} with a non-JSON body`);
  }
  if (!res.ok) {
    const e = (answer as { error?: { code?: string; message?: string; correlationId?: string } }).error;
    throw new CliError(`risk scorer answered ${res.status} ${e?.code ?? ''}: ${e?.message ?? text.slice(0, 200)} (correlation id ${e?.correlationId ?? 'none'})`);
  }
  const d = answer as GateDecision;
  if (typeof d.outcome !== 'string' || !Array.isArray(d.checks)) throw new CliError('risk scorer answer has no outcome/checks');
  if (flags.has('json')) io.stdout.write(JSON.stringify(d, null, 2) + '\n');
  io.stdout.write(`outcome: ${d.outcome} (${d.connector} ${d.previousVersion ?? '?'} -> ${d.version})\n`);
  for (const r of d.reasons) io.stdout.write(`  ${r}\n`);
  const summary = flags.get('summary');
  if (summary !== undefined) {
    try {
      await appendFile(summary, decisionMarkdown(d));
    } catch (err) {
      throw new CliError(`--summary ${summary}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  // --max-level medium also lets a decision through that only waits on a medium model level.
  const level = (d.details.assessment as { level?: string } | undefined)?.level;
  const onlyModelHolds = d.outcome === 'hold' && d.checks.every((c) => c.status === 'pass' || (c.check === 'model' && c.status === 'hold'));
  const proceed = d.outcome === 'promote' || (maxLevel === 'medium' && onlyModelHolds && level === 'medium');
  io.stdout.write(proceed ? `promotion may proceed\n` : `promotion blocked (${d.outcome})\n`);
  return proceed ? EXIT.proceed : EXIT.blocked;
}

/**
 * The `risk` command line: `risk gate …` asks the risk scorer whether a version may be promoted,
 * `risk features …` prints the spec-derived features of two OpenAPI documents. Resolves to the
 * exit code; never 0 on an error.
 */
export async function runRiskCli(argv: string[], io: CliIo = processIo, env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE + '\n');
      return EXIT.proceed;
    }
    if (command === 'gate') return await gate(parseArgs(rest, GATE_FLAGS), io, env);
    if (command === 'features') {
      const flags = parseFlags(rest, FEATURE_FLAGS);
      io.stdout.write(JSON.stringify(await specFeatures(flags), null, 2) + '\n');
      return EXIT.proceed;
    }
    throw new CliError(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`, true);
  } catch (err) {
    io.stderr.write(`risk: ${err instanceof CliError ? err.message : `unexpected error: ${(err as Error).message}`}\n`);
    if (err instanceof CliError && err.usage) io.stderr.write(USAGE + '\n');
    return EXIT.error;
  }
}
