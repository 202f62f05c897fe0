import { CliError, numberFlag, parseArgs, processIo, type CliIo } from './cli';
import { loadTopicsConfig, type TopicsConfig } from '../topics/config';
import { describeKafkaError, kafkaTopicAdmin, type TopicAdmin } from '../topics/admin';
import { planText, planTopics, type TopicPlan } from '../topics/plan';

/** Exit codes of `pulsegate topics`: 0 every topic as wanted, 1 the cluster did not get there, 2 could not run (configuration, broker unreachable). */
export const TOPICS_EXIT = { ok: 0, failed: 1, couldNotRun: 2 } as const;

/** Default bound of one whole run, ms. */
export const DEFAULT_TOPICS_TIMEOUT_MS = 60_000;

const USAGE = `usage:
  pulsegate topics [--dry-run] [--add-partitions] [--json] [--timeout-ms <ms>]
Creates every Pulsegate topic on KAFKA_BROKERS with its partitions and retention
(PULSEGATE_TOPIC_PARTITIONS, PULSEGATE_TOPIC_RETENTION_HOURS, PULSEGATE_TOPIC_REPLICATION_FACTOR).
Existing topics are left as they are; one with fewer partitions than wanted fails the run unless
--add-partitions grows it. --dry-run prints the plan and changes nothing.
exit codes: 0 topics ready (or plan clean), 1 the cluster refused or is not in shape, 2 could not run`;

/** Failure of one phase, carrying the exit code it ends the run with. */
class TopicsFailure extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface TopicsDeps {
  env?: Record<string, string | undefined>;
  io?: CliIo;
  /** Builds the admin client. Default kafkajs on config.brokers. */
  admin?: (config: TopicsConfig, requestTimeoutMs: number) => TopicAdmin;
}

/** Rejects with `failure` when `work` has not settled after `ms`. */
async function within<T>(work: Promise<T>, ms: number, failure: () => TopicsFailure): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure()), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function apply(config: TopicsConfig, admin: TopicAdmin, plan: TopicPlan): Promise<void> {
  const create = plan.steps.flatMap((s) => (s.action === 'create' ? config.topics.filter((t) => t.name === s.topic) : []));
  const grow = plan.steps.flatMap((s) => (s.action === 'add-partitions' ? [{ topic: s.topic, count: s.to }] : []));
  try {
    if (create.length > 0) await admin.create(create, config.replicationFactor);
  } catch (err) {
    throw new TopicsFailure(`could not create ${create.map((t) => t.name).join(', ')}: ${describeKafkaError(err)}`, TOPICS_EXIT.failed);
  }
  try {
    if (grow.length > 0) await admin.addPartitions(grow);
  } catch (err) {
    throw new TopicsFailure(`could not add partitions to ${grow.map((g) => g.topic).join(', ')}: ${describeKafkaError(err)}`, TOPICS_EXIT.failed);
  }
}

/**
 * `pulsegate topics`: reads the cluster, plans (planTopics), prints the plan, and unless
 * --dry-run creates the missing topics (and with --add-partitions grows short ones), then reads
 * the cluster again to check every topic is there with its partitions. Bounded by --timeout-ms.
 * Resolves to the exit code (TOPICS_EXIT).
 */
export async function runTopicsCommand(argv: string[], deps: TopicsDeps = {}): Promise<number> {
  const io = deps.io ?? processIo;
  let admin: TopicAdmin | undefined;
  try {
    const args = parseArgs(argv, { values: ['timeout-ms'], booleans: ['dry-run', 'add-partitions', 'json', 'help'] });
    if (args.flags.has('help')) {
      io.stdout.write(USAGE + '\n');
      return TOPICS_EXIT.ok;
    }
    const timeoutMs = numberFlag(args.flags, 'timeout-ms') ?? DEFAULT_TOPICS_TIMEOUT_MS;
    if (timeoutMs < 1_000) throw new CliError('--timeout-ms must be at least 1000');
    let config: TopicsConfig;
    try {
      config = loadTopicsConfig(deps.env ?? process.env);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    const dryRun = args.flags.has('dry-run');
    const where = config.brokers.join(',');
    const client = (deps.admin ?? ((c, ms) => kafkaTopicAdmin({ brokers: c.brokers, requestTimeoutMs: ms })))(config, Math.min(10_000, timeoutMs));
    admin = client;
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(0, deadline - Date.now());
    const timedOut = (what: string, code: number) => () => new TopicsFailure(`${what} did not finish within --timeout-ms ${timeoutMs} (KAFKA_BROKERS=${where})`, code);
    const read = async (what: string, code: number) => {
      try {
        return await within(client.describe(config.topics.map((t) => t.name)), left(), timedOut(what, code));
      } catch (err) {
        if (err instanceof TopicsFailure) throw err;
        throw new TopicsFailure(`${what} on KAFKA_BROKERS=${where} failed: ${describeKafkaError(err)}`, code);
      }
    };

    const before = await read('reading the topics', TOPICS_EXIT.couldNotRun);
    const plan = planTopics(config.topics, before.topics, { addPartitions: args.flags.has('add-partitions') });
    if (before.retentionUnknown !== undefined && before.topics.size > 0) plan.notes.push(`retention of existing topics not checked: ${before.retentionUnknown}`);
    if (args.flags.has('json')) io.stdout.write(JSON.stringify({ brokers: config.brokers, dryRun, ...plan }, null, 2) + '\n');
    else io.stdout.write(`Pulsegate topics on ${where}${dryRun ? ' (dry run, nothing changed)' : ''}:\n${planText(plan, dryRun)}`);
    if (dryRun) return plan.blocked ? TOPICS_EXIT.failed : TOPICS_EXIT.ok;

    await within(apply(config, client, plan), left(), timedOut('creating the topics', TOPICS_EXIT.failed));
    const after = await read('checking the topics', TOPICS_EXIT.failed);
    const missing = config.topics.filter((t) => (after.topics.get(t.name)?.partitions ?? 0) < t.partitions).map((t) => `${t.name} (${after.topics.get(t.name)?.partitions ?? 0} of ${t.partitions} partitions)`);
    if (missing.length > 0) throw new TopicsFailure(`not in shape after the run: ${missing.join(', ')}`, TOPICS_EXIT.failed);
    io.stdout.write(`topics ready: ${config.topics.length} topics on ${where}\n`);
    return TOPICS_EXIT.ok;
  } catch (err) {
    if (err instanceof TopicsFailure) {
      io.stderr.write(`topics: ${err.message}\n`);
      return err.code;
    }
    io.stderr.write(`topics: ${err instanceof CliError ? err.message : `unexpected error: ${(err as Error).message}`}\n`);
    if (err instanceof CliError && err.usage) io.stderr.write(USAGE + '\n');
    return TOPICS_EXIT.couldNotRun;
  } finally {
    // A client stuck on an unreachable broker must not hold the run past its bound.
    if (admin !== undefined) await within(admin.close(), 5_000, () => new TopicsFailure('close', TOPICS_EXIT.failed)).catch(() => undefined);
  }
}
