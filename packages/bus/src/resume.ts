import type { DecodedBatch, HandlerOffsets } from './types';

/**
 * Thrown by a guarded handler when the handler's own store holds a partition at an offset before
 * the batch: its effects of the records in between are gone (e.g. Redis restarted from an older
 * snapshot). The runner drops the batch and everything read after it and reads again from `offset`.
 */
export class ResumeAt extends Error {
  constructor(
    readonly partition: number,
    readonly offset: string,
  ) {
    super(`the handler's store holds partition ${partition} at offset ${offset}, before the batch: reading again from there`);
    this.name = 'ResumeAt';
  }
}

/**
 * The handler of one bus batch, guarded by the handler's store (SubscribeOptions.offsets): before
 * every try (the first and each retry, whole batch or a part of it) the store is asked for the
 * partition's next offset; when it lies before the bus batch's first offset, ResumeAt is thrown
 * instead of handling, so nothing is applied past a gap in the store. A store ahead of the batch
 * changes nothing (the handler is idempotent for records it already applied).
 */
export function guardedHandler<T, R>(offsets: HandlerOffsets | undefined, batchFirstOffset: string, handle: (b: DecodedBatch<T>) => Promise<R>): (b: DecodedBatch<T>) => Promise<R> {
  if (offsets === undefined) return handle;
  return async (b) => {
    const next = await offsets.next(b.partition);
    if (next !== undefined && BigInt(next) < BigInt(batchFirstOffset)) throw new ResumeAt(b.partition, next);
    return handle(b);
  };
}
