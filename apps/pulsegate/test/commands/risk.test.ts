import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen as listenOn, type Listening } from '@pulsegate/http-kit';
import { freePort } from '@pulsegate/testkit';
import { generateHistory, generateTraffic } from '@pulsegate/risk-scorer';
import { runRiskCli } from '../../src/commands/risk';
import { CONNECTOR, EXAMPLES, makeRiskApp } from '../support/risk';

const fixtures = join(__dirname, '..', '..', '..', '..', 'services', 'risk-scorer', 'test', 'fixtures');
const v100 = join(fixtures, 'contoso-sales-1.0.0.json');
const v120 = join(EXAMPLES, 'contoso-sales-1.2.0.json');
const v130 = join(EXAMPLES, 'contoso-sales-1.3.0.json');
const v110 = join(fixtures, 'contoso-sales-1.1.0.yaml');
const v200 = join(EXAMPLES, 'contoso-sales-2.0.0.json');

async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runRiskCli(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, env);
  return { code, out, err };
}

describe('risk CLI against a running risk scorer', () => {
  let ctx: ReturnType<typeof makeRiskApp>;
  let server: Listening;
  let dir: string;
  const base = ['--connector', 'ContosoSales', '--version', '2.0.0', '--previous-version', '1.0.0'];
  const v200old = join(fixtures, 'contoso-sales-2.0.0.json');
  // A healthy prior version (the generating model scores it low).
  const healthy = { priorSuccessRate: 1, priorP95Ms: 200, priorThrottleRate: 0, priorAlertsPer1000Calls: 0, priorIncidentRate: 0, lintWarnings: 0 };

  beforeAll(async () => {
    ctx = makeRiskApp({ keys: true });
    server = await listenOn(ctx.app, '127.0.0.1', 0);
    dir = mkdtempSync(join(tmpdir(), 'risk-cli-'));
    writeFileSync(join(dir, 'healthy.json'), JSON.stringify(healthy));
    writeFileSync(join(dir, 'broken.json'), '{');
  });
  afterAll(async () => {
    await server?.close();
    ctx?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('exits 1 when no model is trained (unknown never passes) and 2 on errors', async () => {
    const key = ['--api-key', 'key-a'];
    let r = await cli(['gate', '--url', server.url, ...base, ...key]);
    expect(r.code).toBe(2); // connector not in the catalog -> 404 is an error
    expect(r.err).toMatch(/risk scorer answered 404 NOT_FOUND: connector ContosoSales is not in the catalog/);
    await fetch(`${server.url}/v1/catalog/connectors/ContosoSales`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-api-key': 'key-a' }, body: JSON.stringify(CONNECTOR) });
    r = await cli(['gate', '--url', server.url, ...base, ...key, '--old', v100, '--new', v200]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^outcome: hold \(ContosoSales 1\.0\.0 -> 2\.0\.0\)/);
    expect(r.out).toMatch(/model hold: level unknown, probability n\/a, decision require-approval \(no trained risk model/);
    expect(r.out).toMatch(/promotion blocked \(hold\)/);

    expect((await cli(['gate', '--url', server.url, ...base])).code).toBe(2); // no key: 401
    expect((await cli(['gate', '--url', server.url, ...base, '--api-key', 'key-a-read'])).code).toBe(2); // 403
    const closed = `http://127.0.0.1:${await freePort()}`;
    expect((await cli(['gate', '--url', closed, ...base, ...key, '--timeout-ms', '2000'])).err).toBe(`risk: cannot reach ${closed} (from --url): ECONNREFUSED\n`);
    // Without --url the gate asks PULSEGATE_RISK_URL (and sends PULSEGATE_API_KEY).
    const viaEnv = await cli(['gate', ...base, '--old', v100, '--new', v200], { PULSEGATE_RISK_URL: server.url, PULSEGATE_API_KEY: 'key-a' });
    expect(viaEnv.code, viaEnv.err).toBe(1);
    expect(viaEnv.out).toMatch(/^outcome: hold \(ContosoSales 1\.0\.0 -> 2\.0\.0\)/);
    expect((await cli(['gate', ...base, ...key, '--timeout-ms', '2000'], { PULSEGATE_RISK_URL: closed })).err).toBe(`risk: cannot reach ${closed} (from PULSEGATE_RISK_URL): ECONNREFUSED\n`);
    expect((await cli(['gate', ...base, ...key], { PULSEGATE_RISK_URL: 'risk:8083' })).err).toMatch(/^risk: PULSEGATE_RISK_URL must start with http:\/\/ or https:\/\/, got "risk:8083"/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key], { PULSEGATE_RISK_URL: closed })).code).toBe(1); // --url wins
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--old', v100])).err).toMatch(/--old and --new go together/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--old', v100, '--new', join(dir, 'missing.json')])).err).toMatch(/ENOENT/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--features', join(dir, 'broken.json')])).err).toMatch(/--features: not valid JSON/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--canary', join(dir, 'broken.json')])).err).toMatch(/--canary: not valid JSON/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--rule', 'nope=off'])).err).toMatch(/400 INVALID_ARGUMENT: overrides: unknown rule "nope"/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--max-level', 'high'])).code).toBe(2);
    expect((await cli(['gate', '--url', server.url, '--connector', 'ContosoSales', '--version', 'v2', ...key])).err).toMatch(/400 INVALID_ARGUMENT: version: must be a strict semantic version/);
    expect((await cli(['gate', '--url', server.url, ...base, ...key, '--lint-warnings', 'many'])).code).toBe(2);
    expect((await cli(['gate', '--bogus'])).code).toBe(2);
    expect((await cli(['deploy'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    expect((await cli(['--help'])).code).toBe(0);
  });

  it('exits 0 only when the gate promotes; writes the Markdown step summary; refuses 1.3.0', async () => {
    await fetch(`${server.url}/v1/risk/model:train`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer key-a' },
      body: JSON.stringify({ records: generateHistory({ records: 2000, seed: 12 }).records }),
    });
    const key = ['--api-key', 'key-a'];
    const patch = JSON.parse(readFileSync(v120, 'utf8')) as { info: { version: string } };
    patch.info.version = '1.2.1';
    writeFileSync(join(dir, 'patch.json'), JSON.stringify(patch));
    writeFileSync(
      join(dir, 'canary.json'),
      JSON.stringify({ baseline: { ListInvoices: generateTraffic({ calls: 2000 }, 1) }, candidate: { ListInvoices: generateTraffic({ calls: 2000 }, 2) } }),
    );
    const summary = join(dir, 'summary.md');
    const release = ['--connector', 'ContosoSales', '--previous-version', '1.2.0', ...key, '--features', join(dir, 'healthy.json'), '--canary', join(dir, 'canary.json')];
    const ok = await cli(['gate', '--url', server.url, ...release, '--version', '1.2.1', '--old', v120, '--new', join(dir, 'patch.json'), '--summary', summary]);
    expect(ok.out).toMatch(/^outcome: promote \(ContosoSales 1\.2\.0 -> 1\.2\.1\)/);
    expect(ok.code).toBe(0);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('### Release gate: ContosoSales 1.2.0 → 1.2.1: **promote**');
    expect(md).toMatch(/\| semver \| ✅ pass \| 1\.2\.0 -> 1\.2\.1 is a PATCH bump; the changes need PATCH \|/);
    const refused = await cli(['gate', '--url', server.url, ...release, '--version', '1.3.0', '--old', v120, '--new', v130, '--json']);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('  semver fail: 3 breaking change(s) (operation-removed, request-parameter-required-added, request-enum-narrowed) need a MAJOR version; 1.2.0 -> 1.3.0 is a MINOR bump');
    expect(JSON.parse(refused.out.slice(0, refused.out.indexOf('\noutcome:'))).outcome).toBe('reject');
    // The 2.0.0 major passes semver; the model holds it, and --max-level medium lets a medium level through only.
    const major = await cli(['gate', '--url', server.url, ...release, '--version', '2.0.0', '--old', v120, '--new', v200, '--max-level', 'medium', '--json']);
    const d = JSON.parse(major.out.slice(0, major.out.indexOf('\noutcome:'))) as { outcome: string; details: { assessment: { level: string } } };
    expect(d.outcome).toBe('hold');
    expect(major.code).toBe(d.details.assessment.level === 'medium' ? 0 : 1);
  });

  it('the pulsegate bin exits with the same codes', async () => {
    const bin = join(__dirname, '..', '..', 'bin', 'pulsegate.mjs');
    const run = promisify(execFile);
    const ok = await run(process.execPath, [bin, 'risk', 'features', '--old', v100, '--new', v200old]);
    expect(JSON.parse(ok.stdout).features.breakingChanges).toBe(6);
    const failed = await run(process.execPath, [bin, 'risk', 'gate', '--url', server.url, ...base, '--api-key', 'nope']).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(failed).toBe(2);
  });
});

describe('risk features', () => {
  it('prints the features JSON of two specs', async () => {
    const r = await cli(['features', '--old', v100, '--new', v110]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).newScopes).toEqual(['invoices.write']);
    expect((await cli(['features', '--old', v100])).code).toBe(2);
    const broken = await cli(['features', '--old', v100, '--new', join(__dirname, 'risk.test.ts')]);
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(/--new .*risk\.test\.ts/);
  });
});
