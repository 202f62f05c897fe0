// Vitest fixtures: imported from "@pulsegate/testkit/vitest" so the main entry (used by benchmarks
// and scripts outside the test runner) never loads vitest.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisHandle } from './redis';

export interface RedisClientFixture {
  /** The harness server (valid inside tests of the enclosing describe). */
  readonly server: RedisHandle;
  /** An ioredis client connected to it. */
  readonly client: Redis;
}

/**
 * For a `describe` block: starts a redis-server (or uses REDIS_URL) before its tests and opens a
 * client; quits the client and stops the server after them. Call it inside the describe.
 */
export function useRedisClient(): RedisClientFixture {
  let server: RedisHandle | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
  });
  afterAll(async () => {
    await client?.quit();
    await server?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useRedisClient(): used outside the tests of its describe block');
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get client() {
      return ready(client);
    },
  };
}
