// `node dist/topics.js [flags]`: `pulsegate topics` alone, for the topic init job. The same command
// as `pulsegate topics`, without loading the services, the dashboard and OpenTelemetry that the full
// command line bundles (peak RSS: see deploy/k8s/topics.yaml).
import { runTopicsCommand } from './commands/topics';

process.exit(await runTopicsCommand(process.argv.slice(2)));
