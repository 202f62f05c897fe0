import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { integration, startRedisCluster, type RedisClusterHandle } from '@pulsegate/testkit';
import { RedisRiskStore } from '../../src/store/redis-store';
import { riskStoreContract } from './contract';

// Multi-key transactions and scripts only work because a tenant's keys share one hash slot.
describe.skipIf(integration(['redis-cluster']).skip)('RedisRiskStore on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.nodes);
  });
  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });
  riskStoreContract('redis-cluster', () => new RedisRiskStore(client));
});
