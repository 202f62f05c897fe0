import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { OpenApiChecker } from '@pulsegate/testkit';
import { K8S_SCHEMAS } from './k8s-schemas';

/** One parsed manifest document and where it came from. */
export interface Manifest {
  file: string;
  doc: Record<string, unknown>;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are checked by schema first

/** Reads every YAML document of the `*.yaml` files in `dir`. */
export function loadManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
      const doc = d.toJS() as unknown;
      if (doc !== null) out.push({ file, doc: doc as Record<string, unknown> });
    }
  }
  return out;
}

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** OpenAPI documents of Deployments that are not under services/<name>/openapi.yaml. */
const API_DOCS: Record<string, string> = { dashboard: join('apps', 'pulsegate', 'openapi.yaml') };

/**
 * Validates manifests offline: each against the schema of its kind, then cross-checks: selectors
 * match their pod template labels, probe paths are served by the service (its openapi.yaml),
 * named probe ports exist, Service targetPorts exist on a selected Deployment, PDBs and HPAs point
 * at Deployments, Kustomization lists exactly the files present. Returns the problems found.
 * `repoRoot` locates services/<deployment name>/openapi.yaml.
 */
export function validateManifests(manifests: Manifest[], repoRoot: string, files: string[]): string[] {
  const problems: string[] = [];
  const ajv = new Ajv({ allErrors: true, strict: false });
  const deployments = new Map<string, Obj>();
  for (const { file, doc } of manifests) {
    const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
    const schema = K8S_SCHEMAS[key];
    if (schema === undefined) {
      problems.push(`${file}: unsupported kind ${key}`);
      continue;
    }
    const validate = ajv.compile(schema);
    if (!validate(doc)) for (const e of validate.errors ?? []) problems.push(`${file} ${key}: ${e.instancePath || '(root)'} ${e.message ?? ''}`);
    if (doc.kind === 'Deployment') deployments.set(String((doc.metadata as Obj).name), doc as Obj);
  }
  if (problems.length > 0) return problems;

  const all = manifests.map((m) => ({ file: m.file, doc: m.doc as Obj }));
  for (const { file, doc } of all) {
    const where = `${file} ${doc.kind as string} ${doc.metadata?.name as string}`;
    if (doc.kind === 'Deployment') {
      const podLabels = doc.spec.template.metadata.labels as Record<string, string>;
      if (!matches(doc.spec.selector.matchLabels, podLabels)) problems.push(`${where}: selector does not match the pod template labels`);
      const apiPath = API_DOCS[doc.metadata.name as string] ?? join('services', doc.metadata.name as string, 'openapi.yaml');
      const apiDoc = join(repoRoot, apiPath);
      const ops = existsSync(apiDoc) ? new OpenApiChecker(apiDoc).operations() : null;
      if (ops === null) problems.push(`${where}: no ${apiPath} to check probes against`);
      for (const c of doc.spec.template.spec.containers as Obj[]) {
        const portNames = new Set((c.ports ?? []).map((p: Obj) => p.name));
        const portNumbers = new Set((c.ports ?? []).map((p: Obj) => p.containerPort));
        for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          const get = c[kind]?.httpGet as Obj | undefined;
          if (get === undefined) continue;
          if (typeof get.port === 'string' ? !portNames.has(get.port) : !portNumbers.has(get.port)) problems.push(`${where}: ${kind} port ${String(get.port)} is not a container port`);
          if (ops !== null && !ops.includes(`GET ${get.path as string}`)) problems.push(`${where}: ${kind} path ${get.path as string} is not served (not in openapi.yaml)`);
        }
        const envPort = (c.env ?? []).find((e: Obj) => e.name === 'PORT')?.value as string | undefined;
        if (envPort !== undefined && !portNumbers.has(Number(envPort))) problems.push(`${where}: PORT=${envPort} is not a container port`);
      }
      const volumes = new Set((doc.spec.template.spec.volumes ?? []).map((v: Obj) => v.name));
      for (const c of doc.spec.template.spec.containers as Obj[]) for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) problems.push(`${where}: volumeMount ${m.name as string} has no volume`);
    }
    if (doc.kind === 'Deployment' || doc.kind === 'Job') {
      for (const c of doc.spec.template.spec.containers as Obj[]) {
        for (const from of c.envFrom ?? []) {
          const name = from.configMapRef?.name as string | undefined;
          if (name !== undefined && !all.some((m) => m.doc.kind === 'ConfigMap' && m.doc.metadata.name === name)) problems.push(`${where}: envFrom configMap ${name} is not defined`);
        }
      }
    }
    if (doc.kind === 'Job') {
      const volumes = new Set((doc.spec.template.spec.volumes ?? []).map((v: Obj) => v.name));
      for (const c of doc.spec.template.spec.containers as Obj[]) for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) problems.push(`${where}: volumeMount ${m.name as string} has no volume`);
    }
    if (doc.kind === 'Service') {
      const targets = [...deployments.values()].filter((d) => matches(doc.spec.selector, d.spec.template.metadata.labels));
      if (targets.length === 0) problems.push(`${where}: selector matches no Deployment`);
      for (const p of doc.spec.ports as Obj[]) {
        const target = p.targetPort ?? p.port;
        for (const d of targets) {
          const ports = (d.spec.template.spec.containers as Obj[]).flatMap((c) => c.ports ?? []);
          if (!ports.some((cp: Obj) => (typeof target === 'string' ? cp.name === target : cp.containerPort === target))) problems.push(`${where}: targetPort ${String(target)} is not a port of Deployment ${d.metadata.name as string}`);
        }
      }
    }
    if (doc.kind === 'PodDisruptionBudget') {
      const d = [...deployments.values()].filter((x) => matches(doc.spec.selector.matchLabels, x.spec.template.metadata.labels));
      if (d.length === 0) problems.push(`${where}: selector matches no Deployment`);
      if (typeof doc.spec.minAvailable === 'number') for (const x of d) if ((x.spec.replicas ?? 1) <= doc.spec.minAvailable) problems.push(`${where}: minAvailable ${doc.spec.minAvailable} leaves no disruption allowed with ${x.spec.replicas ?? 1} replicas`);
    }
    if (doc.kind === 'HorizontalPodAutoscaler') {
      const d = deployments.get(doc.spec.scaleTargetRef.name);
      if (d === undefined) problems.push(`${where}: scaleTargetRef ${doc.spec.scaleTargetRef.name as string} is not a Deployment here`);
      if ((doc.spec.minReplicas ?? 1) > doc.spec.maxReplicas) problems.push(`${where}: minReplicas > maxReplicas`);
      const cpuTarget = (doc.spec.metrics ?? []).some((m: Obj) => m.resource?.name === 'cpu');
      if (d !== undefined && cpuTarget && (d.spec.template.spec.containers as Obj[]).some((c) => c.resources?.requests?.cpu === undefined)) problems.push(`${where}: CPU utilization needs cpu requests on every container`);
    }
    if (doc.kind === 'Kustomization') {
      const listed = new Set(doc.resources as string[]);
      for (const r of listed) if (!files.includes(r)) problems.push(`${where}: lists ${r}, which does not exist`);
      for (const f of files) if (f !== file && !listed.has(f)) problems.push(`${where}: ${f} is not listed in resources`);
    }
    const ns = doc.metadata?.namespace as string | undefined;
    if (ns !== undefined && !all.some((m) => m.doc.kind === 'Namespace' && m.doc.metadata.name === ns)) problems.push(`${where}: namespace ${ns} is not defined`);
  }
  return problems;
}
