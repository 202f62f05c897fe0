// JSON schemas for the Kubernetes kinds deploy/k8s uses, covering the fields we use. Written here
// (no npm package ships the Kubernetes schemas for offline use); additionalProperties: false
// where a typo would silently drop a setting (Kubernetes ignores unknown fields on apply).
type Schema = Record<string, unknown>;

const str = { type: 'string', minLength: 1 };
const dnsName = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const labels = { type: 'object', additionalProperties: { type: 'string' } };
const quantity = { oneOf: [{ type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G)?$' }, { type: 'number' }] };
const port = { type: 'integer', minimum: 1, maximum: 65535 };
const intOrName = { oneOf: [port, { type: 'string', pattern: '^[a-z0-9-]{1,15}$' }] };

const metadata = (namespaced: boolean): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: namespaced ? ['name', 'namespace'] : ['name'],
  properties: { name: dnsName, namespace: dnsName, labels, annotations: labels },
});

const probe: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['httpGet'],
  properties: {
    httpGet: { type: 'object', additionalProperties: false, required: ['path', 'port'], properties: { path: { type: 'string', pattern: '^/' }, port: intOrName } },
    initialDelaySeconds: { type: 'integer', minimum: 0 },
    periodSeconds: { type: 'integer', minimum: 1 },
    timeoutSeconds: { type: 'integer', minimum: 1 },
    failureThreshold: { type: 'integer', minimum: 1 },
    successThreshold: { type: 'integer', minimum: 1 },
  },
};

const envVar: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
    value: { type: 'string' },
    valueFrom: {
      type: 'object',
      additionalProperties: false,
      properties: {
        secretKeyRef: { type: 'object', additionalProperties: false, required: ['name', 'key'], properties: { name: dnsName, key: str, optional: { type: 'boolean' } } },
        configMapKeyRef: { type: 'object', additionalProperties: false, required: ['name', 'key'], properties: { name: dnsName, key: str, optional: { type: 'boolean' } } },
      },
    },
  },
};

const container: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'image', 'resources', 'readinessProbe', 'livenessProbe'],
  properties: {
    name: dnsName,
    image: str,
    imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    command: { type: 'array', items: { type: 'string' } },
    args: { type: 'array', items: { type: 'string' } },
    ports: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['containerPort'], properties: { name: { type: 'string', pattern: '^[a-z0-9-]{1,15}$' }, containerPort: port, protocol: { enum: ['TCP', 'UDP'] } } },
    },
    env: { type: 'array', items: envVar },
    envFrom: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          configMapRef: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: dnsName, optional: { type: 'boolean' } } },
          secretRef: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: dnsName, optional: { type: 'boolean' } } },
        },
      },
    },
    readinessProbe: probe,
    livenessProbe: probe,
    startupProbe: probe,
    resources: {
      type: 'object',
      additionalProperties: false,
      required: ['requests'],
      properties: {
        requests: { type: 'object', additionalProperties: false, required: ['cpu', 'memory'], properties: { cpu: quantity, memory: quantity } },
        limits: { type: 'object', additionalProperties: false, properties: { cpu: quantity, memory: quantity } },
      },
    },
    securityContext: {
      type: 'object',
      additionalProperties: false,
      properties: { runAsNonRoot: { type: 'boolean' }, runAsUser: { type: 'integer' }, allowPrivilegeEscalation: { type: 'boolean' }, readOnlyRootFilesystem: { type: 'boolean' } },
    },
    volumeMounts: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['name', 'mountPath'], properties: { name: dnsName, mountPath: { type: 'string', pattern: '^/' }, readOnly: { type: 'boolean' } } } },
  },
};

/** A Job's container: runs to completion, so no probes and no ports; its command is spelled out. */
const { readinessProbe: _r, livenessProbe: _l, startupProbe: _s, ports: _p, ...runOnce } = container.properties as Record<string, unknown>;
const jobContainer: Schema = { ...container, required: ['name', 'image', 'command', 'resources'], properties: runOnce };

const volumes: Schema = { type: 'array', items: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: dnsName, emptyDir: { type: 'object' }, configMap: { type: 'object' }, secret: { type: 'object' } } } };

/** A pod template with `containers` of the given schema and the kind's own pod settings. */
const podTemplate = (containers: Schema, own: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['metadata', 'spec'],
  properties: {
    metadata: { type: 'object', additionalProperties: false, required: ['labels'], properties: { labels, annotations: labels } },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['containers', ...required],
      properties: { ...own, containers: { type: 'array', minItems: 1, items: containers }, volumes, securityContext: { type: 'object' }, serviceAccountName: dnsName },
    },
  },
});

const selector: Schema = { type: 'object', additionalProperties: false, required: ['matchLabels'], properties: { matchLabels: { ...labels, minProperties: 1 } } };

/** A namespaced object: apiVersion, kind, metadata and the kind's `spec`. */
const namespacedResource = (spec: Schema): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: { apiVersion: {}, kind: {}, metadata: metadata(true), spec },
});

/** Schemas by `apiVersion/kind`. */
export const K8S_SCHEMAS: Record<string, Schema> = {
  'v1/Namespace': { type: 'object', additionalProperties: false, required: ['apiVersion', 'kind', 'metadata'], properties: { apiVersion: {}, kind: {}, metadata: metadata(false) } },
  'v1/ConfigMap': {
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'data'],
    properties: { apiVersion: {}, kind: {}, metadata: metadata(true), data: { type: 'object', propertyNames: { pattern: '^[A-Z_][A-Z0-9_]*$' }, additionalProperties: { type: 'string' } } },
  },
  'v1/Service': namespacedResource({
    type: 'object',
    additionalProperties: false,
    required: ['selector', 'ports'],
    properties: {
      type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
      selector: { ...labels, minProperties: 1 },
      ports: { type: 'array', minItems: 1, items: { type: 'object', additionalProperties: false, required: ['port'], properties: { name: str, port, targetPort: intOrName, protocol: { enum: ['TCP', 'UDP'] } } } },
    },
  }),
  'apps/v1/Deployment': namespacedResource({
    type: 'object',
    additionalProperties: false,
    required: ['selector', 'template'],
    properties: {
      replicas: { type: 'integer', minimum: 0 },
      strategy: { type: 'object' },
      selector,
      template: podTemplate(container, { terminationGracePeriodSeconds: { type: 'integer', minimum: 0 } }),
    },
  }),
  'batch/v1/Job': namespacedResource({
    type: 'object',
    additionalProperties: false,
    required: ['template'],
    properties: {
      backoffLimit: { type: 'integer', minimum: 0 },
      activeDeadlineSeconds: { type: 'integer', minimum: 1 },
      ttlSecondsAfterFinished: { type: 'integer', minimum: 0 },
      template: podTemplate(jobContainer, { restartPolicy: { enum: ['Never', 'OnFailure'] } }, ['restartPolicy']),
    },
  }),
  'policy/v1/PodDisruptionBudget': {
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: {},
      kind: {},
      metadata: metadata(true),
      spec: { type: 'object', additionalProperties: false, required: ['selector'], properties: { minAvailable: intOrName, maxUnavailable: intOrName, selector }, oneOf: [{ required: ['minAvailable'] }, { required: ['maxUnavailable'] }] },
    },
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: {},
      kind: {},
      metadata: metadata(true),
      spec: {
        type: 'object',
        additionalProperties: false,
        required: ['scaleTargetRef', 'maxReplicas'],
        properties: {
          scaleTargetRef: { type: 'object', additionalProperties: false, required: ['apiVersion', 'kind', 'name'], properties: { apiVersion: { const: 'apps/v1' }, kind: { const: 'Deployment' }, name: dnsName } },
          minReplicas: { type: 'integer', minimum: 1 },
          maxReplicas: { type: 'integer', minimum: 1 },
          metrics: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['type', 'resource'],
              properties: {
                type: { const: 'Resource' },
                resource: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name', 'target'],
                  properties: {
                    name: { enum: ['cpu', 'memory'] },
                    target: { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { enum: ['Utilization', 'AverageValue'] }, averageUtilization: { type: 'integer', minimum: 1, maximum: 100 }, averageValue: quantity } },
                  },
                },
              },
            },
          },
          behavior: { type: 'object' },
        },
      },
    },
  },
  'kustomize.config.k8s.io/v1beta1/Kustomization': {
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'resources'],
    properties: { apiVersion: {}, kind: {}, namespace: dnsName, resources: { type: 'array', minItems: 1, items: { type: 'string', pattern: '\\.ya?ml$' } }, images: { type: 'array' }, commonLabels: labels, labels: { type: 'array' } },
  },
};
