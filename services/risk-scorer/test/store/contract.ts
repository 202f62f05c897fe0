import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WindowMetrics } from '@pulsegate/events';
import type { ConnectorEntry } from '../../src/catalog/types';
import type { Assessment, RiskStore } from '../../src/store/types';

export const window = (calls: number, successes: number, throttled: number, p95: number, from = 0, to = 3_600_000): WindowMetrics => ({
  window: '1h',
  from,
  to,
  calls,
  successes,
  successRate: calls === 0 ? null : successes / calls,
  throttled,
  throttleRate: calls === 0 ? null : throttled / calls,
  latencyMs: { p50: p95 / 2, p95, p99: p95 * 2 },
  errorCodes: {},
  errorMappingCoverage: null,
});

const entry = (connector: string, versions: string[]): ConnectorEntry => ({
  connector,
  owner: 'finance-solutions@contoso.com',
  classification: 'Confidential',
  authMethod: 'OAuth2',
  scopes: ['invoices.read'],
  versions: versions.map((version) => ({ version, releasedAt: 1, deprecatedAt: null, sunsetAt: null })),
  updatedAt: 10,
});

const assessment = (connector: string, version: string, probability: number): Assessment => ({
  connector,
  version,
  previousVersion: null,
  probability,
  level: 'low',
  decision: 'auto-promote',
  modelVersion: 'm-1',
  reasons: [{ feature: 'breakingChanges', value: 0, contribution: -0.2 }],
  missing: [],
  features: { breakingChanges: 0 },
  assessedAt: 5,
  assessedBy: { tenant: 't', keyName: 'ci' },
});

/** Fresh tenant names per case, so a shared server needs no flushing. */
const tenants = (): [string, string] => [`t1-${randomUUID()}`, `t2-${randomUUID()}`];

/** The behaviour every RiskStore must have (memory and Redis run the same cases). */
export function riskStoreContract(name: string, make: () => RiskStore | Promise<RiskStore>): void {
  describe(`RiskStore contract: ${name}`, () => {
    it('stores connectors per tenant with versions in semantic order', async () => {
      const s = await make();
      const [t1, t2] = tenants();
      await s.putConnector(t1, entry('ContosoSales', ['1.10.0', '1.2.0', '1.2.0-rc.1', '2.0.0']));
      await s.putConnector(t2, entry('Other', []));
      const got = await s.getConnector(t1, 'ContosoSales');
      expect(got?.versions.map((v) => v.version)).toEqual(['1.2.0-rc.1', '1.2.0', '1.10.0', '2.0.0']);
      expect(got?.updatedAt).toBe(10);
      expect(got?.scopes).toEqual(['invoices.read']);
      expect((await s.listConnectors(t1)).map((c) => c.connector)).toEqual(['ContosoSales']);
      expect(await s.getConnector(t2, 'ContosoSales')).toBeNull();
      // Replacing an entry replaces its version list.
      await s.putConnector(t1, entry('ContosoSales', ['3.0.0']));
      expect((await s.getConnector(t1, 'ContosoSales'))?.versions.map((v) => v.version)).toEqual(['3.0.0']);
    });

    it('adds or replaces one version, only on an existing connector', async () => {
      const s = await make();
      const [t1] = tenants();
      expect(await s.putVersion(t1, 'Missing', { version: '1.0.0', releasedAt: null, deprecatedAt: null, sunsetAt: null }, 20)).toBeNull();
      await s.putConnector(t1, entry('C', ['1.0.0']));
      await s.putVersion(t1, 'C', { version: '1.1.0', releasedAt: 5, deprecatedAt: null, sunsetAt: null }, 20);
      const after = await s.putVersion(t1, 'C', { version: '1.0.0', releasedAt: 1, deprecatedAt: 7, sunsetAt: 9 }, 30);
      expect(after?.versions).toEqual([
        { version: '1.0.0', releasedAt: 1, deprecatedAt: 7, sunsetAt: 9 },
        { version: '1.1.0', releasedAt: 5, deprecatedAt: null, sunsetAt: null },
      ]);
      expect(after?.updatedAt).toBe(30);
    });

    it('keeps the last assessment per tenant/connector/version', async () => {
      const s = await make();
      const [t1, t2] = tenants();
      await s.putAssessment(t1, assessment('C', '1.0.0', 0.1));
      await s.putAssessment(t1, assessment('C', '1.0.0', 0.2));
      await s.putAssessment(t2, assessment('C', '1.0.0', 0.9));
      expect((await s.getAssessment(t1, 'C', '1.0.0'))?.probability).toBe(0.2);
      expect((await s.getAssessment(t2, 'C', '1.0.0'))?.probability).toBe(0.9);
      expect(await s.getAssessment(t1, 'C', '2.0.0')).toBeNull();
    });

    it('keeps the newest snapshot per series and ignores older redeliveries', async () => {
      const s = await make();
      const [t1, t2] = tenants();
      await s.putSeries(t1, 'C', '1.0.0', { action: 'ListInvoices', kind: 'read', at: 200, window: window(100, 99, 1, 300) });
      await s.putSeries(t1, 'C', '1.0.0', { action: 'ListInvoices', kind: 'read', at: 100, window: window(1, 0, 0, 9) });
      await s.putSeries(t1, 'C', '1.0.0', { action: 'CreateInvoice', kind: 'write', at: 150, window: window(10, 10, 0, 800) });
      const got = (await s.seriesOf(t1, 'C', '1.0.0')).sort((a, b) => (a.action < b.action ? -1 : 1));
      expect(got.map((g) => [g.action, g.at, g.window.calls])).toEqual([
        ['CreateInvoice', 150, 10],
        ['ListInvoices', 200, 100],
      ]);
      expect(await s.seriesOf(t2, 'C', '1.0.0')).toEqual([]);
    });

    it('counts an alert once per fingerprint and start', async () => {
      const s = await make();
      const [t1] = tenants();
      await s.addAlert(t1, 'C', '1.0.0', { fingerprint: 'f1', rule: 'success-rate', startsAt: 10 });
      await s.addAlert(t1, 'C', '1.0.0', { fingerprint: 'f1', rule: 'success-rate', startsAt: 10 });
      await s.addAlert(t1, 'C', '1.0.0', { fingerprint: 'f1', rule: 'success-rate', startsAt: 99 });
      expect((await s.alertsOf(t1, 'C', '1.0.0')).map((a) => a.startsAt).sort()).toEqual([10, 99]);
      expect(await s.alertsOf(t1, 'C', '2.0.0')).toEqual([]);
    });

    it('keeps release history newest first', async () => {
      const s = await make();
      const [t1, t2] = tenants();
      await s.appendReleases(t1, [
        { connector: 'C', version: '1.0.0', features: { breakingChanges: 1 }, incident: true, at: 1 },
        { connector: 'C', version: '1.1.0', features: { breakingChanges: 0 }, incident: false, at: 2 },
      ]);
      await s.appendReleases(t1, [{ connector: 'C', version: '1.2.0', features: { breakingChanges: 2 }, incident: true, at: 3 }]);
      expect((await s.releases(t1)).map((r) => r.version)).toEqual(['1.2.0', '1.1.0', '1.0.0']);
      expect(await s.releases(t2)).toEqual([]);
      expect(await s.ping()).toBe(true);
    });

    it('keeps gate decisions per connector, newest first, per tenant', async () => {
      const s = await make();
      const [t1, t2] = tenants();
      const decision = (version: string, outcome: 'promote' | 'hold' | 'reject') => ({
        connector: 'C',
        version,
        previousVersion: '1.0.0',
        outcome,
        checks: [{ check: 'semver' as const, status: 'pass' as const, message: 'ok' }],
        reasons: ['semver: ok'],
        inputs: { oldSpecVersion: '1.0.0' },
        details: {},
        decidedAt: 5,
        decidedBy: { tenant: t1, keyName: 'ci', via: 'api' },
      });
      await s.appendDecision(t1, decision('1.1.0', 'hold'));
      await s.appendDecision(t1, decision('2.0.0', 'promote'));
      await s.appendDecision(t1, { ...decision('9.0.0', 'reject'), connector: 'D' });
      expect(await s.decisions(t1, 'C', 10)).toEqual([decision('2.0.0', 'promote'), decision('1.1.0', 'hold')]);
      expect((await s.decisions(t1, 'C', 1)).map((d) => d.version)).toEqual(['2.0.0']);
      expect(await s.decisions(t2, 'C', 10)).toEqual([]);
    });
  });
}
