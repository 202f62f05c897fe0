import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { loadConfig } from '../src/config';
import { generateHistory } from '../src/model/generator';
import { createRiskScorerService, type RiskScorerService } from '../src/service';

const WRITER = 'sk-risk-writer-3f9b27e1';
const ADMIN = 'sk-risk-admin-a8c04d55';
const WRONG = 'sk-risk-unknown-71be3302';
const OWNER = 'owner.pii-51d2@contoso.example';

let service: RiskScorerService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await service?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('risk scorer logs', () => {
  it('carry no API key and no PII value sent in requests, even at trace level', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'risk-scorer', level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
    dir = mkdtempSync(join(tmpdir(), 'risk-redaction-'));
    const keys = JSON.stringify([
      { key: WRITER, tenant: 'acme', name: 'ci', scopes: ['catalog.read', 'catalog.write', 'risk.read', 'risk.write'] },
      { key: ADMIN, tenant: 'acme', name: 'ops', scopes: ['admin'] },
    ]);
    const bus = new MemoryBus();
    service = await createRiskScorerService({ bus, logger, config: loadConfig({ RISK_MODEL_DIR: dir, PULSEGATE_API_KEYS: keys }) });
    await service.start();
    const app = service.app;
    const entry = { owner: OWNER, classification: 'Confidential', authMethod: 'OAuth2', scopes: ['invoices.read'], versions: [{ version: '1.1.0' }, { version: '1.2.0' }] };
    await request(app).put('/v1/catalog/connectors/ContosoSales').set('x-api-key', WRITER).send(entry).expect(201);
    await request(app).get('/v1/catalog/connectors/ContosoSales').set('authorization', `Bearer ${WRITER}`).expect(200);
    // Refused requests: an unknown key, a bad body carrying the PII value, a missing connector.
    await request(app).get('/v1/catalog/connectors').set('x-api-key', WRONG).expect(401);
    await request(app).put('/v1/catalog/connectors/Other').set('x-api-key', WRITER).send({ ...entry, classification: 7, extra: OWNER }).expect(400);
    await request(app).post('/v1/risk/model:train').set('x-api-key', WRITER).send({ records: generateHistory({ records: 200, seed: 3 }).records }).expect(201);
    await request(app).post('/v1/risk/assessments').set('authorization', `Bearer ${WRITER}`).send({ connector: 'ContosoSales', version: '1.3.0' }).expect(201);
    await request(app).get('/metrics').set('x-api-key', ADMIN).expect(200);
    // The catalog write must fail after storing (bus closed): the warning is logged with the error.
    await bus.close();
    await request(app).put('/v1/catalog/connectors/ContosoSales').set('x-api-key', WRITER).send(entry).expect(503);

    // The audit lines were written (so the check below reads real output) ...
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string });
    expect(parsed.map((l) => l.msg)).toEqual(expect.arrayContaining(['risk model trained', 'catalog event not published']));
    expect(parsed.some((l) => (l as { audit?: { action?: string } }).audit?.action === 'risk.assessment')).toBe(true);
    // ... and none of them carries a key or the owner's e-mail address.
    const all = lines.join('');
    for (const secret of [WRITER, ADMIN, WRONG, OWNER]) expect(all.includes(secret), `log contains ${secret}`).toBe(false);
  });
});
