/**
 * k8s/ checked offline: `kubectl kustomize` builds the base and every overlay;
 * every rendered object validates against the Kubernetes, KEDA, Prometheus
 * Operator and External Secrets schemas (kubernetes-models); the rendered
 * output keeps the security, probe, shutdown and scaling promises
 * (test/support/deploy/k8s-rules.ts); the Fluent Bit ConfigMap is the
 * fluent-bit/ files; the overlays agree with the Terraform environments.
 * Broken copies show each check failing.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { IPodSpec } from 'kubernetes-models/v1';
import { loadRunConfig, type RunConfig } from '../src/config/run-config.js';
import { loadAlertingConfig } from '../src/pipeline/alerting/config.js';
import { DEFAULT_MAX_OBJECT_AGE_MS } from '../src/pipeline/sinks/object-writer-config.js';
import { DEFAULT_RETRY_POLICY } from '../src/pipeline/sinks/retry-policy.js';
import { flbSize, loadFluentBitConfig, prop } from './support/fluent-bit-engine.js';
import { find, findGenerated, kubectlUnavailable, render, validateObjects, type K8sObject } from './support/deploy/k8s.js';
import { checkRendered, type RenderedExpectations } from './support/deploy/k8s-rules.js';
import { callArgument, loadModule } from './support/deploy/terraform.js';

const skipReason = kubectlUnavailable();
if (skipReason !== undefined) process.stderr.write(`test/deploy-k8s.test.ts: ${skipReason}\n`);
const ENVS = ['dev', 'prod'] as const;
type Env = (typeof ENVS)[number];

/**
 * What `cali run` may need between SIGTERM and exit with healthy sinks, from
 * the code's own settings (src/main.ts stop()), for the configuration an
 * overlay gives it: the open archive/DLQ object is sealed after
 * maxObjectAgeMs, its PUT is one attempt bounded by attemptTimeoutMs, then the
 * checkpoint and the lease release are one DynamoDB write each, bounded by the
 * lease store's operation timeout (max(1 s, renew interval), src/main.ts);
 * with alerting configured, its flush is bounded by its own shutdown timeout.
 */
function consumerShutdownBudgetSeconds(config: RunConfig): number {
  const dynamoWriteMs = Math.max(1_000, config.lease.renewIntervalMs);
  const alertFlushMs = (config as { alerting?: { shutdownTimeoutMs?: number } }).alerting?.shutdownTimeoutMs ?? 0;
  return (DEFAULT_MAX_OBJECT_AGE_MS + DEFAULT_RETRY_POLICY.attemptTimeoutMs + 2 * dynamoWriteMs + alertFlushMs) / 1000;
}

function consumerConfig(objects: readonly K8sObject[]): RunConfig {
  const data = findGenerated(objects, 'ConfigMap', 'cali-consumer-config').data as Record<string, string>;
  return loadRunConfig({ ...data, CALI_WORKER_ID: 'cali-consumer-7d9f8-abcde' });
}

const fluentBit = loadFluentBitConfig('fluent-bit');
const fluentBitText = readFileSync('fluent-bit/fluent-bit.yaml', 'utf8');
/** Fluent Bit's chunks are about 2 MB; max_chunks_up of them may be in memory, plus the multiline emitter's buffer and the tail input's line buffer. */
const FLUENT_BIT_CHUNK_BYTES = 2 * 1024 * 1024;
const fluentBitMemoryBudgetBytes =
  Number(prop(fluentBit.service, 'storage.max_chunks_up')) * FLUENT_BIT_CHUNK_BYTES +
  fluentBit.filters.reduce((n, f) => n + (prop(f, 'emitter_mem_buf_limit') ? flbSize(prop(f, 'emitter_mem_buf_limit')!) : 0), 0) +
  fluentBit.inputs.reduce((n, i) => n + flbSize(prop(i, 'buffer_max_size') ?? '32K'), 0);

/** The rendered fluent-bit-config must hold exactly the files of fluent-bit/, unchanged. */
function fluentBitConfigMapProblems(objects: readonly K8sObject[]): string[] {
  const files = readdirSync('fluent-bit').filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && /^fluent-bit-config(-[a-z0-9]{10})?$/.test(o.metadata.name));
  if (configMap === undefined) return ['no fluent-bit-config ConfigMap'];
  const data = configMap.data as Record<string, string>;
  const problems: string[] = [];
  if (Object.keys(data).sort().join() !== files.join()) problems.push(`fluent-bit-config holds ${Object.keys(data).sort().join(', ')}, fluent-bit/ has ${files.join(', ')}`);
  for (const file of files) if (data[file] !== readFileSync(join('fluent-bit', file), 'utf8')) problems.push(`fluent-bit-config: ${file} differs from fluent-bit/${file}`);
  return problems;
}

async function expectationsFor(env: Env, objects: readonly K8sObject[]): Promise<RenderedExpectations> {
  const shards = callArgument(await loadModule(`infra/envs/${env}`), 'cali', 'stream_shard_count');
  if (typeof shards !== 'number') throw new Error(`infra/envs/${env}: module cali needs a literal stream_shard_count`);
  return {
    consumerShutdownBudgetSeconds: consumerShutdownBudgetSeconds(consumerConfig(objects)),
    streamShards: shards,
    fluentBitGraceSeconds: Number(prop(fluentBit.service, 'grace')),
    fluentBitMemoryBudgetBytes,
    fluentBitVariables: [...new Set([...fluentBitText.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!))],
  };
}

describe.skipIf(skipReason !== undefined)('k8s/ (kustomize)', () => {
  const rendered = new Map<string, K8sObject[]>();
  beforeAll(() => {
    for (const dir of ['k8s/base', ...ENVS.map((e) => `k8s/overlays/${e}`)]) rendered.set(dir, render(dir));
  });
  const overlay = (env: Env): K8sObject[] => rendered.get(`k8s/overlays/${env}`)!;

  it('builds the base and every overlay; every object validates against its schema', () => {
    const overlays = readdirSync('k8s/overlays').sort();
    expect(overlays).toEqual([...ENVS]);
    for (const [dir, objects] of rendered) {
      expect(objects.length, dir).toBeGreaterThanOrEqual(18);
      expect(validateObjects(objects), dir).toEqual([]);
    }
  });

  it.each(ENVS)('overlays/%s keeps the security, probe, shutdown and scaling promises', async (env) => {
    const objects = overlay(env);
    expect(checkRendered(objects, await expectationsFor(env, objects))).toEqual([]);
  });

  it('the grace period covers a shutdown computed from the code, which is not trivially small', () => {
    for (const env of ENVS) {
      const budget = consumerShutdownBudgetSeconds(consumerConfig(overlay(env)));
      expect(budget).toBeGreaterThan(30);
      const pod = (find(overlay(env), 'Deployment', 'cali-consumer').spec as { template: { spec: { terminationGracePeriodSeconds: number } } }).template.spec;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(budget);
    }
  });

  it.each(ENVS)('overlays/%s: the consumer ConfigMap passes CALI\'s own configuration validation', (env) => {
    const data = findGenerated(overlay(env), 'ConfigMap', 'cali-consumer-config').data as Record<string, string>;
    const config = consumerConfig(overlay(env));
    expect(config.stream.streamName).toBe(data.CALI_STREAM_NAME);
    expect(config.archive.destination).toMatchObject({ kind: 's3' });
    expect(config.dlq.destination).toMatchObject({ kind: 's3' });
  });

  it('the Fluent Bit ConfigMap is generated from fluent-bit/, byte for byte, in every overlay', () => {
    const files = readdirSync('fluent-bit').filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
    expect(files).toEqual(['fluent-bit.yaml', 'parsers.yaml']);
    for (const objects of rendered.values()) {
      expect(fluentBitConfigMapProblems(objects)).toEqual([]);
      expect(findGenerated(objects, 'ConfigMap', 'fluent-bit-config').metadata.name).toMatch(/-[a-z0-9]{10}$/);
    }
  });

  it('the Fluent Bit pipeline: CRI tail input, multiline filter first, kubernetes filter, both Kinesis outputs, buffer limits', () => {
    const [tail] = fluentBit.inputs;
    expect(prop(tail!, 'name')).toBe('tail');
    expect(prop(tail!, 'multiline.parser')).toMatch(/\bcri\b/);
    expect(prop(tail!, 'mem_buf_limit')).toBeDefined();
    expect(prop(fluentBit.filters[0]!, 'name')).toBe('multiline');
    expect(prop(fluentBit.filters[0]!, 'emitter_mem_buf_limit')).toBeDefined();
    expect(fluentBit.filters.map((f) => prop(f, 'name'))).toContain('kubernetes');
    expect(fluentBit.outputs.map((o) => prop(o, 'name')).sort()).toEqual(['kinesis_firehose', 'kinesis_streams']);
    for (const output of fluentBit.outputs) expect(prop(output, 'storage.total_limit_size'), prop(output, 'name')).toBeDefined();
    expect(prop(fluentBit.service, 'storage.max_chunks_up')).toBeDefined();
  });

  it.each(ENVS)('overlays/%s agrees with its Terraform environment: names, account, region, role ARNs', async (env) => {
    const objects = overlay(env);
    const root = await loadModule(`infra/envs/${env}`);
    const tfvars = parseYaml(readFileSync(`infra/envs/${env}/terraform.tfvars`, 'utf8').replace(/ = /g, ': ')) as { account_id: string; region: string };
    const name = `cali-${env}`;
    const stack = await loadModule('infra/modules/cali');
    expect(callArgument(root, 'cali', 'environment')).toBe(env);
    expect(readFileSync('infra/modules/cali/main.tf', 'utf8')).toContain('name = "cali-${var.environment}"');
    expect(callArgument(stack, 'kinesis', 'stream_name')).toBe('${local.name}-logs');
    expect(callArgument(stack, 'dynamodb', 'app_name')).toBe('${local.name}');
    expect(callArgument(stack, 'secrets', 'name')).toBe('${local.name}');
    const config = findGenerated(objects, 'ConfigMap', 'cali-consumer-config').data as Record<string, string>;
    expect(config).toMatchObject({
      AWS_REGION: tfvars.region,
      CALI_STREAM_NAME: `${name}-logs`,
      CALI_APP_NAME: name,
      CALI_ARCHIVE_URI: `s3://${name}-archive-${tfvars.account_id}/archive/`,
      CALI_DLQ_URI: `s3://${name}-dlq-${tfvars.account_id}/dlq/`,
      CALI_QUALITY_REPORT_URI: `s3://${name}-archive-${tfvars.account_id}/quality/`,
    });
    const fluentEnv = findGenerated(objects, 'ConfigMap', 'fluent-bit-env').data as Record<string, string>;
    expect(fluentEnv).toEqual({ AWS_REGION: tfvars.region, CALI_STREAM_NAME: `${name}-logs`, CALI_FIREHOSE_STREAM: `${name}-logs-backup` });
    const externalSecret = find(objects, 'ExternalSecret', 'cali-secrets').spec as { dataFrom: { extract: { key: string } }[] };
    expect(externalSecret.dataFrom[0]!.extract.key).toBe(`${name}/app`);
    const roles = objects.flatMap((o) => {
      const arn = o.kind === 'TriggerAuthentication' ? (o.spec as { podIdentity: { roleArn: string } }).podIdentity.roleArn : o.metadata.annotations?.['eks.amazonaws.com/role-arn'];
      return arn === undefined ? [] : [arn];
    });
    const iam = readFileSync('infra/modules/iam/main.tf', 'utf8');
    const irsaKeys = [...iam.slice(iam.indexOf('irsa = {'), iam.indexOf('}\n  # Built')).matchAll(/^ {4}([a-z-]+)\s+=/gm)].map((m) => m[1]!);
    const expectedRoles = [...irsaKeys.filter((k) => k !== 'keda-operator'), 'keda'].map((k) => `arn:aws:iam::${tfvars.account_id}:role/${name}-${k}`);
    expect(roles.sort()).toEqual(expectedRoles.sort());
    const images = objects.flatMap((o) => JSON.stringify(o).match(/"image":"[^"]+"/g) ?? []).filter((i) => !i.includes('fluent-bit'));
    expect(new Set(images)).toEqual(new Set([`"image":"${tfvars.account_id}.dkr.ecr.${tfvars.region}.amazonaws.com/cali:${env === 'dev' ? 'dev' : 'main'}"`]));
  });

  it('monitoring: the ServiceMonitor scrapes the consumer Service\'s metrics port from its namespace; dashboards come from the JSON files', () => {
    const dashboards = readdirSync('k8s/base/monitoring/dashboards').filter((f) => f.endsWith('.json')).sort();
    expect(dashboards.length).toBeGreaterThan(0);
    for (const env of ENVS) {
      const objects = overlay(env);
      const monitor = find(objects, 'ServiceMonitor', 'cali');
      const service = find(objects, 'Service', 'cali-consumer');
      expect(monitor.metadata.namespace).toBe(service.metadata.namespace);
      const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
      for (const [k, v] of Object.entries(spec.selector.matchLabels)) expect(service.metadata.labels?.[k], k).toBe(v);
      const ports = (service.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
      for (const endpoint of spec.endpoints) expect(ports).toContain(endpoint.port);
      expect(find(objects, 'PrometheusRule', 'cali').metadata.namespace).toBe('cali');
      const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('cali-grafana-dashboards'));
      const data = configMap?.data as Record<string, string>;
      expect(Object.keys(data).sort()).toEqual(dashboards);
      for (const file of dashboards) expect(data[file]).toBe(readFileSync(join('k8s/base/monitoring/dashboards', file), 'utf8'));
    }
  });

  it('the lag trigger queries a metric CALI exports', () => {
    const query = (find(overlay('dev'), 'ScaledObject', 'cali-consumer').spec as { triggers: { metadata: { query: string } }[] }).triggers[0]!.metadata.query;
    const metric = /\b(cali_[a-z_]+)\b/.exec(query)![1]!;
    expect(readFileSync('src/telemetry/metrics.ts', 'utf8')).toContain(`'${metric}'`);
  });

  it.each(ENVS)('overlays/%s: CALI_CONFIG names the mounted file, which CALI\'s own loader accepts', async (env) => {
    const objects = overlay(env);
    const config = consumerConfig(objects);
    const pod = (find(objects, 'Deployment', 'cali-consumer').spec as { template: { spec: IPodSpec } }).template.spec;
    const mount = pod.containers[0]!.volumeMounts!.find((m) => config.alerting.configPath?.startsWith(`${m.mountPath}/`));
    const volume = pod.volumes!.find((v) => v.name === mount?.name);
    const file = config.alerting.configPath!.slice(mount!.mountPath.length + 1);
    const data = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume?.configMap?.name)?.data as Record<string, string>;
    expect(Object.keys(data)).toContain(file);
    const dir = mkdtempSync(join(tmpdir(), 'cali-config-'));
    try {
      writeFileSync(join(dir, file), data[file]!);
      await expect(loadAlertingConfig(join(dir, file))).resolves.toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(ENVS)('overlays/%s: the Airflow DAG\'s ConfigMap cali-quality has the consumer\'s archive, DLQ and region', (env) => {
    const consumer = findGenerated(overlay(env), 'ConfigMap', 'cali-consumer-config').data as Record<string, string>;
    const quality = find(overlay(env), 'ConfigMap', 'cali-quality');
    expect(quality.metadata.namespace).toBe('cali');
    expect(readFileSync('infra/airflow/dags/cali_quality.py', 'utf8')).toContain('config_map_ref=k8s.V1ConfigMapEnvSource(name="cali-quality"');
    for (const key of ['AWS_REGION', 'CALI_ARCHIVE_URI', 'CALI_DLQ_URI']) expect((quality.data as Record<string, string>)[key], key).toBe(consumer[key]);
  });

  it('dev scales on lag (Prometheus), prod on the open shard count (Kinesis)', () => {
    const trigger = (env: Env): string => (find(overlay(env), 'ScaledObject', 'cali-consumer').spec as { triggers: { type: string }[] }).triggers.map((t) => t.type).join();
    expect(trigger('dev')).toBe('prometheus');
    expect(trigger('prod')).toBe('aws-kinesis-stream');
  });

  describe('on a broken copy', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cali-k8s-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    function renderBroken(file: string, from: string | RegExp, to: string, env: Env = 'prod'): K8sObject[] {
      const copy = mkdtempSync(join(dir, 'copy-'));
      cpSync('k8s', join(copy, 'k8s'), { recursive: true });
      cpSync('fluent-bit', join(copy, 'fluent-bit'), { recursive: true });
      const path = join(copy, file);
      const text = readFileSync(path, 'utf8');
      const broken = text.replace(from, to);
      expect(broken, `${String(from)} must change ${file}`).not.toBe(text);
      writeFileSync(path, broken);
      return render(join(copy, 'k8s', 'overlays', env));
    }

    it.each([
      ['a writable root filesystem', 'k8s/base/consumer/deployment.yaml', 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false', /container (cali|kb-runbooks): readOnlyRootFilesystem must be true/],
      ['privilege escalation in the CronJob', 'k8s/base/quality/cronjob.yaml', 'allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true', /CronJob\/cali-quality container quality: allowPrivilegeEscalation must be false/],
      ['capabilities kept', 'k8s/base/fluent-bit/daemonset.yaml', 'drop: ["ALL"]', 'drop: ["NET_RAW"]', /DaemonSet\/fluent-bit container fluent-bit: capabilities must drop ALL/],
      ['running as root', 'k8s/base/consumer/deployment.yaml', /runAsNonRoot: true\n {8}runAsUser: 1000/, 'runAsNonRoot: false\n        runAsUser: 0', /runAsUser must be a non-zero UID/],
      ['no /tmp volume', 'k8s/base/consumer/deployment.yaml', 'mountPath: /tmp', 'mountPath: /scratch', /\/tmp must be an emptyDir/],
      ['a short grace period', 'k8s/base/consumer/deployment.yaml', 'terminationGracePeriodSeconds: 60', 'terminationGracePeriodSeconds: 30', /terminationGracePeriodSeconds 30 must exceed the shutdown budget/],
      ['liveness on the wrong path', 'k8s/base/consumer/deployment.yaml', /livenessProbe:\n {12}httpGet:\n {14}path: \/healthz/, 'livenessProbe:\n            httpGet:\n              path: /metrics', /liveness must be GET \/healthz/],
      ['readiness on the wrong port', 'k8s/base/consumer/deployment.yaml', /path: \/readyz\n {14}port: metrics/, 'path: /readyz\n              port: 8080', /readiness must be GET \/readyz on 9464/],
      ['more replicas than shards', 'k8s/overlays/prod/patches.yaml', 'maxReplicaCount: 8', 'maxReplicaCount: 12', /maxReplicaCount 12 exceeds the 8 open shards/],
      ['Fluent Bit memory below its buffers', 'k8s/base/fluent-bit/daemonset.yaml', /limits:\n {14}cpu: "1"\n {14}memory: 512Mi/, 'limits:\n              cpu: "1"\n              memory: 128Mi', /memory limit 128Mi is below/],
      ['Fluent Bit grace below its own', 'k8s/base/fluent-bit/daemonset.yaml', 'terminationGracePeriodSeconds: 35', 'terminationGracePeriodSeconds: 20', /must exceed service\.grace 25/],
      ['Fluent Bit without its variables', 'k8s/base/fluent-bit/daemonset.yaml', / {10}envFrom:\n {12}- configMapRef:\n {16}name: fluent-bit-env\n/, '', /reads \$\{CALI_FIREHOSE_STREAM\}/],
      ['no zone spread', 'k8s/base/consumer/deployment.yaml', 'topologyKey: topology.kubernetes.io/zone', 'topologyKey: example.com/rack', /zone topology spread/],
      ['no NetworkPolicy', 'k8s/base/consumer/kustomization.yaml', '  - networkpolicy.yaml\n', '', /Deployment\/cali-consumer: no NetworkPolicy restricts ingress/],
      ['an object without a namespace', 'k8s/base/kustomization.yaml', /\n$/, '\nconfigMapGenerator:\n  - name: stray\n    literals: ["a=b"]\n', /ConfigMap\/stray-\w+: no namespace/],
      ['no PodDisruptionBudget', 'k8s/base/consumer/kustomization.yaml', '  - pdb.yaml\n', '', /no PodDisruptionBudget/],
    ])('fails on %s', async (_name, file, from, to, expected, env: Env = 'prod') => {
      const objects = renderBroken(file, from, to, env);
      expect(checkRendered(objects, await expectationsFor(env, objects)).join('\n')).toMatch(expected);
    });

    it('fails schema validation on a wrongly typed field', () => {
      const objects = renderBroken('k8s/base/consumer/pdb.yaml', 'maxUnavailable: 1', 'maxUnavailable: [1]');
      expect(validateObjects(objects).join('\n')).toMatch(/PodDisruptionBudget\/cali-consumer: .*maxUnavailable/);
    });

    it('fails schema validation on a KEDA object', () => {
      const objects = renderBroken('k8s/base/consumer/scaledobject.yaml', 'pollingInterval: 30', 'pollingInterval: "often"');
      expect(validateObjects(objects).join('\n')).toMatch(/ScaledObject\/cali-consumer: .*pollingInterval/);
    });

    it('fails the build on a missing resource file', () => {
      expect(() => renderBroken('k8s/base/consumer/kustomization.yaml', '  - service.yaml\n', '  - services.yaml\n')).toThrow(/services\.yaml/);
    });

    it('fails when the Fluent Bit ConfigMap is a hand-made copy that drifted from fluent-bit/', () => {
      const copy = mkdtempSync(join(dir, 'copy-'));
      cpSync('k8s', join(copy, 'k8s'), { recursive: true });
      const base = join(copy, 'k8s', 'base', 'fluent-bit');
      const kustomization = readFileSync(join(base, 'kustomization.yaml'), 'utf8');
      writeFileSync(join(base, 'kustomization.yaml'), kustomization.replace('  - ../../../fluent-bit\n', '  - fluent-bit-config.yaml\n'));
      const data = { 'fluent-bit.yaml': fluentBitText.replace('grace: 25', 'grace: 5'), 'parsers.yaml': readFileSync('fluent-bit/parsers.yaml', 'utf8') };
      writeFileSync(join(base, 'fluent-bit-config.yaml'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fluent-bit-config' }, data }));
      expect(fluentBitConfigMapProblems(render(join(copy, 'k8s', 'overlays', 'prod'))).join('\n')).toMatch(/fluent-bit\.yaml differs from fluent-bit\/fluent-bit\.yaml/);
    });
  });
});
