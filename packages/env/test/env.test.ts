import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hostPortListVar, intVar, redisUrlVar } from '../src/index';

const schema = z.object({ PORT: intVar('PORT', 8081, 0, 65_535) });

describe('intVar', () => {
  it('gives the default when unset or blank, and the number otherwise', () => {
    expect(schema.parse({}).PORT).toBe(8081);
    expect(schema.parse({ PORT: '  ' }).PORT).toBe(8081);
    expect(schema.parse({ PORT: '0' }).PORT).toBe(0);
    expect(schema.parse({ PORT: '65535' }).PORT).toBe(65_535);
  });

  it.each(['eighty', '80.5', '-1', '65536', '1e9'])('refuses %j naming the variable, the range and the value', (value) => {
    const result = schema.safeParse({ PORT: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(`PORT must be an integer between 0 and 65535, got ${JSON.stringify(value)}`);
  });
});

describe('redisUrlVar and hostPortListVar', () => {
  const redis = z.object({ REDIS_URL: redisUrlVar('REDIS_URL'), NODES: hostPortListVar('NODES') });

  it('accept unset, blank and well-formed values', () => {
    expect(redis.safeParse({}).success).toBe(true);
    expect(redis.safeParse({ REDIS_URL: '', NODES: ' ' }).success).toBe(true);
    expect(redis.safeParse({ REDIS_URL: 'rediss://user:pw@cache:6380/0', NODES: '10.0.0.1:7000, node-b:7001' }).success).toBe(true);
  });

  it.each<[Record<string, string>, string]>([
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL must start with redis:// or rediss://'],
    [{ NODES: 'node-a' }, 'NODES must be a comma list of host:port'],
    [{ NODES: 'node-a:7000,,node-b:7001' }, 'NODES must be a comma list of host:port'],
    [{ NODES: 'node a:7000' }, 'NODES must be a comma list of host:port'],
  ])('refuse %j naming the variable', (env, message) => {
    const result = redis.safeParse(env);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(message);
  });
});
