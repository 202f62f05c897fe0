import { gzipSync } from 'node:zlib';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { MemoryBus, type OutgoingRecord } from '@pulsegate/bus';
import { Topics, decodeInvocationBatch, type InvocationEvent } from '@pulsegate/events';
import { recordSpans, type ResourceSpec } from '../../../packages/otlp/test/builders';
import { loadConfig, type IngestConfig } from '../src/index';

export function testConfig(overrides: Partial<IngestConfig> = {}): IngestConfig {
  return { ...loadConfig({}), ...overrides };
}

/** Every invocation event on the bus, in publish order per partition. */
export function eventsOn(bus: MemoryBus): InvocationEvent[] {
  return bus.recordsIn(Topics.invocations).flatMap((r) => decodeInvocationBatch(r.value));
}

/** A real MemoryBus whose publish can be held (to fill the in-flight limit) or made to fail. */
export class ControlledBus extends MemoryBus {
  publishCalls: OutgoingRecord[][] = [];
  failWith: Error | undefined;
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((r) => (this.release = r));
  }

  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  override async publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    this.publishCalls.push(records);
    if (this.gate !== undefined) await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    return super.publish(topic, records);
  }
}

/** Real SDK spans serialized by the real OTLP serializers. */
export async function bodies(resources: ResourceSpec[]): Promise<{ protobuf: Buffer; json: Buffer; gzipProtobuf: Buffer; gzipJson: Buffer; spans: Awaited<ReturnType<typeof recordSpans>> }> {
  const spans = await recordSpans(resources);
  const protobuf = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
  const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
  return { protobuf, json, gzipProtobuf: gzipSync(protobuf), gzipJson: gzipSync(json), spans };
}

/** Collects any response body as a Buffer (superagent only buffers types it knows). */
export function binaryParser(res: NodeJS.ReadableStream, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}
