import { describe, expect, it } from 'vitest';
import { integration } from '@pulsegate/testkit';
import { useRedisClient } from '@pulsegate/testkit/vitest';
import { RedisRiskStore, riskKey } from '../../src/store/redis-store';
import { riskStoreContract } from './contract';

describe.skipIf(integration(['redis']).skip)('RedisRiskStore (real Redis)', () => {
  const redis = useRedisClient();

  // Cases use fresh tenant names, so nothing is flushed (REDIS_URL may point at a shared server).
  riskStoreContract('redis', () => new RedisRiskStore(redis.client));

  it('puts every key of a tenant in one cluster slot, whatever the tenant name', () => {
    expect(riskKey('a{b}c', 'series', 'C', '1.0.0')).toBe('pulsegate:risk:{a%7Bb%7Dc}:series:C:1.0.0');
  });
});
