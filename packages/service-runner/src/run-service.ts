import type { EventEmitter } from 'node:events';
import type { Express } from 'express';
import { z } from 'zod';
import type { Bus, CreateBusOptions } from '@pulsegate/bus';
import { intVar } from '@pulsegate/env';
import { listen, type Listening, type ServerLimits } from '@pulsegate/http-kit';
import { createLogger, type Logger } from '@pulsegate/logging';
import { startTelemetry, type Telemetry } from '@pulsegate/telemetry';

/** Default of SHUTDOWN_GRACE_MS: below Kubernetes' default terminationGracePeriodSeconds (30 s), ms. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;

/** Default of SHUTDOWN_DRAIN_MS, ms. */
export const DEFAULT_SHUTDOWN_DRAIN_MS = 1_000;

/** Exit codes of every service: 0 after a clean shutdown, 1 on a failure at run time, 2 on bad configuration. */
export const EXIT = { ok: 0, failed: 1, config: 2 } as const;

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type ShutdownSignal = keyof typeof SIGNAL_NUMBERS;

/** Settings every service reads the same way, besides its own. */
export interface RunnerConfig {
  /** pino level from LOG_LEVEL. Default info. */
  logLevel: string;
  /** Longest the ordered shutdown may take before the process exits 1 anyway (SHUTDOWN_GRACE_MS), ms. Default 25 000. */
  shutdownGraceMs: number;
  /** How long a stopping server still accepts, answering with `Connection: close` (SHUTDOWN_DRAIN_MS), ms. Default 1 000. */
  shutdownDrainMs: number;
  /**
   * Whether the Kafka clients ask the broker to create a topic they use that does not exist
   * (KAFKA_AUTO_CREATE_TOPICS). Default true, for a local broker; false in production, where
   * `pulsegate topics` creates them with their partitions and retention.
   */
  autoCreateTopics: boolean;
}

const runnerSchema = z.object({
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent', ''], {
      message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'info' : v)),
  SHUTDOWN_GRACE_MS: intVar('SHUTDOWN_GRACE_MS', DEFAULT_SHUTDOWN_GRACE_MS, 100, 600_000),
  SHUTDOWN_DRAIN_MS: intVar('SHUTDOWN_DRAIN_MS', DEFAULT_SHUTDOWN_DRAIN_MS, 0, 600_000),
  KAFKA_AUTO_CREATE_TOPICS: z
    .enum(['true', 'false', ''], { message: 'KAFKA_AUTO_CREATE_TOPICS must be true or false' })
    .optional()
    .transform((v) => v !== 'false'),
});

/** Parses LOG_LEVEL, SHUTDOWN_GRACE_MS, SHUTDOWN_DRAIN_MS and KAFKA_AUTO_CREATE_TOPICS; throws an Error naming each bad variable. */
export function loadRunnerConfig(env: Record<string, string | undefined>): RunnerConfig {
  const parsed = runnerSchema.safeParse(env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  const e = parsed.data;
  if (e.SHUTDOWN_DRAIN_MS >= e.SHUTDOWN_GRACE_MS) {
    throw new Error(`SHUTDOWN_DRAIN_MS (${e.SHUTDOWN_DRAIN_MS}) must be less than SHUTDOWN_GRACE_MS (${e.SHUTDOWN_GRACE_MS})`);
  }
  return { logLevel: e.LOG_LEVEL, shutdownGraceMs: e.SHUTDOWN_GRACE_MS, shutdownDrainMs: e.SHUTDOWN_DRAIN_MS, autoCreateTopics: e.KAFKA_AUTO_CREATE_TOPICS };
}

/** The Kafka client id (and self-telemetry `service.name`) of a service: `pulsegate-<name>`. */
export function kafkaClientId(name: string): string {
  return `pulsegate-${name}`;
}

/** What `create` gets: the parsed configuration and the pieces built before the service. */
export interface ServiceContext<C> {
  config: C;
  runner: RunnerConfig;
  logger: Logger;
  /** The bus (Kafka client id `pulsegate-<name>`); runService closes it after the service stops. */
  bus: Bus;
}

/** A service as runService drives it. */
export interface RunnableService {
  app: Express;
  /** Starts the work that is not HTTP (consumers, timers); called once the server listens. */
  start(): Promise<void>;
  /** Stops that work: refuses new requests, finishes and commits the batch in flight. Idempotent. */
  stop(): Promise<void>;
  /** Extra fields for the "listening" log line. */
  details?: Record<string, unknown>;
}

/** The configuration every service has. */
export interface BaseConfig {
  host: string;
  port: number;
  /** Kafka bootstrap brokers; empty = the in-memory bus. */
  kafkaBrokers: string[];
  /** Client time limits (HTTP_*_TIMEOUT_MS). Default DEFAULT_SERVER_LIMITS. */
  http?: ServerLimits;
}

export interface RunServiceOptions<C extends BaseConfig> {
  /** Service name: log `service` key, `pulsegate-<name>` client id and telemetry service.name. */
  name: string;
  /** The service's own configuration; throws an Error naming the bad variable. */
  loadConfig(env: Record<string, string | undefined>): C;
  /** Kafka consumer tuning and the like from the configuration. Default none. */
  busOptions?(config: C): Omit<CreateBusOptions, 'logger'>;
  /** Builds the service (after config, logger, telemetry and the bus). */
  create(context: ServiceContext<C>): Promise<RunnableService>;
  /** Variable that sets the port, named when the port is taken. Default PORT. */
  portVariable?: string;
  /** Default process.env. */
  env?: Record<string, string | undefined>;
  /** Where SIGINT/SIGTERM arrive. Default process. */
  signals?: EventEmitter;
  /** How the process ends. Default process.exit. */
  exit?: (code: number) => void;
  /** Where a configuration error is written (there is no logger yet). Default stderr. */
  writeError?: (line: string) => void;
}

/** A service that listens; `shutdown` resolves with the exit code it would use. */
export interface RunningService {
  url: string;
  logger: Logger;
  shutdown(signal: ShutdownSignal): Promise<number>;
}

/**
 * Runs a service the one way all four do it: configuration first (an error names the variable and
 * exits 2), then the logger, self-telemetry, the bus (Kafka client id `pulsegate-<name>`), the
 * service (`create`), listen, and only then the consumers (`start`), so /readyz answers while they
 * join their groups. On SIGTERM or SIGINT it shuts down in order: for SHUTDOWN_DRAIN_MS keep
 * answering with `Connection: close`, stop accepting and answer every open request, stop the service
 * (its consumers finish and commit their batch, its stores close), close the bus, flush telemetry;
 * then exit 0, or 1 when a step fails or the whole does not finish within SHUTDOWN_GRACE_MS. A
 * second signal exits at once (128 + signal number). Resolves once listening (undefined when it
 * exited early).
 */
export async function runService<C extends BaseConfig>(options: RunServiceOptions<C>): Promise<RunningService | undefined> {
  const env = options.env ?? process.env;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? process;
  const writeError = options.writeError ?? ((line: string) => process.stderr.write(line + '\n'));
  const clientId = kafkaClientId(options.name);

  // Both parsed before anything reports, so one start names every bad variable.
  const problems: string[] = [];
  const parse = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return undefined;
    }
  };
  const runner = parse(() => loadRunnerConfig(env));
  const config = parse(() => options.loadConfig(env));
  if (runner === undefined || config === undefined) {
    writeError(`${options.name}: ${problems.join('; ')}`);
    exit(EXIT.config);
    return undefined;
  }

  const logger = createLogger({ name: options.name, level: runner.logLevel });
  let telemetry: Telemetry | undefined;
  let bus: Bus | undefined;
  let service: RunnableService | undefined;
  let server: Listening | undefined;
  try {
    telemetry = await startTelemetry({ serviceName: clientId, env });
    // Loaded once self-telemetry runs, so its kafkajs instrumentation sees the client being built.
    const { createBus } = await import('@pulsegate/bus');
    const busOptions = options.busOptions?.(config);
    bus = createBus({ KAFKA_BROKERS: config.kafkaBrokers.join(','), clientId }, { ...busOptions, kafka: { ...busOptions?.kafka, autoCreateTopics: runner.autoCreateTopics }, logger });
    service = await options.create({ config, runner, logger, bus });
    server = await listen(service.app, config.host, config.port, { limits: config.http, logger });
  } catch (err) {
    logger.fatal({ err }, startFailureMessage(err, config, options.portVariable ?? 'PORT'));
    await closeQuietly([service, bus, telemetry], logger);
    exit(EXIT.failed);
    return undefined;
  }
  logger.info({ url: server.url, bus: bus.kind, ...service.details }, `${options.name} listening on ${server.url}`);

  const listening = server;
  const running = service;
  const openBus = bus;
  const ready = telemetry;
  let stopping: Promise<number> | undefined;
  const shutdown = (signal: ShutdownSignal): Promise<number> =>
    (stopping ??= (async () => {
      logger.info({ signal, graceMs: runner.shutdownGraceMs }, 'shutting down');
      let timer: NodeJS.Timeout | undefined;
      const overdue = new Promise<number>((resolve) => {
        timer = setTimeout(() => {
          logger.error({ graceMs: runner.shutdownGraceMs }, 'shutdown did not finish within SHUTDOWN_GRACE_MS');
          resolve(EXIT.failed);
        }, runner.shutdownGraceMs);
      });
      const ordered = (async () => {
        try {
          await listening.close({ drainMs: runner.shutdownDrainMs });
          await running.stop();
          await openBus.close();
          await ready.shutdown();
          logger.info({ requests: listening.requests() }, 'stopped');
          return EXIT.ok;
        } catch (err) {
          logger.error({ err }, 'shutdown failed');
          return EXIT.failed;
        }
      })();
      const code = await Promise.race([ordered, overdue]);
      clearTimeout(timer);
      return code;
    })());

  for (const signal of Object.keys(SIGNAL_NUMBERS) as ShutdownSignal[]) {
    signals.on(signal, () => {
      if (stopping !== undefined) {
        logger.warn({ signal }, 'second signal: exiting at once');
        exit(128 + SIGNAL_NUMBERS[signal]);
        return;
      }
      void shutdown(signal).then(exit);
    });
  }

  try {
    await running.start();
  } catch (err) {
    logger.fatal({ err }, `${options.name} failed to start`);
    await shutdown('SIGTERM');
    exit(EXIT.failed);
    return undefined;
  }
  return { url: listening.url, logger, shutdown };
}

/** The fatal line for a failed start: a taken port names the variable that moves it (`portVariable`). */
export function startFailureMessage(err: unknown, config: { host: string; port: number }, portVariable: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `port ${config.port} on ${config.host} is already in use: set ${portVariable} to a free port`;
  if (code === 'EADDRNOTAVAIL') return `cannot bind ${config.host}: set HOST to an address of this machine`;
  return `failed to start: ${err instanceof Error ? err.message : String(err)}`;
}

/** Stops, then closes, whatever a failed start had built, in order. */
async function closeQuietly(parts: Array<{ stop(): Promise<void> } | { close(): Promise<void> } | { shutdown(): Promise<void> } | undefined>, logger: Logger): Promise<void> {
  for (const part of parts) {
    try {
      if (part === undefined) continue;
      if ('stop' in part) await part.stop();
      else if ('close' in part) await part.close();
      else await part.shutdown();
    } catch (err) {
      logger.warn({ err }, 'cleanup after a failed start failed');
    }
  }
}
