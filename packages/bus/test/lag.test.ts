import { describe, expect, it } from 'vitest';
import { MemoryBus, partitionFor } from '../src/index';

describe('MemoryBus subscription lag', () => {
  it('is the exact number of records not yet handled on each owned partition', async () => {
    const bus = new MemoryBus({ partitions: 4, maxBatchRecords: 2 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const handled: string[] = [];
    let entered: () => void = () => undefined;
    const first = new Promise<void>((r) => (entered = r));
    const sub = await bus.subscribe<string>({
      groupId: 'g',
      topic: 't',
      decode: (r) => r.value.toString('utf8'),
      handle: async (batch) => {
        entered();
        await gate;
        handled.push(...batch.items.map((i) => i.value));
      },
    });
    expect(sub.lag!()).toEqual([0, 1, 2, 3].map((partition) => ({ topic: 't', partition, lag: 0 })));
    await bus.publish('t', ['a', 'b', 'c', 'd', 'e'].map((v) => ({ key: 'k', value: v })));
    await first;
    const p = partitionFor('k', 4);
    // The first batch (2 records) is in the handler, nothing committed yet: all 5 are lag.
    expect(sub.lag!().find((l) => l.partition === p)!.lag).toBe(5);
    expect(sub.lag!().filter((l) => l.partition !== p).every((l) => l.lag === 0)).toBe(true);
    release();
    for (let i = 0; i < 200 && handled.length < 5; i++) await new Promise((r) => setTimeout(r, 5));
    expect(handled).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(sub.lag!().map((l) => l.lag)).toEqual([0, 0, 0, 0]);
    await bus.close();
  });
});
