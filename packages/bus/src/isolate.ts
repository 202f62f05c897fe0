import { isRetriable } from './errors';
import { backoffDelay, sleep, type BackoffOptions } from './retry';
import type { BusRecord, DecodedBatch, FailingBatch } from './types';

/** Default SubscribeOptions.maxAttempts: tries of one unit of a batch before it is dead-lettered. */
export const DEFAULT_MAX_ATTEMPTS = 30;
/** Default SubscribeOptions.isolateAfter: failed tries of a unit with a retriable error before it is split. */
export const DEFAULT_ISOLATE_AFTER = 3;

/** Records of a batch handed to the handler together. */
interface Unit<T> {
  key: string;
  items: DecodedBatch<T>['items'];
  attempts: number;
}

/** A record given up with the reason. */
export interface Rejected {
  record: BusRecord;
  err: Error;
}

export interface IsolationDeps<T> {
  handle(batch: DecodedBatch<T>): Promise<void>;
  maxAttempts: number;
  isolateAfter: number;
  retry?: BackoffOptions | undefined;
  signal?: AbortSignal | undefined;
  /** True when the runner no longer owns the batch: stop trying, commit nothing. */
  gone(): boolean;
  /** Errors the caller owns (e.g. lost group membership): rethrown at once. */
  isFatal?(err: unknown): boolean;
  /** Called on every failed try, with the batch's failure record (for stuck-batch reports). */
  onFailure?(failing: FailingBatch, err: Error, delayMs: number): void;
  clock?: () => number;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function sub<T>(batch: DecodedBatch<T>, items: DecodedBatch<T>['items']): DecodedBatch<T> {
  if (items.length === batch.items.length) return batch;
  return { topic: batch.topic, partition: batch.partition, items, firstOffset: items[0]!.record.offset, lastOffset: items[items.length - 1]!.record.offset };
}

/**
 * Hands a batch to the handler so that a bad record costs only itself (and, in order, the records
 * of its own key after it), never the partition:
 * - the whole batch is tried first; a non-retriable failure, or `isolateAfter` retriable ones,
 *   splits it by record key (records of one key keep their order; Kafka promises no order across
 *   keys), then a failing unit of one key into halves, down to single records;
 * - each pass tries the first unit of every key once, so the other keys are handled while one is
 *   still failing; a failing pass waits with jittered backoff before the next;
 * - a single record is dead-lettered (returned) when its failure is non-retriable, when it failed
 *   `isolateAfter` times while other units of the batch succeeded (the handler works, the record
 *   does not), or after `maxAttempts` tries in any case (a batch never blocks its partition
 *   forever).
 * Resolves with the rejected records, or 'abandoned' when `gone()` turned true first.
 */
export async function handleIsolating<T>(batch: DecodedBatch<T>, deps: IsolationDeps<T>): Promise<Rejected[] | 'abandoned'> {
  const clock = deps.clock ?? Date.now;
  const rejected: Rejected[] = [];
  let units: Array<Unit<T>> = [{ key: '', items: batch.items, attempts: 0 }];
  let split = false;
  let anySucceeded = false;
  let failing: FailingBatch | undefined;
  for (let pass = 0; units.length > 0; pass++) {
    const tried = new Set<string>();
    const next: Array<Unit<T>> = [];
    let retriableFailure = false;
    let lastDelay = 0;
    for (const unit of units) {
      // Only the first unit of a key: the later ones keep their order behind it.
      if (tried.has(unit.key)) {
        next.push(unit);
        continue;
      }
      tried.add(unit.key);
      if (deps.gone()) return 'abandoned';
      try {
        await deps.handle(sub(batch, unit.items));
        anySucceeded = true;
        continue;
      } catch (caught) {
        if (deps.isFatal?.(caught) === true) throw caught;
        const err = asError(caught);
        unit.attempts++;
        const retriable = isRetriable(caught);
        failing ??= { partition: batch.partition, since: clock(), failures: 0, reason: '' };
        failing.failures++;
        failing.reason = err.message;
        const isolate = !retriable || unit.attempts >= (split && anySucceeded ? 1 : deps.isolateAfter);
        if (isolate && unit.items.length > 1) {
          next.push(...divide(unit, split));
          split = true;
          continue;
        }
        const single = unit.items.length === 1;
        const giveUp = !retriable || unit.attempts >= deps.maxAttempts || (single && split && anySucceeded && unit.attempts >= deps.isolateAfter);
        if (giveUp) {
          const why = retriable ? `${err.message} (gave up after ${unit.attempts} attempts)` : err.message;
          for (const i of unit.items) rejected.push({ record: i.record, err: new Error(why, { cause: caught }) });
          continue;
        }
        retriableFailure = true;
        lastDelay = backoffDelay(Math.min(unit.attempts - 1, 10), deps.retry);
        deps.onFailure?.(failing, err, lastDelay);
        next.push(unit);
      }
    }
    units = next;
    if (retriableFailure && units.length > 0) {
      await sleep(lastDelay, deps.signal);
      if (deps.gone()) return 'abandoned';
    }
  }
  return rejected;
}

/** The whole batch splits by record key; a unit of one key into halves. */
function divide<T>(unit: Unit<T>, split: boolean): Array<Unit<T>> {
  if (!split) {
    const byKey = new Map<string, DecodedBatch<T>['items']>();
    for (const i of unit.items) {
      const k = i.record.key ?? '';
      let list = byKey.get(k);
      if (list === undefined) byKey.set(k, (list = []));
      list.push(i);
    }
    if (byKey.size > 1) return [...byKey].map(([key, items]) => ({ key, items, attempts: 0 }));
  }
  const half = Math.ceil(unit.items.length / 2);
  return [
    { key: unit.key === '' ? (unit.items[0]!.record.key ?? '') : unit.key, items: unit.items.slice(0, half), attempts: 0 },
    { key: unit.key === '' ? (unit.items[0]!.record.key ?? '') : unit.key, items: unit.items.slice(half), attempts: 0 },
  ];
}
