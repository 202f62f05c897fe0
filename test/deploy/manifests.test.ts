import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadManifests, validateManifests, type Manifest } from './validate';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = `${root}/deploy/k8s`;
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

function mutate(manifests: Manifest[], kind: string, name: string, change: (doc: any) => void): Manifest[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const copy = structuredClone(manifests);
  const m = copy.find((x) => x.doc.kind === kind && (x.doc.metadata as { name: string }).name === name);
  if (m === undefined) throw new Error(`no ${kind} ${name}`);
  change(m.doc);
  return copy;
}

describe('deploy/k8s manifests (offline schema and cross-checks)', () => {
  const manifests = loadManifests(dir);

  it('validate', () => {
    expect(manifests.map((m) => m.doc.kind)).toEqual(expect.arrayContaining(['Namespace', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'Kustomization']));
    expect(validateManifests(manifests, root, files)).toEqual([]);
  });

  it('every service has a Deployment, a Service and a PDB; ingest and aggregator an HPA', () => {
    for (const s of ['ingest', 'aggregator', 'anomaly-detector', 'risk-scorer']) {
      for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget']) expect(manifests.some((m) => m.doc.kind === kind && (m.doc.metadata as { name: string }).name === s), `${kind} ${s}`).toBe(true);
    }
    expect(manifests.filter((m) => m.doc.kind === 'HorizontalPodAutoscaler').map((m) => (m.doc.metadata as { name: string }).name).sort()).toEqual(['aggregator', 'ingest']);
  });

  it('a Job creates the topics with `pulsegate topics` before the services use them; no service auto-creates a topic', () => {
    const job = manifests.find((m) => m.doc.kind === 'Job')?.doc as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(job?.metadata.name).toBe('pulsegate-topics');
    const c = job.spec.template.spec.containers[0];
    expect(c.command).toEqual(['node', 'dist/topics.js']);
    // The image built from apps/pulsegate, whose dist/topics.js is `pulsegate topics` on its own.
    const dashboard = manifests.find((m) => m.doc.kind === 'Deployment' && (m.doc.metadata as { name: string }).name === 'dashboard')!.doc as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(c.image).toBe(dashboard.spec.template.spec.containers[0].image);
    const config = manifests.find((m) => m.doc.kind === 'ConfigMap')!.doc as { metadata: { name: string }; data: Record<string, string> };
    expect(config.data.KAFKA_AUTO_CREATE_TOPICS).toBe('false');
    expect(c.envFrom).toContainEqual({ configMapRef: { name: config.metadata.name } });
    for (const s of ['ingest', 'aggregator', 'anomaly-detector', 'risk-scorer']) {
      const d = manifests.find((m) => m.doc.kind === 'Deployment' && (m.doc.metadata as { name: string }).name === s)!.doc as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(d.spec.template.spec.containers[0].envFrom, s).toContainEqual({ configMapRef: { name: config.metadata.name } });
      expect((d.spec.template.spec.containers[0].env ?? []).some((e: { name: string }) => e.name === 'KAFKA_AUTO_CREATE_TOPICS'), s).toBe(false);
    }
  });

  // The checker must catch the mistakes it exists for, or a green run means nothing.
  const broken: Array<[string, Manifest[], RegExp]> = [
    ['misspelled field', mutate(manifests, 'Deployment', 'ingest', (d) => (d.spec.template.spec.containers[0].readinessProbes = d.spec.template.spec.containers[0].readinessProbe)), /must NOT have additional properties/],
    ['selector/label mismatch', mutate(manifests, 'Deployment', 'ingest', (d) => (d.spec.selector.matchLabels = { 'app.kubernetes.io/name': 'ingest-x' })), /selector does not match/],
    ['probe path not served', mutate(manifests, 'Deployment', 'aggregator', (d) => (d.spec.template.spec.containers[0].readinessProbe.httpGet.path = '/ready')), /path \/ready is not served/],
    ['service port mismatch', mutate(manifests, 'Service', 'ingest', (s) => (s.spec.ports[0].targetPort = 9999)), /targetPort 9999/],
    ['HPA target missing', mutate(manifests, 'HorizontalPodAutoscaler', 'ingest', (h) => (h.spec.scaleTargetRef.name = 'ingester')), /scaleTargetRef ingester/],
    ['Job with a misspelled restart policy', mutate(manifests, 'Job', 'pulsegate-topics', (j) => (j.spec.template.spec.restartPolicy = 'Always')), /restartPolicy must be equal to one of the allowed values/],
    ['Job reading a config map that is not there', mutate(manifests, 'Job', 'pulsegate-topics', (j) => (j.spec.template.spec.containers[0].envFrom = [{ configMapRef: { name: 'pulsegate-settings' } }])), /envFrom configMap pulsegate-settings is not defined/],
    ['missing resource requests', mutate(manifests, 'Deployment', 'risk-scorer', (d) => delete d.spec.template.spec.containers[0].resources), /must have required property 'resources'/],
  ];
  it.each(broken)('rejects %s', (_name, docs, pattern) => {
    const problems = validateManifests(docs, root, files);
    expect(problems.some((p) => pattern.test(p)), problems.join('\n')).toBe(true);
  });

  it('rejects a Kustomization that misses a file', () => {
    expect(validateManifests(manifests, root, [...files, 'extra.yaml'])).toContainEqual(expect.stringMatching(/extra\.yaml is not listed/));
  });
});
