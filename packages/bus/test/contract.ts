import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NonRetriableError } from '../src/index';
import type { Bus, BusRecord, DecodedBatch, Subscription } from '../src/index';

/** How long a contract test waits for deliveries before failing, ms (bounded wait, not a timing assertion). */
const WAIT_MS = 30_000;

async function waitFor(what: string, condition: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const text = (r: BusRecord): string => r.value.toString('utf8');

interface Received {
  values: string[];
  partitions: Set<number>;
  sub: Subscription;
}

async function collect(bus: Bus, topic: string, groupId: string, deadLetterTopic?: string): Promise<Received> {
  const received: Omit<Received, 'sub'> = { values: [], partitions: new Set() };
  const sub = await bus.subscribe<string>({
    topic,
    groupId,
    deadLetterTopic,
    decode: (r) => {
      const v = text(r);
      if (v.startsWith('BAD')) throw new NonRetriableError(`not a record: ${v}`);
      return v;
    },
    handle: async (batch) => {
      for (const item of batch.items) received.values.push(item.value);
      received.partitions.add(batch.partition);
    },
  });
  return Object.assign(received, { sub });
}

/**
 * The behaviour every Bus implementation promises, run against MemoryBus and KafkaBus alike.
 * `makeBus` gives a fresh bus per test; the suite closes it. Group ids are unique per test.
 */
export function busContract(name: string, makeBus: () => Bus, options: { concurrent?: boolean } = {}): void {
  const unique = (): string => `contract.${randomUUID().slice(0, 8)}`;

  async function withBus(body: (bus: Bus) => Promise<void>): Promise<void> {
    const bus = makeBus();
    try {
      await body(bus);
    } finally {
      await bus.close();
      await bus.close(); // idempotent
    }
  }

  // Kafka tests spend most of their time waiting for group joins; running them side by side
  // (each on its own topic and groups) keeps the suite short.
  const suite = options.concurrent === true ? describe.concurrent : describe;
  suite(`${name}: bus contract`, () => {
    it('delivers every record exactly once when nothing fails, in publish order per key, across many keys', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const keys = Array.from({ length: 40 }, (_, i) => `tenant-${i % 7}/connector-${i}`);
        const perKey = 25;
        const all = keys.flatMap((k) => Array.from({ length: perKey }, (_, seq) => ({ key: k, seq })));
        // Interleave keys so order per key must survive mixing with other keys in one request.
        all.sort((a, b) => a.seq - b.seq || a.key.localeCompare(b.key));
        for (let i = 0; i < all.length; i += 100) {
          await bus.publish(topic, all.slice(i, i + 100).map((r) => ({ key: r.key, value: `${r.key}#${r.seq}`, headers: { seq: String(r.seq) } })));
        }
        const got = await collect(bus, topic, 'g-order');
        await waitFor('all records', () => got.values.length >= all.length);
        expect(got.values).toHaveLength(all.length);
        const seen = new Map<string, number[]>();
        for (const v of got.values) {
          const [key, seq] = v.split('#') as [string, string];
          seen.set(key, [...(seen.get(key) ?? []), Number(seq)]);
        }
        expect([...seen.keys()].sort()).toEqual([...keys].sort());
        for (const k of keys) expect(seen.get(k)).toEqual(Array.from({ length: perKey }, (_, i) => i));
        // All handled: once the last chunk is committed, no partition reports lag.
        await waitFor('zero lag', () => {
          const lag = got.sub.lag?.() ?? [];
          return lag.length > 0 && lag.every((l) => l.topic === topic && l.lag === 0);
        });
        await got.sub.stop();
        await got.sub.stop(); // idempotent
      });
    });

    it('shares partitions between two subscriptions of one group: each gets some, together every record exactly once', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const a = await collect(bus, topic, 'g-share');
        const b = await collect(bus, topic, 'g-share');
        // Warm up until both members own partitions (a Kafka rebalance takes seconds), so the
        // measured records are published into a settled group.
        for (let round = 0; a.values.length === 0 || b.values.length === 0; round++) {
          if (round > 150) throw new Error('the group never gave both members a partition');
          await bus.publish(topic, Array.from({ length: 16 }, (_, i) => ({ key: `warm-${round}-${i}`, value: `warm-${round}-${i}` })));
          await new Promise((r) => setTimeout(r, 200));
        }
        const expected = Array.from({ length: 400 }, (_, i) => `real-${i}`);
        await bus.publish(topic, expected.map((v) => ({ key: v, value: v })));
        const real = (r: Received): string[] => r.values.filter((v) => v.startsWith('real-'));
        await waitFor('every real record', () => real(a).length + real(b).length >= expected.length);
        await new Promise((r) => setTimeout(r, 300)); // would expose duplicates arriving late
        const union = [...real(a), ...real(b)];
        expect(union).toHaveLength(expected.length);
        expect(new Set(union)).toEqual(new Set(expected));
        expect(real(a).length).toBeGreaterThan(0);
        expect(real(b).length).toBeGreaterThan(0);
        await Promise.all([a.sub.stop(), b.sub.stop()]);
      });
    });

    it("resumes from the handler's store when it is behind the committed offset (lost recent writes, while running and on assignment) and goes on when it is ahead: every record's effect exactly once", async () => {
      await withBus(async (bus) => {
        const topic = unique();
        // A store like the window store: effects and the last applied offset per partition, written
        // together (idempotent on offsets), plus the resume offset the bus advances after a batch.
        const effects = new Map<string, string>();
        let applied = -1;
        let resume: number | undefined;
        let reapplied = 0;
        const handled: Array<[string, string]> = [];
        const offsets = {
          next: async () => (resume === undefined ? undefined : String(resume)),
          advance: async (_p: number, next: string) => void (resume = Math.max(resume ?? -1, Number(next))),
        };
        const handle = async (batch: DecodedBatch<string>): Promise<void> => {
          handled.push([batch.firstOffset, batch.lastOffset]);
          for (const i of batch.items) {
            const o = Number(i.record.offset);
            if (o <= applied) continue;
            if (effects.has(i.record.offset)) reapplied++;
            effects.set(i.record.offset, i.value);
            applied = o;
          }
        };
        const values = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `v${from + i}`);
        // One key: one partition, so offsets are 0, 1, 2, ...
        await bus.publish(topic, values(0, 40).map((v) => ({ key: 'k', value: v })));
        const sub = await bus.subscribe<string>({ topic, groupId: 'g-resume', offsets, decode: text, handle });
        await waitFor('the first 40 records and their resume offset', () => resume === 40);
        // The store loses its recent writes: back to what it held after offset 19.
        for (let o = 20; o < 40; o++) effects.delete(String(o));
        applied = 19;
        resume = 20;
        handled.length = 0;
        await bus.publish(topic, values(40, 10).map((v) => ({ key: 'k', value: v })));
        await waitFor('every record applied again', () => effects.size === 50 && resume === 50);
        // The bus read from the store's offset, not the committed one.
        expect(handled.some(([first]) => Number(first) <= 20)).toBe(true);
        expect([...effects.keys()].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
        expect([...effects.values()]).toEqual(expect.arrayContaining(values(0, 50)));
        await sub.stop();

        // Lost writes again, found by a new member of the group, with no new record to check: the
        // assignment itself starts from the store's offset.
        for (let o = 30; o < 50; o++) effects.delete(String(o));
        applied = 29;
        resume = 30;
        const restarted = await bus.subscribe<string>({ topic, groupId: 'g-resume', offsets, decode: text, handle });
        await waitFor('the records the store lost, without a new record', () => effects.size === 50 && resume === 50);
        await restarted.stop();

        // A new group (nothing committed, reads from the beginning) on a store that is ahead: the
        // records it already holds are handed over and skipped by the handler, none applied twice.
        handled.length = 0;
        const ahead = await bus.subscribe<string>({ topic, groupId: 'g-resume-ahead', offsets, decode: text, handle });
        await bus.publish(topic, values(50, 5).map((v) => ({ key: 'k', value: v })));
        await waitFor('the new records', () => effects.size === 55 && resume === 55);
        expect(reapplied).toBe(0);
        expect(effects.get('54')).toBe('v54');
        await ahead.stop();
      });
    });

    it('redelivers, at least once, what a failing consumer never committed, to a new subscription of its group; the failing batch is retried, never skipped', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const expected = Array.from({ length: 50 }, (_, i) => `rec-${i}`);
        await bus.publish(topic, expected.map((v, i) => ({ key: `k${i % 5}`, value: v })));
        const attempts: Array<Pick<DecodedBatch<string>, 'partition' | 'firstOffset' | 'lastOffset'>> = [];
        const crashing = await bus.subscribe<string>({
          topic,
          groupId: 'g-crash',
          // Never split or give up within this test: it is about redelivery of the whole batch.
          isolateAfter: 1_000,
          maxAttempts: 1_000,
          decode: text,
          handle: async (batch) => {
            attempts.push({ partition: batch.partition, firstOffset: batch.firstOffset, lastOffset: batch.lastOffset });
            throw new Error('downstream unavailable');
          },
        });
        await waitFor('three attempts of the failing batch', () => attempts.length >= 3);
        await crashing.stop();
        // Every attempt was the same batch: the runner retries it instead of moving on.
        expect(new Set(attempts.map((x) => JSON.stringify(x))).size).toBe(1);
        const next = await collect(bus, topic, 'g-crash');
        await waitFor('redelivery', () => new Set(next.values).size >= expected.length);
        expect(new Set(next.values)).toEqual(new Set(expected));
        await next.sub.stop();
      });
    });

    it('moves undecodable records to the dead-letter topic with x-dlq-reason, delivering every good record around them in order', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const dlqTopic = `${topic}.dlq`;
        const values: string[] = [];
        for (let i = 0; i < 20; i++) {
          values.push(`good-${i}`);
          if (i % 4 === 1) values.push(`BAD-${i}`);
        }
        await bus.publish(topic, values.map((v) => ({ key: 'one-series', value: v, headers: { origin: 'test' } })));
        const dead: BusRecord[] = [];
        const dlqSub = await bus.subscribe<BusRecord>({ topic: dlqTopic, groupId: 'g-dlq-reader', decode: (r) => r, handle: async (b) => void dead.push(...b.items.map((i) => i.value)) });
        const good = await collect(bus, topic, 'g-dlq', dlqTopic);
        await waitFor('good and dead records', () => good.values.length >= 20 && dead.length >= 5);
        expect(good.values).toEqual(values.filter((v) => v.startsWith('good')));
        expect(dead.map(text)).toEqual(values.filter((v) => v.startsWith('BAD')));
        for (const d of dead) {
          expect(d.headers['x-dlq-reason']).toBe(`not a record: ${text(d)}`);
          expect(d.headers['x-dlq-topic']).toBe(topic);
          expect(d.headers.origin).toBe('test');
          expect(d.key).toBe('one-series');
        }
        await Promise.all([dlqSub.stop(), good.sub.stop()]);
      });
    });

    it('dead-letters a batch its handler rejects as non-retriable, then keeps consuming', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const dlqTopic = `${topic}.dlq`;
        const handled: string[] = [];
        const dead: BusRecord[] = [];
        const dlqSub = await bus.subscribe<BusRecord>({ topic: dlqTopic, groupId: 'g-reject-reader', decode: (r) => r, handle: async (b) => void dead.push(...b.items.map((i) => i.value)) });
        const sub = await bus.subscribe<string>({
          topic,
          groupId: 'g-reject',
          deadLetterTopic: dlqTopic,
          decode: text,
          handle: async (batch) => {
            if (batch.items.some((i) => i.value === 'reject-me')) throw new NonRetriableError('violates a business rule');
            handled.push(...batch.items.map((i) => i.value));
          },
        });
        await bus.publish(topic, [{ key: 'k', value: 'reject-me' }]);
        await waitFor('the rejected record in the dead-letter topic', () => dead.length >= 1);
        const after = Array.from({ length: 10 }, (_, i) => `after-${i}`);
        await bus.publish(topic, after.map((v) => ({ key: 'k', value: v })));
        await waitFor('records after the rejected one', () => handled.length >= after.length);
        expect(handled).toEqual(after);
        expect(dead.map(text)).toEqual(['reject-me']);
        expect(dead[0]!.headers['x-dlq-reason']).toBe('violates a business rule');
        await Promise.all([dlqSub.stop(), sub.stop()]);
      });
    });

    it('dead-letters only the record a handler rejects as non-retriable; the rest of its batch, its key included, is handled in order', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const dlqTopic = `${topic}.dlq`;
        const handled: string[] = [];
        const dead: BusRecord[] = [];
        const dlqSub = await bus.subscribe<BusRecord>({ topic: dlqTopic, groupId: 'g-iso-reader', decode: (r) => r, handle: async (b) => void dead.push(...b.items.map((i) => i.value)) });
        const records = Array.from({ length: 60 }, (_, i) => ({ key: `tenant-${i % 3}`, value: i === 31 ? 'poison' : `r${i}` }));
        await bus.publish(topic, records);
        const sub = await bus.subscribe<string>({
          topic,
          groupId: 'g-iso',
          deadLetterTopic: dlqTopic,
          decode: text,
          handle: async (batch) => {
            if (batch.items.some((i) => i.value === 'poison')) throw new NonRetriableError('label cannot be stored');
            handled.push(...batch.items.map((i) => i.value));
          },
        });
        await waitFor('every good record and the poison one', () => new Set(handled).size >= 59 && dead.length >= 1);
        const good = records.filter((r) => r.value !== 'poison');
        expect(new Set(handled)).toEqual(new Set(good.map((r) => r.value)));
        for (const key of ['tenant-0', 'tenant-1', 'tenant-2']) {
          const want = good.filter((r) => r.key === key).map((r) => r.value);
          const got = handled.filter((v) => want.includes(v));
          // At least once: a split batch may hand a record over again, but never out of order.
          expect([...new Set(got)]).toEqual(want);
        }
        expect(dead.map(text)).toEqual(['poison']);
        expect(dead[0]!.headers['x-dlq-reason']).toBe('label cannot be stored');
        expect(dead[0]!.key).toBe('tenant-1');
        await Promise.all([dlqSub.stop(), sub.stop()]);
      });
    });

    it('isolates a record that keeps failing with a retriable error: other keys are handled meanwhile, it is dead-lettered with its reason and reported while it fails', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const dlqTopic = `${topic}.dlq`;
        const handled: string[] = [];
        const dead: BusRecord[] = [];
        const failingSeen: number[] = [];
        const dlqSub = await bus.subscribe<BusRecord>({ topic: dlqTopic, groupId: 'g-stuck-reader', decode: (r) => r, handle: async (b) => void dead.push(...b.items.map((i) => i.value)) });
        // One key, one partition: the poison record shares its batch with the good ones.
        await bus.publish(topic, [
          { key: 'a', value: 'a0' },
          { key: 'b', value: 'b0' },
          { key: 'a', value: 'poison' },
          { key: 'b', value: 'b1' },
          { key: 'a', value: 'a1' },
        ]);
        const box: { sub?: Subscription } = {};
        const sub = await bus.subscribe<string>({
          topic,
          groupId: 'g-stuck',
          deadLetterTopic: dlqTopic,
          isolateAfter: 2,
          maxAttempts: 50,
          decode: text,
          handle: async (batch) => {
            if (batch.items.some((i) => i.value === 'poison')) {
              failingSeen.push(box.sub?.failing?.().length ?? 0);
              throw new URIError('URI malformed');
            }
            handled.push(...batch.items.map((i) => i.value));
          },
        });
        box.sub = sub;
        await waitFor('the good records and the dead-lettered poison', () => new Set(handled).size >= 4 && dead.length >= 1);
        expect(new Set(handled)).toEqual(new Set(['a0', 'b0', 'b1', 'a1']));
        expect(handled.indexOf('a1')).toBeGreaterThan(handled.indexOf('a0'));
        expect(dead.map(text)).toEqual(['poison']);
        expect(dead[0]!.headers['x-dlq-reason']).toMatch(/^URI malformed \(gave up after \d+ attempts\)$/);
        // While it failed, the subscription said so.
        expect(failingSeen.some((n) => n === 1)).toBe(true);
        await waitFor('no failing batch once it is dead-lettered', () => (sub.failing?.() ?? []).length === 0);
        await Promise.all([dlqSub.stop(), sub.stop()]);
      });
    });

    it('dead-letters a lone batch that keeps failing with a retriable error after maxAttempts, then keeps consuming', async () => {
      await withBus(async (bus) => {
        const topic = unique();
        const dlqTopic = `${topic}.dlq`;
        const handled: string[] = [];
        const dead: BusRecord[] = [];
        let tries = 0;
        const dlqSub = await bus.subscribe<BusRecord>({ topic: dlqTopic, groupId: 'g-max-reader', decode: (r) => r, handle: async (b) => void dead.push(...b.items.map((i) => i.value)) });
        await bus.publish(topic, [{ key: 'k', value: 'always-fails' }]);
        const sub = await bus.subscribe<string>({
          topic,
          groupId: 'g-max',
          deadLetterTopic: dlqTopic,
          maxAttempts: 4,
          decode: text,
          handle: async (batch) => {
            if (batch.items.some((i) => i.value === 'always-fails')) {
              tries++;
              throw new Error('downstream rejects it');
            }
            handled.push(...batch.items.map((i) => i.value));
          },
        });
        await waitFor('the dead-lettered record', () => dead.length >= 1);
        expect(tries).toBe(4);
        expect(dead[0]!.headers['x-dlq-reason']).toBe('downstream rejects it (gave up after 4 attempts)');
        await bus.publish(topic, [{ key: 'k', value: 'next' }]);
        await waitFor('the next record', () => handled.length >= 1);
        expect(handled).toEqual(['next']);
        await Promise.all([dlqSub.stop(), sub.stop()]);
      });
    });
  });
}
