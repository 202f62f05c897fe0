import { describe, expect, it } from 'vitest';
import { integration } from '@pulsegate/testkit';
import { useRedisClient } from '@pulsegate/testkit/vitest';
import { MemorySloLedgerStore, RedisSloLedgerStore, type SloLedgerStore } from '../../src/slo/ledger-store';

const ref = { connector: 'crm', action: 'getContact', kind: 'read' as const };

function contract(name: string, make: () => SloLedgerStore): void {
  it(`${name}: overwrites blocks, trims old ones, indexes actions and tenants`, async () => {
    const store = make();
    await store.put('acme', ref, 100, { calls: 10, successes: 9, throttled: 0, le: null }, 10);
    await store.put('acme', ref, 100, { calls: 20, successes: 19, throttled: 1, le: [1, 2, 3] }, 10);
    await store.put('acme', ref, 105, { calls: 5, successes: 5, throttled: 0, le: null }, 10);
    await store.put('acme', ref, 110, { calls: 7, successes: 7, throttled: 0, le: null }, 10); // drops block 100
    await store.put('we}ird', { ...ref, kind: 'write' }, 1, { calls: 1, successes: 1, throttled: 0, le: null }, 10);
    expect([...(await store.load('acme', ref))].sort((a, b) => a[0] - b[0])).toEqual([
      [105, { calls: 5, successes: 5, throttled: 0, le: null }],
      [110, { calls: 7, successes: 7, throttled: 0, le: null }],
    ]);
    await store.put('acme', ref, 111, { calls: 20, successes: 19, throttled: 1, le: [1, 2, 3] }, 10);
    expect((await store.load('acme', ref)).get(111)).toEqual({ calls: 20, successes: 19, throttled: 1, le: [1, 2, 3] });
    expect(await store.actions('acme')).toEqual([ref]);
    expect(await store.actions('we}ird')).toEqual([{ ...ref, kind: 'write' }]);
    expect((await store.load('other', ref)).size).toBe(0);
    expect((await store.tenants()).filter((t) => t === 'acme' || t === 'we}ird').sort()).toEqual(['acme', 'we}ird']);
  });
}

describe('SLO ledger store contract', () => {
  contract('memory', () => new MemorySloLedgerStore());
});

describe.skipIf(integration(['redis']).skip)('SLO ledger store contract on Redis', () => {
  const redis = useRedisClient();
  contract('redis', () => new RedisSloLedgerStore(redis.client, `t${Date.now()}`));
});
