// The `pulsegate` command: `start` runs the embedded pipeline; `risk …` and `spec …` are the pipeline CLI.
import { randomBytes } from 'node:crypto';
// Each command is imported when it runs (the build splits them into chunks), so a pipeline's
// `pulsegate risk gate` or `spec lint` does not load the four services the embedded start needs.

const USAGE = `usage:
  pulsegate start                 run ingest, aggregator, anomaly detector and risk scorer in one process
  pulsegate risk gate …           ask the risk scorer whether a version may be promoted (exit 0 yes, 1 no, 2 error)
  pulsegate risk features …       spec-derived release features from two OpenAPI documents
  pulsegate spec diff OLD NEW     breaking changes by rule (exit 0 clean, 1 errors found, 2 could not run)
  pulsegate spec lint SPEC        the Pulsegate connector ruleset (same exit codes)
  pulsegate spec rules            the rule catalogue
  pulsegate topics [--dry-run]    create the Kafka topics on KAFKA_BROKERS (exit 0 ready, 1 failed, 2 could not run)
  pulsegate demo [seconds]        play the seed's ContosoSales scenarios against a running Pulsegate
  pulsegate help                  this text`;

/**
 * The key `pulsegate start` protects the read APIs and the dashboard with: PULSEGATE_API_KEY when
 * set (so the demo and the CLI in another terminal use the same one), else a random one per start.
 */
function embeddedTenantKey(env: NodeJS.ProcessEnv): { key: string; generated: boolean } {
  const given = env.PULSEGATE_API_KEY?.trim();
  if (given !== undefined && given !== '') return { key: given, generated: false };
  return { key: `pg_${randomBytes(24).toString('base64url')}`, generated: true };
}

async function start(): Promise<void> {
  const explicitKeys = (process.env.PULSEGATE_API_KEYS ?? '').trim() !== '';
  const tenantKey = embeddedTenantKey(process.env);
  const { startEmbedded } = await import('./embedded');
  const embedded = await startEmbedded({ tenantKey: explicitKeys ? undefined : tenantKey.key });
  const mode = embedded.bus.kind === 'kafka' ? 'Kafka bus' : 'in-memory bus';
  const stores = process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES ? 'Redis stores' : 'in-memory stores';
  process.stdout.write(`Pulsegate is running (${mode}, ${stores}):\n`);
  for (const s of embedded.services) {
    const hint = s.name === 'ingest' ? `  (OTLP/HTTP: POST ${s.url}/v1/traces)` : s.name === 'dashboard' ? '  (open in a browser)' : '';
    process.stdout.write(`  ${s.name.padEnd(17)} ${s.url}${hint}\n`);
  }
  if (explicitKeys) {
    process.stdout.write('API keys: PULSEGATE_API_KEYS (sign in to the dashboard with one of them).\n');
  } else {
    // Printed once, on this terminal only: the reading APIs and the dashboard need it; ingest does not.
    process.stdout.write(`API key (tenant default): ${tenantKey.generated ? tenantKey.key : 'the value of PULSEGATE_API_KEY'}\n`);
    process.stdout.write(`  sign in to the dashboard with it; demo: PULSEGATE_API_KEY=${tenantKey.generated ? tenantKey.key : '…'} npm run demo\n`);
  }
  process.stdout.write('Press Ctrl+C to stop.\n');
  const shutdown = (): void => {
    embedded.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** Plays the demo against the URLs of a running Pulsegate (defaults: the embedded start's ports). */
async function demo(args: string[]): Promise<number> {
  const seconds = args[0] === undefined ? undefined : Number(args[0]);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) {
    process.stderr.write(`demo: seconds must be a positive number, got ${JSON.stringify(args[0])}\n`);
    return 2;
  }
  const { demoTargets, runDemo } = await import('./demo');
  let targets: ReturnType<typeof demoTargets>;
  try {
    targets = demoTargets(process.env);
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    return 2;
  }
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const summary = await runDemo({
    ingestUrl: targets.ingest.url,
    aggregatorUrl: targets.aggregator.url,
    riskUrl: targets.risk.url,
    dashboardUrl: targets.dashboard.url,
    apiKey: process.env.PULSEGATE_API_KEY,
    durationSeconds: seconds,
    signal: ac.signal,
    log: (line) => process.stdout.write(line + '\n'),
  });
  if (summary.problems.some((p) => p.includes('cannot reach') || p.includes('could not be sent'))) {
    const where = Object.values(targets).map((t) => `  ${t.url}  (${t.from})`);
    process.stderr.write(`demo: a Pulsegate URL did not answer; the demo used:\n${where.join('\n')}\n`);
  }
  return summary.problems.length === 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case undefined:
      await start();
      return undefined;
    case 'risk':
      return (await import('./commands/risk')).runRiskCli(rest);
    case 'spec':
      return (await import('./commands/spec')).runSpecCommand(rest);
    case 'topics':
      // One-shot: exit as soon as the answer is known, whatever kafkajs still has scheduled.
      return process.exit(await (await import('./commands/topics')).runTopicsCommand(rest));
    case 'demo':
      return demo(rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pulsegate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
