import { computeSpecFeatures, type Assessment } from '@pulsegate/risk-scorer';
import { CliError, numberFlag as number, parseArgs, processIo, readText, required, type CliIo, type FlagSpec } from './cli';

/** Exit codes: 0 promotion may proceed (or command done), 1 it may not, 2 any error. */
export const EXIT = { proceed: 0, blocked: 1, error: 2 } as const;

const USAGE = `usage:
  risk gate --url <risk-scorer url> --connector <name> --version <semver>
            [--previous-version <semver>] [--old <spec> --new <spec>] [--features <file.json>]
            [--lint-warnings <n>] [--prior-incident-rate <x>] [--max-level low|medium]
            [--api-key <key> | env PULSEGATE_API_KEY] [--timeout-ms <ms>] [--json]
  risk features --old <spec> --new <spec>
exit codes: 0 promotion may proceed, 1 it may not, 2 error`;

const GATE_FLAGS = { values: ['url', 'connector', 'version', 'previous-version', 'old', 'new', 'features', 'lint-warnings', 'prior-incident-rate', 'max-level', 'api-key', 'timeout-ms', 'summary'], booleans: ['json'], repeatable: ['rule'] } as const;
const FEATURE_FLAGS = { values: ['old', 'new'] } as const;

function parseFlags(args: string[], spec: FlagSpec): Map<string, string> {
  return parseArgs(args, spec).flags;
}

async function specFeatures(flags: Map<string, string>): Promise<ReturnType<typeof computeSpecFeatures>> {
  const [oldText, newText] = await Promise.all([readText(required(flags, 'old'), '--old'), readText(required(flags, 'new'), '--new')]);
  try {
    return computeSpecFeatures(oldText, newText);
  } catch (err) {
    throw new CliError((err as Error).message.replace(/^oldSpec/, `--old ${flags.get('old')}`).replace(/^newSpec/, `--new ${flags.get('new')}`));
  }
}

const LEVEL_RANK = { low: 0, medium: 1, high: 2 } as const;

async function gate(flags: Map<string, string>, io: CliIo): Promise<number> {
  const url = required(flags, 'url');
  if (!/^https?:\/\//.test(url)) throw new CliError('--url must start with http:// or https://');
  const connector = required(flags, 'connector');
  const version = required(flags, 'version');
  const maxLevel = flags.get('max-level') ?? 'low';
  if (maxLevel !== 'low' && maxLevel !== 'medium') throw new CliError('--max-level must be low or medium');
  const timeoutMs = number(flags, 'timeout-ms') ?? 30_000;
  let features: Record<string, number> = {};
  if (flags.has('features')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readText(flags.get('features')!, '--features'));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`--features: not valid JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError('--features must hold a JSON object of feature name to number');
    features = parsed as Record<string, number>;
  }
  if (flags.has('old') || flags.has('new')) features = { ...features, ...(await specFeatures(flags)).features };
  const lint = number(flags, 'lint-warnings');
  if (lint !== undefined) features.lintWarnings = lint;
  const incidents = number(flags, 'prior-incident-rate');
  if (incidents !== undefined) features.priorIncidentRate = incidents;

  const body: Record<string, unknown> = { connector, version, features };
  if (flags.has('previous-version')) body.previousVersion = flags.get('previous-version');
  const apiKey = flags.get('api-key') ?? process.env.PULSEGATE_API_KEY;
  let res: Response;
  try {
    res = await fetch(new URL('/v1/risk/assessments', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}`);
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
  const a = answer as Assessment;
  if (typeof a.level !== 'string' || typeof a.decision !== 'string') throw new CliError('risk scorer answer has no level/decision');
  if (flags.has('json')) io.stdout.write(JSON.stringify(a, null, 2) + '\n');
  const p = a.probability === null ? 'n/a' : a.probability.toFixed(3);
  io.stdout.write(`decision: ${a.decision} (level ${a.level}, probability ${p}, model ${a.modelVersion ?? 'none'})\n`);
  const top = a.reasons.slice(0, 5);
  if (top.length > 0) io.stdout.write('top reasons:\n');
  for (const r of top) {
    const c = r.contribution === null ? '' : ` (${r.contribution >= 0 ? '+' : ''}${r.contribution.toFixed(3)} log-odds)`;
    io.stdout.write(`  ${r.feature} = ${r.value ?? 'n/a'}${c}${r.note === undefined ? '' : ` - ${r.note}`}\n`);
  }
  if (a.missing.length > 0) io.stdout.write(`missing: ${a.missing.join(', ')}\n`);
  const proceed = a.level !== 'unknown' && LEVEL_RANK[a.level] <= LEVEL_RANK[maxLevel];
  io.stdout.write(proceed ? `promotion may proceed (level ${a.level} <= max-level ${maxLevel})\n` : `promotion blocked (level ${a.level}, max-level ${maxLevel})\n`);
  return proceed ? EXIT.proceed : EXIT.blocked;
}

/**
 * The `risk` command line: `risk gate …` asks the risk scorer whether a version may be promoted,
 * `risk features …` prints the spec-derived features of two OpenAPI documents. Resolves to the
 * exit code; never 0 on an error.
 */
export async function runRiskCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE + '\n');
      return EXIT.proceed;
    }
    if (command === 'gate') return await gate(parseFlags(rest, GATE_FLAGS), io);
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
