import type { Express } from 'express';
import type { Logger } from '@pulsegate/logging';
import { listen, type Listening } from './listen';
import type { ServerLimits } from './server-limits';

export interface ServeOptions {
  /** Service name for the log lines. */
  name: string;
  logger: Logger;
  app: Express;
  host: string;
  port: number;
  /** Client time limits (headers, whole request, body idle, keep-alive). Default DEFAULT_SERVER_LIMITS. */
  limits?: ServerLimits;
  /**
   * What to stop after the server has stopped accepting and finished its open requests, in this
   * order (typically: the service's consumers, then the bus, then telemetry, so the spans of the
   * shutdown itself are exported).
   */
  shutdown: Array<() => Promise<void>>;
  /**
   * Started once the server listens (e.g. consumers), so /readyz can answer 503 meanwhile and a
   * watcher sees the service come up before it does any work. Optional.
   */
  start?: () => Promise<void>;
  /** Extra fields for the "listening" log line. */
  details?: Record<string, unknown>;
}

/**
 * Listens, then on SIGINT/SIGTERM shuts down in order (stop accepting, drain, the given steps) and
 * exits 0, or 1 when a step fails. Shutdown runs once however many signals arrive.
 */
export async function serveUntilSignal(options: ServeOptions): Promise<Listening> {
  const { logger } = options;
  const server = await listen(options.app, options.host, options.port, { limits: options.limits, logger });
  logger.info({ url: server.url, ...options.details }, `${options.name} listening on ${server.url}`);
  if (options.start !== undefined) await options.start();
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      await server.close();
      for (const step of options.shutdown) await step();
      logger.info('stopped');
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stop(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  return server;
}
