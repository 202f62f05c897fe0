import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integration, redisCommand, startRedis, startRedisCluster } from '../src/index';
import type { RedisHandle } from '../src/index';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(integration(['redis']).skip)('startRedis', () => {
  it('starts redis-server on a free port, answers PING, and is gone by PID after stop()', async () => {
    const redis = await startRedis();
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await redisCommand(redis.host, redis.port, ['PING'])).toBe('PONG');
      if (redis.source === 'process') {
        const pid = redis.pid!;
        expect(alive(pid)).toBe(true);
        await redis.stop();
        expect(alive(pid)).toBe(false);
        await redis.stop(); // idempotent
      }
    } finally {
      await redis.stop();
    }
  });

  describe('with appendonly', () => {
    let redis: RedisHandle;
    beforeAll(async () => {
      redis = await startRedis({ appendonly: true });
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('keeps acknowledged writes across kill() and restart() on the same port', async () => {
      await redisCommand(redis.host, redis.port, ['SET', 'k', 'survives']);
      const before = redis.pid;
      await redis.kill();
      if (redis.source === 'process') expect(alive(before!)).toBe(false);
      await expect(redisCommand(redis.host, redis.port, ['PING'], 300)).rejects.toThrow();
      await redis.restart();
      expect(redis.pid).not.toBe(before);
      expect(await redisCommand(redis.host, redis.port, ['GET', 'k'])).toBe('survives');
    });
  });
});

describe.skipIf(integration(['redis-cluster']).skip)('startRedisCluster', () => {
  it('forms a 3-master cluster with every slot covered, and stops every node by PID', async () => {
    const cluster = await startRedisCluster();
    const pids = cluster.pids;
    try {
      expect(cluster.nodes).toHaveLength(3);
      for (const node of cluster.nodes) {
        const info = await redisCommand(node.host, node.port, ['CLUSTER', 'INFO']);
        expect(info).toContain('cluster_state:ok');
        expect(info).toContain('cluster_slots_assigned:16384');
        expect(info).toContain('cluster_known_nodes:3');
      }
    } finally {
      await cluster.stop();
    }
    for (const pid of pids) expect(alive(pid)).toBe(false);
    await cluster.stop();
  });

  it('refuses fewer than 3 masters with a clear error', async () => {
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(/at least 3 masters/);
  });
});
