import { describe, expect, it } from 'vitest';
import { NonRetriableError, PulsegateError, type OutgoingRecord } from '@pulsegate/bus';
import { PublishCoalescer } from '../src/publish';
import { ControlledBus } from './helpers';

const TOPIC = 'coalesce-test';
const rec = (key: string, value: string): OutgoingRecord => ({ key, value: Buffer.from(value) });
const values = (bus: ControlledBus): string[] => bus.recordsIn(TOPIC).map((r) => r.value.toString());

/** Lets queued promise callbacks run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PublishCoalescer', () => {
  it('sends requests that arrive while a publish is in flight together, in arrival order, each resolved once acknowledged', async () => {
    const bus = new ControlledBus();
    const c = new PublishCoalescer(bus, TOPIC);
    bus.hold();
    const resolved: number[] = [];
    const first = c.publish([rec('k', 'a1')]).then(() => resolved.push(1));
    await settle();
    // Arrive while "a1" is unacknowledged: they wait for one combined publish.
    const rest = [2, 3, 4].map((i) => c.publish([rec('k', `a${i}`), rec(`other-${i}`, `b${i}`)]).then(() => resolved.push(i)));
    await settle();
    expect(bus.publishCalls).toHaveLength(1);
    expect(c.waiting()).toBe(3);
    expect(resolved).toEqual([]);
    bus.open();
    await Promise.all([first, ...rest]);
    expect(bus.publishCalls.map((call) => call.length)).toEqual([1, 6]);
    expect(resolved.sort()).toEqual([1, 2, 3, 4]);
    // Per key order is the arrival order.
    expect(bus.recordsIn(TOPIC).filter((r) => r.key === 'k').map((r) => r.value.toString())).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(values(bus).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b2', 'b3', 'b4']);
  });

  it('caps a combined publish at maxBytes (a single larger request still goes alone)', async () => {
    const bus = new ControlledBus();
    const c = new PublishCoalescer(bus, TOPIC, 10);
    bus.hold();
    const all = [c.publish([rec('k', 'x'.repeat(25))])];
    await settle();
    for (let i = 0; i < 5; i++) all.push(c.publish([rec('k', `${i}`.repeat(4))]));
    bus.open();
    await Promise.all(all);
    expect(bus.publishCalls.map((call) => call.map((r) => String(r.value).length))).toEqual([[25], [4, 4], [4, 4], [4]]);
    expect(values(bus)).toEqual(['x'.repeat(25), '0000', '1111', '2222', '3333', '4444']);
  });

  it('a retriable failure fails every request of the combined publish (their exporters retry), and the next publish proceeds', async () => {
    const bus = new ControlledBus();
    const c = new PublishCoalescer(bus, TOPIC);
    bus.hold();
    const first = c.publish([rec('k', 'a')]);
    await settle();
    const second = c.publish([rec('k', 'b')]);
    const third = c.publish([rec('k', 'c')]);
    bus.failWith = new PulsegateError('broker down', { retriable: true });
    bus.open();
    await expect(first).rejects.toThrow('broker down');
    await expect(second).rejects.toThrow('broker down');
    await expect(third).rejects.toThrow('broker down');
    bus.failWith = undefined;
    await c.publish([rec('k', 'd')]);
    expect(values(bus)).toEqual(['d']);
  });

  it('a non-retriable failure of a combined publish retries each request alone: only the bad one fails', async () => {
    class PickyBus extends ControlledBus {
      override async publish(topic: string, records: OutgoingRecord[]): Promise<void> {
        if (records.some((r) => String(r.value) === 'poison')) {
          this.publishCalls.push(records);
          throw new NonRetriableError('record too large');
        }
        return super.publish(topic, records);
      }
    }
    const bus = new PickyBus();
    const c = new PublishCoalescer(bus, TOPIC);
    bus.hold();
    const first = c.publish([rec('k', 'a')]);
    await settle();
    const good1 = c.publish([rec('k', 'b')]);
    const bad = c.publish([rec('k', 'poison')]);
    const good2 = c.publish([rec('k', 'c')]);
    bus.open();
    await first;
    await expect(bad).rejects.toThrow('record too large');
    await good1;
    await good2;
    expect(values(bus)).toEqual(['a', 'b', 'c']);
  });

  it('an empty publish resolves at once without touching the bus', async () => {
    const bus = new ControlledBus();
    await new PublishCoalescer(bus, TOPIC).publish([]);
    expect(bus.publishCalls).toHaveLength(0);
  });
});
