import { createLogger } from '@pulsegate/logging';
import { listen, type Listening } from '@pulsegate/http-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { connectorSpan } from '../../../packages/otlp/test/builders';
import { RawClient } from '../../../packages/http-kit/test/raw-socket';
import { createIngestService, loadConfig } from '../src/index';
import { InFlight } from '../src/in-flight';
import { ControlledBus, bodies, eventsOn } from './helpers';

const logger = createLogger({ name: 'ingest-test', level: 'silent' });
const KEYS = JSON.stringify([
  { key: 'key-a', tenant: 'tenant-a', scopes: ['ingest'] },
  { key: 'key-b', tenant: 'tenant-b', scopes: ['ingest'] },
]);

describe('InFlight', () => {
  it('caps each tenant at its quota of the global budget and frees it on leave', () => {
    const f = new InFlight(4, 100, { requests: 2, bytes: 60 });
    expect([f.tryEnter('a'), f.tryEnter('a'), f.tryEnter('a')]).toEqual([true, true, false]);
    expect([f.tryEnter('b'), f.tryEnter('b'), f.tryEnter('c')]).toEqual([true, true, false]); // global 4 reached
    expect(f.tryReserve('a', 60)).toBe(true);
    expect(f.tryReserve('a', 1)).toBe(false); // a's 60 bytes
    expect(f.tryReserve('b', 41)).toBe(false); // global 100
    expect(f.tryReserve('b', 40)).toBe(true);
    f.leave('a', 60);
    expect(f.requestsOf('a')).toBe(1);
    expect(f.tryEnter('c')).toBe(true);
    f.leave('a', 0);
    expect(f.requestsOf('a')).toBe(0);
    expect([f.requests, f.bytes]).toEqual([3, 40]);
  });

  it('defaults to a quarter of the budget per tenant with API keys, the whole budget without', () => {
    expect(loadConfig({ PULSEGATE_API_KEYS: KEYS })).toMatchObject({ maxInFlightRequestsPerTenant: 16, maxInFlightBytesPerTenant: 24 * 1024 * 1024 });
    expect(loadConfig({})).toMatchObject({ maxInFlightRequestsPerTenant: 64, maxInFlightBytesPerTenant: 96 * 1024 * 1024 });
    expect(loadConfig({ PULSEGATE_API_KEYS: KEYS, INGEST_MAX_IN_FLIGHT_REQUESTS_PER_TENANT: '8' }).maxInFlightRequestsPerTenant).toBe(8);
    expect(() => loadConfig({ INGEST_MAX_IN_FLIGHT_BYTES_PER_TENANT: '-1' })).toThrow(/INGEST_MAX_IN_FLIGHT_BYTES_PER_TENANT/);
  });
});

describe('slow uploads of one tenant (raw sockets)', () => {
  let server: Listening | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
  });

  it("70 never-finishing chunked uploads of tenant A take A's 16 slots; B keeps getting 200; A's uploads are answered 408 and their slots come back", async () => {
    const bus = new ControlledBus();
    const config = { ...loadConfig({ PULSEGATE_API_KEYS: KEYS }), http: { headersTimeoutMs: 2_000, requestTimeoutMs: 30_000, bodyIdleTimeoutMs: 1_500, keepAliveTimeoutMs: 5_000 } };
    const service = await createIngestService({ bus, logger, config });
    await service.start();
    server = await listen(service.app, '127.0.0.1', 0, { limits: config.http });
    const port = server.port;

    for (let i = 0; i < 70; i++) {
      const c = await RawClient.open(port);
      clients.push(c);
      c.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-a\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\n\r\n');
    }
    // Every upload past A's quota is refused at once.
    const refused = async (): Promise<number> => {
      await Promise.all(clients.map((c) => c.waitAnswers(1, 50)));
      return clients.filter((c) => c.answers()[0]?.status === 429).length;
    };
    const deadline = Date.now() + 20_000;
    while ((await refused()) < 54 && Date.now() < deadline);
    expect(await refused()).toBe(54);
    const holding = clients.filter((c) => c.answers().length === 0);
    expect(holding).toHaveLength(16);

    // B, meanwhile: all 200, all events on the bus.
    const { protobuf } = await bodies([{ attributes: { 'service.name': 'b-service' }, spans: [connectorSpan(1), connectorSpan(2)] }]);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${server!.url}/v1/traces`, { method: 'POST', headers: { authorization: 'Bearer key-b', 'content-type': 'application/x-protobuf' }, body: protobuf }).then((r) => r.status),
      ),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, () => 200));
    expect(eventsOn(bus).filter((e) => e.tenant === 'tenant-b')).toHaveLength(40);

    // A's held uploads go silent: each is answered 408 in the error schema and its slot freed.
    const held = await Promise.all(holding.map((c) => c.waitAnswers(1, 20_000)));
    for (const [a] of held) {
      expect(a?.status).toBe(408);
      expect((JSON.parse(a!.body) as { error: { code: string } }).error.code).toBe('REQUEST_TIMEOUT');
    }
    // Slots are freed when the connection closes, right after the answer: A is served again.
    let status = 0;
    for (const until = Date.now() + 10_000; status !== 200 && Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      status = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { authorization: 'Bearer key-a', 'content-type': 'application/x-protobuf' }, body: protobuf }).then((r) => r.status);
    }
    expect(status).toBe(200);
    expect(eventsOn(bus).filter((e) => e.tenant === 'tenant-a')).toHaveLength(2);
  });
});
