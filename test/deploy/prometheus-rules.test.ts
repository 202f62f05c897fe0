import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { encodeInvocationBatch, Topics, type InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { parsePrometheusText, sampleValue } from '@pulsegate/telemetry';
import { MemoryWindowStore, type ApplyInput, type ApplyResult } from '@pulsegate/windows';
import { createAggregatorService, loadConfig } from '@pulsegate/aggregator';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const rules = join(root, 'deploy/prometheus/pulsegate-self-rules.yml');

/** A window store that is down: every apply fails like a lost Redis connection. */
class DownStore extends MemoryWindowStore {
  override async apply(_input: ApplyInput): Promise<ApplyResult> {
    throw new Error('connection lost');
  }
}

describe('deploy/prometheus alerting rules over the services’ own metrics (promtool)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pulsegate-self-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass promtool check rules and their own unit tests', async () => {
    await run('promtool', ['check', 'rules', rules]);
    const { stdout } = await run('promtool', ['test', 'rules', join(root, 'deploy/prometheus/pulsegate-self-rules.test.yml')]);
    expect(stdout).toContain('SUCCESS');
  });

  it('fire PulsegateConsumerStuck on what a real aggregator with a stuck batch exports, promtool-clean', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    const now = Date.now();
    const svc = await createAggregatorService({
      bus,
      logger: createLogger({ name: 'rules-test', level: 'silent' }),
      config: loadConfig({ SNAPSHOT_INTERVAL_SECONDS: '3600', AGGREGATOR_STUCK_AFTER_SECONDS: '1', AGGREGATOR_BATCH_MAX_ATTEMPTS: '10000' }),
      store: new DownStore({ clock: () => now }),
      clock: () => now,
    });
    try {
      await svc.start();
      const event: InvocationEvent = { schemaVersion: 1, tenant: 'acme', connector: 'crm', connectorVersion: '1.0.0', action: 'list', httpMethod: 'GET', kind: 'read', httpStatus: 200, outcome: 'success', errorCode: null, latencyMs: 5, eventTime: now - 60_000, correlationId: null, traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampleWeight: 1 };
      await bus.publish(Topics.invocations, [{ key: 'acme/crm', value: encodeInvocationBatch([event]) }]);
      let text = '';
      const deadline = Date.now() + 30_000;
      for (;;) {
        text = (await request(svc.app).get('/metrics')).text;
        if (sampleValue(parsePrometheusText(text), 'pulsegate_consumer_stuck_batches') === 1) break;
        if (Date.now() > deadline) throw new Error('no stuck batch reported within 30 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      writeFileSync(join(dir, 'metrics.txt'), text);
      // promtool check metrics reads the exposition on stdin and exits non-zero on lint problems.
      const check = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: stdout + stderr }));
        child.stdin!.end(text);
      });
      expect(check.out.split('\n').filter((l) => /pulsegate_consumer_(stuck|oldest)/.test(l))).toEqual([]);
      // The scraped value, as Prometheus would record it every 15 s for three minutes.
      const stuck = sampleValue(parsePrometheusText(text), 'pulsegate_consumer_stuck_batches');
      copyFileSync(rules, join(dir, 'pulsegate-self-rules.yml'));
      writeFileSync(
        join(dir, 'scraped.test.yml'),
        [
          'rule_files: [pulsegate-self-rules.yml]',
          'evaluation_interval: 15s',
          'tests:',
          '  - interval: 15s',
          '    input_series:',
          `      - series: 'pulsegate_consumer_stuck_batches{job="aggregator",instance="scraped"}'`,
          `        values: '${stuck}x12'`,
          '    alert_rule_test:',
          '      - eval_time: 2m',
          '        alertname: PulsegateConsumerStuck',
          '        exp_alerts:',
          '          - exp_labels: { severity: critical, job: aggregator, instance: scraped }',
          '            exp_annotations:',
          `              summary: 'Pulsegate consumer has 1 stuck batch(es) on scraped'`,
          `              description: 'A batch has failed for longer than AGGREGATOR_STUCK_AFTER_SECONDS; GET /readyz on the instance gives the partition and the last error.'`,
          '',
        ].join('\n'),
      );
      const { stdout } = await run('promtool', ['test', 'rules', join(dir, 'scraped.test.yml')]);
      expect(stdout).toContain('SUCCESS');
    } finally {
      await svc.stop();
      await bus.close();
    }
  });
});
