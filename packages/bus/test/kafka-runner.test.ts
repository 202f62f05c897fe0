import type { Consumer, EachBatchPayload } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { NonRetriableError } from '../src/index';
import { BatchRunner } from '../src/kafka-runner';
import type { DecodedBatch, OutgoingRecord, SubscribeOptions } from '../src/types';

/**
 * The linger logic of the KafkaBus runner against a scripted kafkajs (fetched batches handed to
 * eachBatch by the test). The paths a real broker rarely takes — a partition that is not caught
 * up but gets no more data, a rebalance or lost membership while records are pending — are
 * driven here; kafka-bus.test.ts covers the same runner on the harness broker.
 */

const TOPIC = 't';

interface Fake {
  runner: BatchRunner<string>;
  handled: Array<DecodedBatch<string>>;
  commits: string[];
  seeks: string[];
  resolved: string[];
  published: OutgoingRecord[];
  stopping: { value: boolean };
  heartbeatFails: { value: boolean };
  /** eachBatch with these offsets (returns once the records are buffered or handed to the background handler). */
  batch(offsets: number[], highWatermark: number): Promise<void>;
  /** Waits for the batches in the handler. */
  idle(): Promise<void>;
}

function fake(overrides: Partial<SubscribeOptions<string>> = {}, maxBatchRecords = 500): Fake {
  const f = { handled: [], commits: [], seeks: [], resolved: [], published: [], stopping: { value: false }, heartbeatFails: { value: false } } as unknown as Fake;
  const consumer = {
    commitOffsets: async (offsets: Array<{ offset: string }>) => void f.commits.push(...offsets.map((o) => o.offset)),
    seek: ({ offset }: { offset: string }) => void f.seeks.push(offset),
  } as unknown as Consumer;
  const options: SubscribeOptions<string> = {
    groupId: 'g',
    topic: TOPIC,
    lingerMs: 100,
    decode: (r) => r.value.toString(),
    handle: async (b) => void f.handled.push({ ...b, items: [...b.items] }),
    ...overrides,
  };
  f.runner = new BatchRunner<string>({
    consumer,
    options,
    maxBatchRecords,
    retry: { initialMs: 5, maxMs: 20 },
    log: undefined,
    publish: async (_t, records) => void f.published.push(...records),
    isStopping: () => f.stopping.value,
    signal: new AbortController().signal,
    failing: new Map(),
  });
  f.batch = (offsets, highWatermark) => {
    const messages = offsets.map((o) => ({ key: Buffer.from('k'), value: Buffer.from(`v${o}`), headers: {}, offset: String(o), timestamp: '0', attributes: 0 }));
    const payload = {
      batch: { topic: TOPIC, partition: 0, highWatermark: String(highWatermark), messages, lastOffset: () => String(offsets[offsets.length - 1]) },
      heartbeat: async () => {
        if (f.heartbeatFails.value) throw new Error('The group is rebalancing, so a rejoin is needed');
      },
      isRunning: () => true,
      isStale: () => false,
      resolveOffset: (o: string) => void f.resolved.push(o),
      pause: () => () => undefined,
    } as unknown as EachBatchPayload;
    return f.runner.eachBatch(payload);
  };
  f.idle = () => f.runner.idle();
  return f;
}

const values = (f: Fake): string[][] => f.handled.map((b) => b.items.map((i) => i.value));
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A promise the test resolves by hand: handlers await `gate` until `release()`. */
function manualGate(): { gate: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  return { gate, release };
}
/** A handler recording the start and end of each batch; the batch from offset 0 waits for `gate`. */
const recordStartEnd =
  (order: string[], gate: Promise<void>) =>
  async (b: DecodedBatch<string>): Promise<void> => {
    order.push(`start ${b.firstOffset}-${b.lastOffset}`);
    if (b.firstOffset === '0') await gate;
    order.push(`end ${b.firstOffset}-${b.lastOffset}`);
  };
async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(5);
  }
}

describe('KafkaBus runner linger (scripted kafkajs)', () => {
  it('merges consecutive fetched batches of a partition into one handler batch, flushed once caught up', async () => {
    const f = fake({ lingerMs: 60_000 });
    await f.batch([0, 1, 2], 10);
    await f.batch([3, 4, 5], 10);
    expect(f.handled).toEqual([]);
    expect(f.commits).toEqual([]); // read, resolved so kafkajs fetches on, never committed
    expect(f.resolved).toEqual(['2', '5']);
    await f.batch([6, 7, 8, 9], 10); // the high watermark: caught up, handled at once
    await f.idle();
    expect(values(f)).toEqual([['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']]);
    expect(f.handled[0]).toMatchObject({ firstOffset: '0', lastOffset: '9', partition: 0 });
    expect(f.commits).toEqual(['10']);
  });

  it('with lingerMs 0, hands a batch over at once while the handler is free and merges what arrives while it is busy', async () => {
    const { gate, release } = manualGate();
    const f = fake({
      lingerMs: 0,
      handle: async (b) => {
        if (b.firstOffset === '0') await gate;
        f.handled.push({ ...b, items: [...b.items] });
      },
    });
    await f.batch([0, 1], 100); // not caught up, but the handler is free: handed over
    await f.batch([2, 3], 100); // the handler is busy: pending
    await f.batch([4, 5], 100);
    release();
    await f.idle();
    expect(values(f)).toEqual([['v0', 'v1'], ['v2', 'v3', 'v4', 'v5']]);
    expect(f.commits).toEqual(['2', '6']);
  });

  it('hands pending records over after lingerMs when no more data arrives', async () => {
    const f = fake({ lingerMs: 100 });
    await f.batch([0, 1, 2], 50);
    expect(f.handled).toEqual([]);
    await until('the linger flush', () => f.commits.length > 0, 100 + 5_000);
    expect(values(f)).toEqual([['v0', 'v1', 'v2']]);
    expect(f.commits).toEqual(['3']);
  });

  it('cuts merged batches at maxBatchWeight and maxBatchRecords, in order', async () => {
    const f = fake({ lingerMs: 60_000, maxBatchWeight: 4 }, 3);
    await f.batch([0, 1], 100);
    await f.batch([2, 3, 4, 5, 6], 100);
    await f.idle();
    expect(values(f)).toEqual([['v0', 'v1', 'v2'], ['v3', 'v4', 'v5']]);
    expect(f.commits).toEqual(['3', '6']);
    const g = fake({ lingerMs: 60_000, maxBatchWeight: 4 });
    await g.batch([0, 1, 2, 3, 4, 5, 6, 7, 8], 100);
    await g.idle();
    expect(values(g)).toEqual([['v0', 'v1', 'v2', 'v3'], ['v4', 'v5', 'v6', 'v7']]);
    expect(g.commits).toEqual(['4', '8']);
  });

  it('dead-letters poison records of a merged batch and commits past them', async () => {
    const f = fake({
      decode: (r) => {
        const v = r.value.toString();
        if (v === 'v1') throw new NonRetriableError('bad record');
        return v;
      },
    });
    await f.batch([0, 1], 5);
    await f.batch([2, 3, 4], 5);
    await f.idle();
    expect(values(f)).toEqual([['v0', 'v2', 'v3', 'v4']]);
    expect(f.published.map((r) => r.headers?.['x-dlq-offset'])).toEqual(['1']);
    expect(f.commits).toEqual(['5']);
  });

  it('retries a failing merged batch unchanged and never skips it', async () => {
    let failures = 2;
    const seen: string[][] = [];
    const f = fake({
      lingerMs: 50,
      handle: async (b) => {
        seen.push(b.items.map((i) => i.value));
        if (failures-- > 0) throw new Error('redis down');
      },
    });
    await f.batch([0, 1], 9);
    await f.batch([2], 9);
    await until('the batch to succeed', () => f.commits.length > 0);
    expect(seen).toEqual([['v0', 'v1', 'v2'], ['v0', 'v1', 'v2'], ['v0', 'v1', 'v2']]);
    expect(f.commits).toEqual(['3']);
  });

  it('a rebalance drops pending records uncommitted (the next generation reads them again)', async () => {
    const f = fake({ lingerMs: 50 });
    await f.batch([0, 1, 2], 9);
    f.runner.reset();
    await settle(300);
    expect(f.handled).toEqual([]);
    expect(f.commits).toEqual([]);
    // The new generation fetches from the committed offset: the same records, now caught up.
    await f.batch([0, 1, 2, 3, 4, 5, 6, 7, 8], 9);
    await f.idle();
    expect(values(f)).toEqual([['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8']]);
    expect(f.commits).toEqual(['9']);
  });

  it('a lost membership during a linger flush rewinds kafkajs to the first pending offset and commits nothing', async () => {
    const f = fake({
      lingerMs: 50,
      handle: async (_b, ctx) => {
        f.heartbeatFails.value = true;
        await ctx.heartbeat();
      },
    });
    await f.batch([0, 1, 2], 9);
    await until('the rewind', () => f.seeks.length > 0);
    expect(f.seeks).toEqual(['0']);
    expect(f.commits).toEqual([]);
  });

  it('a batch given up in the handler drops everything read after it and rewinds kafkajs to its first offset', async () => {
    const { gate, release } = manualGate();
    const f = fake({
      lingerMs: 60_000,
      handle: async (_b, ctx) => {
        await gate;
        f.heartbeatFails.value = true;
        await ctx.heartbeat();
      },
    });
    await f.batch([3, 4, 5], 6); // caught up: handed to the handler, which holds it
    await f.batch([6, 7], 20); // read while the handler runs: pending
    release();
    await f.idle();
    expect(f.seeks).toEqual(['3']);
    expect(f.commits).toEqual([]);
    // What was pending is gone too: after the rewind nothing is handed over without a new fetch.
    await settle(100);
    expect(f.handled).toEqual([]);
    expect(f.commits).toEqual([]);
  });

  it('handles a batch in the background: the next records are read meanwhile, then handed over in order', async () => {
    const order: string[] = [];
    const { gate, release } = manualGate();
    const f = fake({
      lingerMs: 60_000,
      handle: recordStartEnd(order, gate),
    });
    await f.batch([0, 1], 2); // caught up: in the handler
    await f.batch([2, 3], 10); // buffered while the handler runs
    expect(f.resolved).toEqual(['1', '3']);
    const next = f.batch([4, 5, 6, 7, 8, 9], 10); // caught up: waits for the batch in the handler
    await settle(50);
    expect(order).toEqual(['start 0-1']);
    release();
    await next;
    await f.idle();
    expect(order).toEqual(['start 0-1', 'end 0-1', 'start 2-9', 'end 2-9']);
    expect(f.commits).toEqual(['2', '10']);
  });

  it('a timer flush and an eachBatch of the same partition take turns: order holds', async () => {
    const order: string[] = [];
    const { gate, release } = manualGate();
    const f = fake({
      lingerMs: 20,
      handle: recordStartEnd(order, gate),
    });
    await f.batch([0, 1], 9);
    await until('the timer flush to start', () => order.length > 0);
    const next = f.batch([2, 3, 4, 5, 6, 7, 8], 9); // waits for the flush in progress
    await settle(50);
    expect(order).toEqual(['start 0-1']);
    release();
    await next;
    await f.idle();
    expect(order).toEqual(['start 0-1', 'end 0-1', 'start 2-8', 'end 2-8']);
    expect(f.commits).toEqual(['2', '9']);
  });

  it('stop waits for the batch in the handler (committed) and drops pending records uncommitted', async () => {
    const { gate, release } = manualGate();
    const f = fake({
      lingerMs: 60_000,
      handle: async (b) => {
        await gate;
        f.handled.push(b);
      },
    });
    await f.batch([0, 1, 2], 3); // caught up: in the handler
    await f.batch([3, 4], 9); // pending
    f.stopping.value = true;
    f.runner.stopTimers();
    await f.batch([5], 9); // ignored while stopping
    const drained = f.runner.drain();
    release();
    await drained;
    expect(values(f)).toEqual([['v0', 'v1', 'v2']]);
    expect(f.commits).toEqual(['3']);
  });

  it('lingerMs 0 hands every fetched batch over on its own', async () => {
    const f = fake({ lingerMs: 0 });
    await f.batch([0, 1], 9);
    await f.batch([2], 9);
    await f.idle();
    expect(values(f)).toEqual([['v0', 'v1'], ['v2']]);
    expect(f.commits).toEqual(['2', '3']);
  });
});
