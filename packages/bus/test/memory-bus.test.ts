import { describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../src/index';
import { busContract } from './contract';

busContract('MemoryBus', () => new MemoryBus());

describe('MemoryBus retention', () => {
  it('keeps at most retainBytes of consumed (or never consumed) records, and all unconsumed ones', async () => {
    const bus = new MemoryBus({ partitions: 1, retainBytes: 1_000 });
    const value = Buffer.alloc(300, 1);
    await bus.publish('t', Array.from({ length: 10 }, () => ({ key: 'k', value })));
    // Nobody consumes 't': only the newest 3 records (900 bytes) stay.
    expect(bus.recordsIn('t').map((r) => r.offset)).toEqual(['7', '8', '9']);

    const seen: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const sub = await bus.subscribe({ groupId: 'g', topic: 'u', fromBeginning: true, decode: (r) => r.offset, handle: async (b) => {
      await gate;
      for (const i of b.items) seen.push(i.value);
    } });
    await bus.publish('u', Array.from({ length: 10 }, () => ({ key: 'k', value })));
    // Not consumed yet: nothing may be dropped, whatever the budget.
    expect(bus.recordsIn('u')).toHaveLength(10);
    release();
    await vi.waitFor(() => expect(seen).toHaveLength(10));
    await bus.publish('u', [{ key: 'k', value }]);
    await vi.waitFor(() => expect(seen).toHaveLength(11));
    await bus.publish('u', [{ key: 'k', value: Buffer.alloc(1) }]);
    expect(bus.recordsIn('u').length).toBeLessThanOrEqual(4);
    await sub.stop();
    await bus.close();
  });
});

describe('MemoryBus backpressure', () => {
  it('publish waits while a consumed partition holds more than maxPartitionBytes, and goes on once consumers catch up', async () => {
    const bus = new MemoryBus({ partitions: 1, retainBytes: 0, maxPartitionBytes: 1_000 });
    const value = Buffer.alloc(300, 1);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let handled = 0;
    const sub = await bus.subscribe({ groupId: 'g', topic: 't', decode: (r) => r.offset, handle: async (b) => {
      await gate;
      handled += b.items.length;
    } });
    for (let i = 0; i < 4; i++) await bus.publish('t', [{ key: 'k', value }]); // 1 200 bytes held
    let done = false;
    const blocked = bus.publish('t', [{ key: 'k', value }]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(done).toBe(false);
    release();
    await blocked;
    await vi.waitFor(() => expect(handled).toBe(5));
    await sub.stop();
    await bus.close();
  });
});
