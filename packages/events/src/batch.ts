import type { InvocationEvent } from './invocation';
import { validateInvocation, type ValidationProblem } from './validate';

/**
 * Wire format of one message on the invocations topic: the events of one tenant/connector packed
 * together, so the per-message cost of the Kafka client is paid once per batch instead of once per
 * span. `format` and `v` make the envelope self-describing and versioned.
 */
export interface InvocationBatch {
  format: 'pulsegate.invocation-batch';
  v: 1;
  events: InvocationEvent[];
}

export const INVOCATION_BATCH_FORMAT = 'pulsegate.invocation-batch';
/** Upper bound on events per batch message (keeps one message well under broker limits). */
export const MAX_EVENTS_PER_BATCH = 2_000;

/** Partition key: all events of one series land on one partition, in order. */
export function seriesKey(tenant: string, connector: string): string {
  return `${tenant}\u001f${connector}`;
}

export function encodeInvocationBatch(events: readonly InvocationEvent[]): Buffer {
  return Buffer.from(JSON.stringify({ format: INVOCATION_BATCH_FORMAT, v: 1, events }));
}

/** Why a batch message could not be used; `retriable` is always false: bad input stays bad. */
export class BatchDecodeError extends Error {
  readonly retriable = false;
  constructor(
    message: string,
    readonly problems: ValidationProblem[] = [],
  ) {
    super(message);
    this.name = 'BatchDecodeError';
  }
}

/**
 * Decodes and validates one invocations-topic message. Throws BatchDecodeError when the envelope
 * is unreadable, has another version, or any event breaks the schema (the whole message then goes
 * to the dead-letter topic: a producer that writes one bad event is broken).
 */
export function decodeInvocationBatch(value: Buffer | string): InvocationEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new BatchDecodeError(`undecodable batch: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new BatchDecodeError('batch must be a JSON object');
  const o = parsed as Record<string, unknown>;
  if (o.format !== INVOCATION_BATCH_FORMAT) throw new BatchDecodeError(`unknown batch format ${JSON.stringify(o.format)}`);
  if (o.v !== 1) throw new BatchDecodeError(`unsupported batch version ${JSON.stringify(o.v)}`);
  if (!Array.isArray(o.events)) throw new BatchDecodeError('batch.events must be an array');
  if (o.events.length > MAX_EVENTS_PER_BATCH) throw new BatchDecodeError(`batch has ${o.events.length} events; at most ${MAX_EVENTS_PER_BATCH}`);
  for (let i = 0; i < o.events.length; i++) {
    const problems = validateInvocation(o.events[i]);
    if (problems.length > 0) {
      const first = problems[0]!;
      throw new BatchDecodeError(`event ${i}: ${first.field} ${first.message}`, problems);
    }
  }
  return o.events as InvocationEvent[];
}
