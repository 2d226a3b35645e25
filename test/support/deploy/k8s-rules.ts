/**
 * The promises of k8s/ as rules over the RENDERED objects of an overlay, so
 * that a patch in an overlay cannot quietly undo what the base promises.
 * Each rule returns readable problems; an empty list means the overlay keeps
 * every promise.
 */
import type { IContainer, IPodSpec, IProbe } from 'kubernetes-models/v1';
import type { K8sObject } from './k8s.js';

export interface RenderedExpectations {
  /** Seconds `cali run` may need between SIGTERM and exit (see the test for how it is computed). */
  readonly consumerShutdownBudgetSeconds: number;
  /** Open shards of the environment's stream: the most consumers that can hold a lease. */
  readonly streamShards: number;
  /** fluent-bit.yaml's service.grace, seconds. */
  readonly fluentBitGraceSeconds: number;
  /** The memory Fluent Bit's own limits allow it to hold, bytes. */
  readonly fluentBitMemoryBudgetBytes: number;
  /** ${VARIABLES} fluent-bit.yaml reads from its environment. */
  readonly fluentBitVariables: readonly string[];
}

const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob']);
/** fluent-bit.yaml's exclude_path drops these pods' logs: CALI never reads its own output. */
const OWN_POD_PREFIXES = ['cali-', 'fluent-bit'];

interface Workload {
  readonly object: K8sObject;
  readonly id: string;
  readonly namespace: string;
  readonly podLabels: Record<string, string>;
  readonly pod: IPodSpec;
}

function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects.filter((o) => WORKLOAD_KINDS.has(o.kind)).map((object) => {
    const spec = object.spec as { template?: { metadata?: { labels?: Record<string, string> }; spec: IPodSpec }; jobTemplate?: { spec: { template: { metadata?: { labels?: Record<string, string> }; spec: IPodSpec } } } };
    const template = spec.template ?? spec.jobTemplate?.spec.template;
    if (template === undefined) throw new Error(`${object.kind}/${object.metadata.name} has no pod template`);
    return { object, id: `${object.kind}/${object.metadata.name}`, namespace: object.metadata.namespace ?? '', podLabels: template.metadata?.labels ?? {}, pod: template.spec };
  });
}

export function parseQuantityBytes(quantity: string | number | undefined): number {
  if (quantity === undefined) return Number.NaN;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!match) return Number.NaN;
  const units: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return Number(match[1]) * units[match[2] ?? '']!;
}

function portNumber(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(container: IContainer, probe: IProbe | undefined): { path: string | undefined; port: number | undefined } | undefined {
  if (probe?.httpGet === undefined) return undefined;
  return { path: probe.httpGet.path, port: portNumber(container, probe.httpGet.port) };
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function generatedName(objects: readonly K8sObject[], kind: string, name: string): string | undefined {
  return objects.find((o) => o.kind === kind && (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)))?.metadata.name;
}

/** Rules every container of every workload keeps. */
function containerRules(w: Workload, problems: string[]): void {
  const isCali = w.namespace === 'cali';
  if (!OWN_POD_PREFIXES.some((p) => w.object.metadata.name.startsWith(p))) {
    problems.push(`${w.id}: pod names must start with ${OWN_POD_PREFIXES.join(' or ')} (fluent-bit.yaml excludes them; other names feed CALI its own logs)`);
  }
  const podSc = w.pod.securityContext ?? {};
  if (podSc.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${w.id}: pod seccompProfile must be RuntimeDefault`);
  const emptyDirs = new Set((w.pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
  if (isCali) {
    if (w.pod.automountServiceAccountToken !== false) problems.push(`${w.id}: automountServiceAccountToken must be false (CALI never calls the Kubernetes API)`);
    if ((w.pod.volumes ?? []).some((v) => v.hostPath !== undefined)) problems.push(`${w.id}: hostPath volume in namespace cali`);
    if (w.pod.hostNetwork === true || w.pod.hostPID === true) problems.push(`${w.id}: host namespaces in namespace cali`);
  }
  for (const c of [...(w.pod.initContainers ?? []), ...w.pod.containers]) {
    const cid = `${w.id} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${cid}: allowPrivilegeEscalation must be false`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${cid}: readOnlyRootFilesystem must be true`);
    if (sc.privileged === true) problems.push(`${cid}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${cid}: capabilities must drop ALL`);
    if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${cid}: adds capabilities ${sc.capabilities?.add?.join(', ')}`);
    if (isCali) {
      const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      const uid = sc.runAsUser ?? podSc.runAsUser;
      if (nonRoot !== true) problems.push(`${cid}: runAsNonRoot must be true`);
      if (uid === undefined || uid === 0) problems.push(`${cid}: runAsUser must be a non-zero UID`);
    }
    const tmp = (c.volumeMounts ?? []).find((m) => m.mountPath === '/tmp');
    if (tmp === undefined || !emptyDirs.has(tmp.name)) problems.push(`${cid}: /tmp must be an emptyDir (the root filesystem is read-only)`);
    if (c.resources?.requests?.cpu === undefined || c.resources.requests.memory === undefined) problems.push(`${cid}: cpu and memory requests must be set`);
    if (c.resources?.limits?.memory === undefined) problems.push(`${cid}: a memory limit must be set`);
    const image = c.image ?? '';
    if (!/:[\w.-]+$|@sha256:/.test(image) || image.endsWith(':latest')) problems.push(`${cid}: image "${image}" must be pinned (a tag other than latest, or a digest)`);
  }
}

function consumerRules(objects: readonly K8sObject[], all: Workload[], expect: RenderedExpectations, problems: string[]): void {
  const consumer = all.find((w) => w.id === 'Deployment/cali-consumer');
  if (consumer === undefined) {
    problems.push('Deployment/cali-consumer is missing');
    return;
  }
  const container = consumer.pod.containers.find((c) => c.name === 'cali');
  if (container === undefined) {
    problems.push('Deployment/cali-consumer: no container "cali"');
    return;
  }
  const configName = generatedName(objects, 'ConfigMap', 'cali-consumer-config');
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === configName)?.data as Record<string, string> | undefined;
  if (config === undefined) problems.push('ConfigMap cali-consumer-config is missing');
  const metricsPort = Number(config?.CALI_METRICS_PORT ?? 9464);
  const envFrom = container.envFrom ?? [];
  if (!envFrom.some((e) => e.configMapRef?.name === configName)) problems.push('Deployment/cali-consumer: env must come from the cali-consumer-config ConfigMap');
  const secretName = envFrom.find((e) => e.secretRef !== undefined)?.secretRef?.name;
  if (secretName === undefined) problems.push('Deployment/cali-consumer: env must come from a Secret too');
  else if (!objects.some((o) => o.kind === 'ExternalSecret' && (o.spec as { target?: { name?: string } }).target?.name === secretName)) {
    problems.push(`Deployment/cali-consumer: Secret ${secretName} is not produced by any ExternalSecret`);
  }
  const liveness = httpProbe(container, container.livenessProbe);
  const readiness = httpProbe(container, container.readinessProbe);
  if (liveness?.path !== '/healthz' || liveness.port !== metricsPort) problems.push(`Deployment/cali-consumer: liveness must be GET /healthz on ${metricsPort}, got ${JSON.stringify(liveness)}`);
  if (readiness?.path !== '/readyz' || readiness.port !== metricsPort) problems.push(`Deployment/cali-consumer: readiness must be GET /readyz on ${metricsPort}, got ${JSON.stringify(readiness)}`);
  const grace = consumer.pod.terminationGracePeriodSeconds ?? 30;
  if (!(grace > expect.consumerShutdownBudgetSeconds)) problems.push(`Deployment/cali-consumer: terminationGracePeriodSeconds ${grace} must exceed the shutdown budget of ${expect.consumerShutdownBudgetSeconds.toFixed(1)} s`);
  const spread = consumer.pod.topologySpreadConstraints ?? [];
  if (!spread.some((t) => t.topologyKey === 'topology.kubernetes.io/zone' && selects(t.labelSelector?.matchLabels, consumer.podLabels))) {
    problems.push('Deployment/cali-consumer: needs a zone topology spread constraint selecting its own pods');
  }
  const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === consumer.pod.serviceAccountName && o.metadata.namespace === consumer.namespace);
  if (!/^arn:aws:iam::\d{12}:role\/.+/.test(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '')) problems.push('Deployment/cali-consumer: its ServiceAccount needs an IRSA role annotation');

  const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && selects((o.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels, consumer.podLabels));
  if (pdb === undefined) problems.push('Deployment/cali-consumer: no PodDisruptionBudget selects its pods');
  const service = objects.find((o) => o.kind === 'Service' && selects((o.spec as { selector?: Record<string, string> }).selector, consumer.podLabels));
  const servicePorts = (service?.spec as { ports?: { name?: string; targetPort?: number | string }[] } | undefined)?.ports ?? [];
  if (!servicePorts.some((p) => p.name === 'metrics' && portNumber(container, p.targetPort) === metricsPort)) problems.push(`Service for cali-consumer: needs a "metrics" port targeting ${metricsPort}`);

  const scaled = objects.find((o) => o.kind === 'ScaledObject' && (o.spec as { scaleTargetRef?: { name?: string } }).scaleTargetRef?.name === 'cali-consumer');
  if (scaled === undefined) {
    problems.push('Deployment/cali-consumer: no ScaledObject scales it');
    return;
  }
  const spec = scaled.spec as { minReplicaCount?: number; maxReplicaCount?: number; triggers: { type: string; metadata: Record<string, string> }[] };
  const max = spec.maxReplicaCount ?? 100;
  if (max > expect.streamShards) problems.push(`ScaledObject/${scaled.metadata.name}: maxReplicaCount ${max} exceeds the ${expect.streamShards} open shards (a replica without a shard only waits)`);
  if ((spec.minReplicaCount ?? 0) > max) problems.push(`ScaledObject/${scaled.metadata.name}: minReplicaCount above maxReplicaCount`);
  for (const trigger of spec.triggers) {
    if (trigger.type === 'aws-kinesis-stream') {
      if (trigger.metadata.streamName !== config?.CALI_STREAM_NAME) problems.push(`ScaledObject: scales on stream "${trigger.metadata.streamName}", the consumer reads "${config?.CALI_STREAM_NAME}"`);
      if (trigger.metadata.awsRegion !== config?.AWS_REGION) problems.push(`ScaledObject: region "${trigger.metadata.awsRegion}", the consumer's is "${config?.AWS_REGION}"`);
      if (trigger.metadata.shardCount !== '1') problems.push('ScaledObject: shardCount must be "1" (one consumer per open shard)');
    } else if (trigger.type === 'prometheus') {
      if (!/\bcali_behind_latest_seconds\b/.test(trigger.metadata.query ?? '')) problems.push('ScaledObject: the prometheus trigger must query cali_behind_latest_seconds');
    } else problems.push(`ScaledObject: unexpected trigger type ${trigger.type}`);
  }
}

function fluentBitRules(objects: readonly K8sObject[], all: Workload[], expect: RenderedExpectations, problems: string[]): void {
  const ds = all.find((w) => w.id === 'DaemonSet/fluent-bit');
  if (ds === undefined) {
    problems.push('DaemonSet/fluent-bit is missing');
    return;
  }
  const container = ds.pod.containers[0]!;
  const configName = generatedName(objects, 'ConfigMap', 'fluent-bit-config');
  const configVolume = ds.pod.volumes?.find((v) => v.configMap?.name === configName && configName !== undefined);
  const mount = container.volumeMounts?.find((m) => m.name === configVolume?.name);
  if (mount?.mountPath.replace(/\/$/, '') !== '/fluent-bit/etc') problems.push('DaemonSet/fluent-bit: the generated fluent-bit-config must be mounted at /fluent-bit/etc/');
  if (!(container.command ?? []).join(' ').includes('-c /fluent-bit/etc/fluent-bit.yaml')) problems.push('DaemonSet/fluent-bit: must run with -c /fluent-bit/etc/fluent-bit.yaml');
  const grace = ds.pod.terminationGracePeriodSeconds ?? 30;
  if (!(grace > expect.fluentBitGraceSeconds)) problems.push(`DaemonSet/fluent-bit: terminationGracePeriodSeconds ${grace} must exceed service.grace ${expect.fluentBitGraceSeconds}`);
  const limit = parseQuantityBytes(container.resources?.limits?.memory);
  if (!(limit > expect.fluentBitMemoryBudgetBytes)) problems.push(`DaemonSet/fluent-bit: memory limit ${container.resources?.limits?.memory} is below the ${Math.round(expect.fluentBitMemoryBudgetBytes / 2 ** 20)} MiB its buffers may hold`);
  const envName = container.envFrom?.find((e) => e.configMapRef !== undefined)?.configMapRef?.name;
  const env = { ...(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === envName)?.data as Record<string, string> | undefined) };
  for (const e of container.env ?? []) env[e.name] = e.value ?? '(from a reference)';
  for (const variable of expect.fluentBitVariables) {
    if (!env[variable]) problems.push(`DaemonSet/fluent-bit: fluent-bit.yaml reads \${${variable}}, which its environment does not set`);
  }
  const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === ds.pod.serviceAccountName && o.metadata.namespace === ds.namespace);
  if (!/^arn:aws:iam::\d{12}:role\/.+/.test(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '')) problems.push('DaemonSet/fluent-bit: its ServiceAccount needs an IRSA role annotation');
  const binding = objects.find((o) => o.kind === 'ClusterRoleBinding' && (o.subjects as { kind: string; name: string; namespace?: string }[] | undefined)?.some((s) => s.kind === 'ServiceAccount' && s.name === ds.pod.serviceAccountName && s.namespace === ds.namespace));
  const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === (binding?.roleRef as { name?: string } | undefined)?.name);
  const rules = (role?.rules as { resources?: string[]; verbs?: string[] }[] | undefined) ?? [];
  for (const resource of ['pods', 'namespaces']) {
    const granted = new Set(rules.filter((r) => r.resources?.includes(resource)).flatMap((r) => r.verbs ?? []));
    if (!['get', 'list', 'watch'].every((v) => granted.has(v))) problems.push(`DaemonSet/fluent-bit: RBAC must allow get/list/watch on ${resource} (kubernetes filter)`);
  }
  const wildcard = rules.some((r) => r.verbs?.includes('*') || r.resources?.includes('*'));
  if (wildcard) problems.push('DaemonSet/fluent-bit: RBAC must not use wildcards');
}

function referenceRules(objects: readonly K8sObject[], all: Workload[], problems: string[]): void {
  for (const w of all) {
    const sa = w.pod.serviceAccountName ?? 'default';
    if (!objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa && o.metadata.namespace === w.namespace)) problems.push(`${w.id}: ServiceAccount ${sa} is not defined`);
    const names = w.pod.containers.flatMap((c) => (c.envFrom ?? []).flatMap((e) => (e.configMapRef?.name ? [e.configMapRef.name] : [])));
    for (const v of w.pod.volumes ?? []) if (v.configMap?.name) names.push(v.configMap.name);
    for (const name of names) {
      if (!objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === name && o.metadata.namespace === w.namespace)) problems.push(`${w.id}: ConfigMap ${name} is not defined in ${w.namespace}`);
    }
  }
}

/** Kinds that live outside namespaces; anything else without one would land in `default`. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'ClusterSecretStore', 'ClusterTriggerAuthentication']);

export function checkRendered(objects: readonly K8sObject[], expect: RenderedExpectations): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (!CLUSTER_SCOPED.has(o.kind) && !o.metadata.namespace) problems.push(`${o.kind}/${o.metadata.name}: no namespace (it would land in "default")`);
  }
  const all = workloads(objects);
  for (const w of all) containerRules(w, problems);
  consumerRules(objects, all, expect, problems);
  fluentBitRules(objects, all, expect, problems);
  referenceRules(objects, all, problems);
  for (const w of all.filter((x) => x.namespace === 'cali')) {
    const covered = objects.some((o) => {
      if (o.kind !== 'NetworkPolicy' || o.metadata.namespace !== 'cali') return false;
      const spec = o.spec as { podSelector?: { matchLabels?: Record<string, string> }; policyTypes?: string[] };
      const labels = spec.podSelector?.matchLabels;
      return (labels === undefined || Object.keys(labels).length === 0 || selects(labels, w.podLabels)) && (spec.policyTypes ?? []).includes('Ingress');
    });
    if (!covered) problems.push(`${w.id}: no NetworkPolicy restricts ingress to its pods`);
  }
  const cron = all.find((w) => w.object.kind === 'CronJob' && w.object.metadata.name === 'cali-quality');
  if (cron === undefined) problems.push('CronJob/cali-quality is missing');
  else {
    if (cron.pod.containers[0]?.args?.[0] !== 'quality') problems.push('CronJob/cali-quality: must run `cali quality`');
    if ((cron.object.spec as { concurrencyPolicy?: string }).concurrencyPolicy !== 'Forbid') problems.push('CronJob/cali-quality: concurrencyPolicy must be Forbid (runs never overlap)');
  }
  return problems;
}
