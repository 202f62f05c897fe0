import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { PATCHED_KAFKAJS_VERSION, patchKafkajsRequestQueue, type RequestQueueInternals } from '../src/kafkajs-patches';

const require = createRequire(import.meta.url);

interface Queue extends RequestQueueInternals {
  inflight: Map<number, unknown>;
  push(request: { entry: Entry; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}
interface Entry {
  correlationId: number;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type QueueClass = new (options: Record<string, unknown>) => Queue;

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The real kafkajs RequestQueue (the one its connections use), patched as KafkaBus patches it. */
function queue(maxInFlightRequests: number | null = null): Queue {
  expect(patchKafkajsRequestQueue()).toBe(true);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as QueueClass;
  return new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'localhost:1', logger: silent });
}

/** A request that records when it went out and resolves when its response arrives. */
function request(correlationId: number, sent: number[], expectResponse = true) {
  const entry: Entry = { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve: () => undefined, reject: () => undefined };
  return { entry, expectResponse, sendRequest: () => sent.push(correlationId) };
}

describe('kafkajs request-queue patch', () => {
  it('is applied to the pinned kafkajs, the version installed', () => {
    expect((require('kafkajs/package.json') as { version: string }).version).toBe(PATCHED_KAFKAJS_VERSION);
    expect(patchKafkajsRequestQueue()).toBe(true);
  });

  it('arms no timer once nothing is pending (unpatched, a 1 ms loop ran from the first response on)', () => {
    const q = queue();
    const sent: number[] = [];
    q.push(request(1, sent));
    q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    q.push(request(2, sent, false));
    expect(sent).toEqual([1, 2]);
    expect(q.pending).toEqual([]);
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
  });

  it('still sends requests held back by the in-flight limit as earlier ones complete, in order', async () => {
    vi.useFakeTimers();
    try {
      const q = queue(1);
      const sent: number[] = [];
      for (const id of [1, 2, 3]) q.push(request(id, sent));
      expect(sent).toEqual([1]);
      expect(q.pending).toHaveLength(2);
      q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
      expect(sent).toEqual([1, 2]);
      q.fulfillRequest({ correlationId: 2, payload: null, size: 0 });
      q.fulfillRequest({ correlationId: 3, payload: null, size: 0 });
      expect(sent).toEqual([1, 2, 3]);
      // The check armed while requests were queued fires once, finds none and does not re-arm.
      await vi.advanceTimersByTimeAsync(20);
      expect(q.throttleCheckTimeoutId).toBeNull();
      q.destroy();
    } finally {
      vi.useRealTimers();
    }
  });

  it('still sends requests held back by client-side throttling once the throttle ends, then stops polling', async () => {
    vi.useFakeTimers();
    try {
      const q = queue();
      const sent: number[] = [];
      q.maybeThrottle(50);
      q.push(request(1, sent));
      q.push(request(2, sent));
      expect(sent).toEqual([]);
      expect(q.throttleCheckTimeoutId).not.toBeNull();
      await vi.advanceTimersByTimeAsync(60);
      expect(sent).toEqual([1, 2]);
      expect(q.pending).toEqual([]);
      // The check that sent them found nothing left and did not re-arm.
      expect(q.throttleCheckTimeoutId).toBeNull();
      q.destroy();
    } finally {
      vi.useRealTimers();
    }
  });
});
