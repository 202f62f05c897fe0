import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { integration } from '@pulsegate/testkit';
import { useRedisClient } from '@pulsegate/testkit/vitest';
import { generateHistory } from '../../src/model/generator';
import { trainModel, type RiskModel } from '../../src/model/logistic';
import { FileModelStore, MemoryModelStore, RedisModelStore, type ModelStore } from '../../src/model/store';

const history = generateHistory({ records: 300, seed: 2 }).records;
let clock = 1_700_000_000_000;
const model = (): RiskModel => trainModel(history, { features: ['breakingChanges', 'lintWarnings'], numSteps: 20, now: () => (clock += 1000) });

function modelStoreContract(name: string, make: () => ModelStore): void {
  describe(`ModelStore contract: ${name}`, () => {
    it('saves and activates, lists newest first, rolls back, keeps tenants apart', async () => {
      const s = make();
      const tenant = `t-${randomUUID()}`;
      expect(await s.active(tenant)).toBeNull();
      expect(await s.list(tenant)).toEqual([]);
      const a = model();
      const b = model();
      await s.save(tenant, a);
      await s.save(tenant, b);
      expect((await s.active(tenant))?.version).toBe(b.version);
      expect(await s.get(tenant, a.version)).toEqual(a);
      expect((await s.list(tenant)).map((m) => [m.version, m.active])).toEqual([
        [b.version, true],
        [a.version, false],
      ]);
      expect(await s.activate(tenant, a.version)).toBe(true);
      expect((await s.active(tenant))?.version).toBe(a.version);
      expect(await s.activate(tenant, 'm-missing')).toBe(false);
      expect(await s.get(tenant, '../../etc/passwd')).toBeNull();
      expect(await s.active(`other-${randomUUID()}`)).toBeNull();
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'risk-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
modelStoreContract('file', () => new FileModelStore(dir));
modelStoreContract('memory', () => new MemoryModelStore());

describe('MemoryModelStore', () => {
  it('keeps models per instance: a second store sees none of the first one\'s', async () => {
    const a = new MemoryModelStore();
    await a.save('default', model());
    expect(await a.list('default')).toHaveLength(1);
    expect(await new MemoryModelStore().list('default')).toEqual([]);
    expect(await new MemoryModelStore().active('default')).toBeNull();
  });
});

describe.skipIf(integration(['redis']).skip)('RedisModelStore (real Redis)', () => {
  const redis = useRedisClient();
  modelStoreContract('redis', () => new RedisModelStore(redis.client));
});
