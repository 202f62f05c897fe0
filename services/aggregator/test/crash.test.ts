import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, type Bus } from '@pulsegate/bus';
import { Topics } from '@pulsegate/events';
import { freePort, integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { packed, rng, traffic } from './builders';

const env = integration(['redis', 'kafka']);
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const TOTAL = 100_000;
const WAVES = 10;
const PER_MESSAGE = 500;

interface Instance {
  port: number;
  proc: ChildProcess | null;
}

/**
 * Two aggregator processes in one consumer group; one of them is SIGKILLed at random points
 * while 100 000 events stream in, and restarted. The totals must equal what was sent exactly.
 * Each process is the compiled `node dist/main.js`, as in production, so the PID we kill is the
 * aggregator itself, not a wrapper.
 */
describe.skipIf(env.skip)('aggregator crash test (SIGKILL while consuming)', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let producer: Bus;
  const instances: Instance[] = [];
  const group = `crash-${process.pid}-${Date.now()}`;

  const launch = (inst: Instance): void => {
    const p = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(inst.port), AGGREGATOR_GROUP_ID: group, LOG_LEVEL: 'warn', KAFKA_SESSION_TIMEOUT_MS: '6000', SNAPSHOT_INTERVAL_SECONDS: '3600' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    inst.proc = p;
  };
  const kill = async (inst: Instance): Promise<void> => {
    const p = inst.proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    inst.proc = null;
  };
  const ready = async (inst: Instance): Promise<void> => {
    for (let i = 0; i < 600; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${inst.port}/readyz`)).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`aggregator on ${inst.port} never became ready`);
  };
  /** Calls per connector over the last hour, from whichever instance answers. */
  const totals = async (): Promise<Map<string, number>> => {
    for (const inst of instances) {
      try {
        const res = await fetch(`http://127.0.0.1:${inst.port}/v1/connectors?window=1h`);
        if (res.status !== 200) continue;
        const body = (await res.json()) as { connectors: Array<{ connector: string; calls: number }> };
        return new Map(body.connectors.map((c) => [c.connector, c.calls]));
      } catch {
        // that one is down right now
      }
    }
    return new Map();
  };
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    [kafka, redis] = await Promise.all([startKafka(), startRedis({ appendonly: true })]);
    producer = createBus({ KAFKA_BROKERS: kafka.brokers.join(','), clientId: 'crash-producer' });
    for (let i = 0; i < 2; i++) instances.push({ port: await freePort(), proc: null });
    for (const inst of instances) launch(inst);
    await Promise.all(instances.map(ready));
  });
  afterAll(async () => {
    for (const inst of instances) await kill(inst);
    await producer?.close();
    await Promise.all([kafka?.stop(), redis?.stop()]);
  });

  it('ends with totals equal to the events sent, after several SIGKILLs and restarts', async () => {
    const r = rng(2024);
    const now = Date.now();
    const events = traffic(TOTAL, 99, now - 20 * 60_000, now, { connectors: Array.from({ length: 16 }, (_, i) => `conn-${i}`), tenants: ['default'] });
    const sent = new Map<string, number>();
    for (const e of events) sent.set(e.connector, (sent.get(e.connector) ?? 0) + 1);
    const perWave = TOTAL / WAVES;
    let kills = 0;
    for (let w = 0; w < WAVES; w++) {
      const wave = packed(events.slice(w * perWave, (w + 1) * perWave), PER_MESSAGE);
      const victim = instances[Math.floor(r() * instances.length)]!;
      const crashAt = Math.floor(r() * wave.length);
      // Publish in small slices; at a random slice of every other wave, SIGKILL one instance.
      for (let i = 0; i < wave.length; i += 4) {
        await producer.publish(Topics.invocations, wave.slice(i, i + 4));
        if (w % 2 === 1 && i <= crashAt && crashAt < i + 4) {
          await new Promise((res) => setTimeout(res, Math.floor(r() * 300)));
          await kill(victim);
          kills++;
          launch(victim);
        }
      }
      // Keep the consumers up with the producer: the mock broker keeps ~5 MiB per partition.
      const target = (w + 1) * perWave;
      const t0 = Date.now();
      for (let i = 0; i < 300 && sum(await totals()) < target - perWave / 2; i++) await new Promise((res) => setTimeout(res, 200));
      console.log(`wave ${w + 1}/${WAVES}: ${sum(await totals())} of ${target} counted, waited ${Date.now() - t0} ms, kills so far ${kills}`);
    }
    await Promise.all(instances.map(ready));
    let final = await totals();
    for (let i = 0; i < 600 && sum(final) < TOTAL; i++) {
      await new Promise((res) => setTimeout(res, 200));
      final = await totals();
    }
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(sum(final)).toBe(TOTAL);
    expect(final).toEqual(sent);
  }, 240_000);
});
