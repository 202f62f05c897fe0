/*
 * The ingest server as the benchmark measures it: its own process (forked by ingest.ts), so peak
 * RSS and CPU time are the server's alone, not the load generator's or the span builder's.
 * argv: bus mode (memory | memory-per-span | kafka | kafka-per-span), Kafka brokers (kafka modes).
 * With BENCH_CPU_PROF=<dir>, writes a CPU profile of the timed run (mark to stop) into <dir>.
 * IPC: sends {port} once listening; on 'mark' restarts the CPU count (after the warm-up) and
 * replies {marked}; on 'stop' replies {cpuUs, peakRss} (peak over the whole life) and exits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { MemoryBus, createBus, type Bus, type OutgoingRecord } from '@pulsegate/bus';
import { Topics, decodeInvocationBatch, encodeInvocationBatch, encodeInvocationBatchV1 } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { createIngestService, loadConfig } from '../src/index';

/** Splits every batch record into one record per event: the "one Kafka message per span" design. */
class PerSpanBus implements Bus {
  constructor(private readonly inner: Bus) {}
  get kind() {
    return this.inner.kind;
  }
  publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    const split: OutgoingRecord[] = [];
    // v1 for single events: without the v2 field list it is the smaller message.
    for (const r of records) for (const e of decodeInvocationBatch(r.value as Buffer)) split.push({ key: r.key, value: encodeInvocationBatchV1([e]) });
    return this.inner.publish(topic, split);
  }
  subscribe: Bus['subscribe'] = (o) => this.inner.subscribe(o);
  isReady(): boolean {
    return this.inner.isReady();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function makeBus(mode: string, brokers: string | undefined): Promise<Bus> {
  if (mode.startsWith('memory')) {
    const bus = new MemoryBus({ retainRecords: 16 });
    // Keeps the memory bus trimmed the way a consumer would, without decoding.
    await bus.subscribe({ groupId: 'bench-drain', topic: Topics.invocations, decode: () => null, handle: async () => undefined });
    return bus;
  }
  if (brokers === undefined) throw new Error('kafka mode needs brokers');
  const bus = createBus({ KAFKA_BROKERS: brokers, clientId: 'ingest-bench' });
  // A first publish connects the producer and creates the topic before timing starts.
  for (let i = 0; i < 200 && !bus.isReady(); i++) await new Promise((r) => setTimeout(r, 50));
  await bus.publish(Topics.invocations, [{ key: 'warm', value: encodeInvocationBatch([]) }]);
  return bus;
}

async function main(): Promise<void> {
  const [mode = 'memory', brokers] = process.argv.slice(2);
  let peakRss = process.memoryUsage.rss();
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 10);
  const inner = await makeBus(mode, brokers);
  const bus = mode.endsWith('per-span') ? new PerSpanBus(inner) : inner;
  const service = await createIngestService({ bus, logger: createLogger({ name: 'ingest-bench', level: 'silent' }), config: loadConfig({}) });
  await service.start();
  const server = service.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  let cpu0 = process.cpuUsage();
  const profileDir = process.env.BENCH_CPU_PROF;
  const inspector = profileDir === undefined ? undefined : new Session();
  process.send!({ port: (server.address() as AddressInfo).port });
  process.on('message', (m) => {
    if (m === 'mark') {
      // After the warm-up: count (and profile) only the timed run.
      void (async () => {
        if (inspector !== undefined) {
          inspector.connect();
          await inspector.post('Profiler.enable');
          await inspector.post('Profiler.start');
        }
        cpu0 = process.cpuUsage();
        process.send!({ marked: true });
      })();
      return;
    }
    const cpu = process.cpuUsage(cpu0);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    clearInterval(rssTimer);
    server.close();
    void (async () => {
      try {
        if (inspector !== undefined && profileDir !== undefined) {
          const { profile } = await inspector.post('Profiler.stop');
          writeFileSync(join(profileDir, `ingest-${mode}-${process.pid}.cpuprofile`), JSON.stringify(profile));
        }
        await service.stop();
        await bus.close();
      } finally {
        process.send!({ cpuUs: cpu.user + cpu.system, peakRss }, () => process.exit(0));
      }
    })();
  });
}

await main();
