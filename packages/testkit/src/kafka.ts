import { freePort } from './ports';
import { killProcess, onPath, pauseProcess, signal, spawnOwned, stopProcess } from './processes';
import type { Spawned } from './processes';
import { containerRuntimeHost } from './runtime';

/** Image used when a container runtime answers. */
export const KAFKA_IMAGE = 'apache/kafka:3.9.1';
/** How long kcat may take to print the mock cluster's bootstrap address, ms. */
export const KAFKA_START_TIMEOUT_MS = 10_000;

/** A Kafka-protocol broker (or cluster) for a test suite. */
export interface KafkaHandle {
  /**
   * Bootstrap addresses (`host:port`). The mock cluster gets new ports on restart(); this array
   * is updated in place, so create clients after a restart.
   */
  readonly brokers: string[];
  /** PID of the kcat process holding the mock cluster (undefined for containers and external). */
  readonly pid: number | undefined;
  readonly source: 'process' | 'container' | 'external';
  /** SIGTERM, then SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash). */
  kill(): Promise<void>;
  /**
   * Starts the broker again. The librdkafka mock keeps everything in memory: after restart() it
   * is an empty cluster on new ports. Use pause()/resume() for an outage that keeps the data.
   */
  restart(): Promise<void>;
  /** SIGSTOP: the broker stops answering but keeps its state (an outage or network stall). */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): Promise<void>;
}

export interface StartKafkaOptions {
  /** Number of brokers in the mock cluster. Default 1. Containers run one broker. */
  brokers?: number;
}

const notOwned = (): Error => new Error('KAFKA_BROKERS is not owned by the harness (it came from an environment override); cannot kill, pause or restart it');

/**
 * Starts a real Kafka-protocol broker for tests: `KAFKA_BROKERS` if set, else the apache/kafka
 * image when a container runtime answers (one broker), else the librdkafka mock cluster run by
 * `kcat` (topics auto-created with 4 partitions, in memory, ~5 MiB kept per partition).
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaHandle> {
  const count = options.brokers ?? 1;
  const external = process.env.KAFKA_BROKERS;
  if (external !== undefined && external !== '') return externalKafka(external);
  const useKcat = onPath('kcat');
  // The container path runs a single broker; a multi-broker request prefers the mock when present.
  if (count === 1 || !useKcat) {
    const host = await containerRuntimeHost();
    if (host !== null) {
      if (count !== 1) throw new Error(`startKafka: containers run one broker (asked for ${count}); install kcat for a multi-broker mock cluster`);
      return containerKafka(host);
    }
  }
  if (!useKcat) throw new Error('kcat is not on PATH: apt-get install -y kcat (or set KAFKA_BROKERS)');
  return processKafka(count);
}

function externalKafka(list: string): KafkaHandle {
  const fail = async (): Promise<void> => {
    throw notOwned();
  };
  return {
    brokers: list.split(',').map((b) => b.trim()).filter((b) => b !== ''),
    pid: undefined,
    source: 'external',
    stop: async () => undefined,
    kill: fail,
    restart: fail,
    pause: fail,
    resume: fail,
  };
}

/** Starts `kcat` with a mock cluster and resolves with its bootstrap addresses. */
async function spawnMock(count: number): Promise<{ proc: Spawned; brokers: string[] }> {
  let seen = '';
  let found: ((brokers: string[]) => void) | undefined;
  const bootstrap = new Promise<string[]>((resolve) => {
    found = resolve;
  });
  // `-q` keeps kcat quiet; librdkafka still logs the mock bootstrap address at notice level
  // ("... replaced with 127.0.0.1:PORT"), and with `-d mock` as "bootstrap.servers=...".
  const proc = spawnOwned('kcat', ['-b', 'localhost:1', '-X', `test.mock.num.brokers=${count}`, '-C', '-q', '-t', 'keepalive'], {
    onOutput: (chunk) => {
      if (found === undefined) return;
      seen = (seen + chunk).slice(-8192);
      const match = /bootstrap\.servers=(\S+)/.exec(seen) ?? /replaced with (\S+)/.exec(seen);
      if (match !== null) {
        found(match[1]!.split(','));
        found = undefined;
      }
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`kcat did not print the mock cluster's bootstrap.servers within ${KAFKA_START_TIMEOUT_MS} ms:\n${proc.tail()}`)), KAFKA_START_TIMEOUT_MS);
  });
  const exited = proc.exited.then((): never => {
    throw new Error(`kcat exited before printing bootstrap.servers:\n${proc.tail()}`);
  });
  try {
    const brokers = await Promise.race([bootstrap, timeout, exited]);
    return { proc, brokers };
  } catch (err) {
    await stopProcess(proc);
    throw err;
  } finally {
    clearTimeout(timer);
    exited.catch(() => undefined);
  }
}

async function processKafka(count: number): Promise<KafkaHandle> {
  let { proc, brokers: initial } = await spawnMock(count);
  const brokers = [...initial];
  let stopped = false;
  return {
    brokers,
    get pid() {
      return proc.isAlive() ? proc.pid : undefined;
    },
    source: 'process',
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopProcess(proc);
    },
    kill: async () => {
      await killProcess(proc);
    },
    restart: async () => {
      if (stopped) throw new Error('kafka handle was stopped; start a new one');
      await stopProcess(proc);
      ({ proc, brokers: initial } = await spawnMock(count));
      brokers.splice(0, brokers.length, ...initial);
    },
    pause: async () => {
      await pauseProcess(proc);
    },
    resume: async () => {
      signal(proc, 'SIGCONT');
    },
  };
}

async function containerKafka(host: string): Promise<KafkaHandle> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  // The broker advertises host:port to clients, so the host port must be known before start:
  // bind the same free port inside and outside the container.
  const port = await freePort();
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      // Same shape as the mock broker: auto-created topics with 4 partitions.
      KAFKA_NUM_PARTITIONS: '4',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  let stopped = false;
  return {
    brokers: [`${host}:${port}`],
    pid: undefined,
    source: 'container',
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await container.stop({ timeout: 5_000 });
    },
    kill: async () => {
      await container.stop({ timeout: 0, remove: false });
    },
    restart: async () => {
      await container.restart();
    },
    // The runtime's pause (cgroup freezer): signals to PID 1 from inside the container are ignored.
    pause: async () => {
      await (await getContainerRuntimeClient()).container.getById(container.getId()).pause();
    },
    resume: async () => {
      await (await getContainerRuntimeClient()).container.getById(container.getId()).unpause();
    },
  };
}
