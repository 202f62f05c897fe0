/**
 * Idle CPU of a process holding a KafkaBus producer and consumer, with and without the kafkajs
 * request-queue patch (src/kafkajs-patches.ts). Prints figures; not part of the test suite.
 *   npx tsx packages/bus/bench/idle-cpu.ts
 * Starts its own Kafka-protocol broker (@pulsegate/testkit) or uses KAFKA_BROKERS, then runs itself
 * as a child once per setting (the patch is applied when the bus module loads).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startKafka } from '@pulsegate/testkit';
import { createBus, patchKafkajsRequestQueue } from '../src/index';

const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 5_000);

async function child(brokers: string): Promise<void> {
  const bus = createBus({ KAFKA_BROKERS: brokers, clientId: 'bench-idle' }, { kafka: { consumer: { maxWaitTimeMs: 500 } } });
  const topic = `bench.idle.${process.pid}`;
  let delivered = 0;
  const sub = await bus.subscribe<string>({ topic, groupId: `bench-idle-${process.pid}`, decode: (r) => r.value.toString(), handle: async (b) => void (delivered += b.items.length) });
  await bus.publish(topic, [{ key: 'k', value: Buffer.from('one') }]);
  while (delivered === 0) await new Promise((r) => setTimeout(r, 50));
  // Idle: connected producer and consumer, nothing to send or fetch but the consumer's long polls.
  let wakeups = 0;
  const before = process.cpuUsage();
  const t0 = performance.now();
  const { setTimeout: realSetTimeout } = globalThis;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    wakeups++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  await new Promise((r) => realSetTimeout(r, IDLE_MS));
  globalThis.setTimeout = realSetTimeout;
  const cpu = process.cpuUsage(before);
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ patched: patchKafkajsRequestQueue(), cpuMsPerSecond: (cpu.user + cpu.system) / 1000 / secs, timersPerSecond: wakeups / secs }));
  await sub.stop();
  await bus.close();
}

async function main(): Promise<void> {
  if (process.env.BENCH_IDLE_CHILD !== undefined) return child(process.env.BENCH_IDLE_CHILD);
  const kafka = process.env.KAFKA_BROKERS === undefined ? await startKafka() : undefined;
  const brokers = process.env.KAFKA_BROKERS ?? kafka!.brokers.join(',');
  try {
    for (const setting of ['off', 'on']) {
      const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env: { ...process.env, BENCH_IDLE_CHILD: brokers, PULSEGATE_KAFKAJS_PATCHES: setting },
        encoding: 'utf8',
      });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { patched: boolean; cpuMsPerSecond: number; timersPerSecond: number };
      console.log(`${r.patched ? 'patched  ' : 'unpatched'}: ${r.cpuMsPerSecond.toFixed(1)} ms CPU per second idle, ${r.timersPerSecond.toFixed(0)} setTimeout calls per second (producer + consumer connected, ${IDLE_MS / 1000} s)`);
    }
  } finally {
    await kafka?.stop();
  }
}

await main();
