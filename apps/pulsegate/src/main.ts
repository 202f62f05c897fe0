// The `pulsegate` command: `start` runs the embedded pipeline; `risk …` is the pipeline CLI.
import { runRiskCli } from '@pulsegate/risk-scorer';
import { startEmbedded } from './embedded';

const USAGE = `usage:
  pulsegate start                 run ingest, aggregator, anomaly detector and risk scorer in one process
  pulsegate risk gate …           ask the risk scorer whether a version may be promoted (exit 0 yes, 1 no, 2 error)
  pulsegate risk features …       spec-derived release features from two OpenAPI documents
  pulsegate help                  this text`;

async function start(): Promise<void> {
  const embedded = await startEmbedded();
  const mode = embedded.bus.kind === 'kafka' ? 'Kafka bus' : 'in-memory bus';
  const stores = process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES ? 'Redis stores' : 'in-memory stores';
  process.stdout.write(`Pulsegate is running (${mode}, ${stores}):\n`);
  for (const s of embedded.services) {
    const hint = s.name === 'ingest' ? `  (OTLP/HTTP: POST ${s.url}/v1/traces)` : '';
    process.stdout.write(`  ${s.name.padEnd(17)} ${s.url}${hint}\n`);
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

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case undefined:
      await start();
      return undefined;
    case 'risk':
      return runRiskCli(rest);
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
