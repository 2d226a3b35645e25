/**
 * Rendering the kustomize overlays (kubectl's built-in kustomize, offline) and
 * checking the objects: schema validation with kubernetes-models and the CRD
 * models of KEDA, the Prometheus Operator and the External Secrets Operator.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as externalSecrets from '@kubernetes-models/external-secrets';
import * as keda from '@kubernetes-models/keda';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import * as k8s from 'kubernetes-models';
import { parseAllDocuments } from 'yaml';

export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** Why the kustomize checks cannot run here, or undefined when they can. */
export function kubectlUnavailable(): string | undefined {
  if (!existsSync(KUBECTL)) return `kubectl not found at ${KUBECTL} (set KUBECTL to its path): the kustomize build checks are skipped`;
  const probe = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `kubectl at ${KUBECTL} does not run: ${probe.stderr}`;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `kubectl kustomize DIR`, parsed; throws with kustomize's message when the build fails. */
export function render(dir: string): K8sObject[] {
  const out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize output does not parse: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}

type ModelClass = new (data: never) => { validate(): void };

function camelGroup(group: string): string {
  return group.split(/[.-]/).map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1))).join('');
}

function lookup(root: object, group: string, version: string, kind: string): ModelClass | undefined {
  const groupNs = group === '' ? root : (root as Record<string, unknown>)[camelGroup(group)];
  const versionNs = groupNs === undefined ? undefined : (groupNs as Record<string, unknown>)[version];
  const model = versionNs === undefined ? undefined : (versionNs as Record<string, unknown>)[kind];
  return typeof model === 'function' ? (model as ModelClass) : undefined;
}

/**
 * The models have no external-secrets.io/v1 yet; v1 kept v1beta1's schema for
 * SecretStore and ExternalSecret (ESO's v1 promotion changed no field these
 * manifests use), so v1 objects are validated against v1beta1.
 */
const VERSION_ALIASES: Record<string, string> = { 'external-secrets.io/v1': 'external-secrets.io/v1beta1' };

export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const resolved = VERSION_ALIASES[apiVersion] ?? apiVersion;
  const slash = resolved.lastIndexOf('/');
  const group = slash < 0 ? '' : resolved.slice(0, slash);
  const version = resolved.slice(slash + 1);
  for (const root of [k8s, keda, prometheusOperator, externalSecrets]) {
    const model = lookup(root, group, version, kind);
    if (model !== undefined) return model;
  }
  return undefined;
}

/** One line per object that has no schema or fails its schema. */
export function validateObjects(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata?.name ?? '?'}`;
    const model = modelFor(object.apiVersion, object.kind);
    if (model === undefined) {
      problems.push(`${id}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    const data = { ...object, apiVersion: VERSION_ALIASES[object.apiVersion] ?? object.apiVersion };
    try {
      new model(data as never).validate();
    } catch (error) {
      problems.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`${kind}/${name} is not in the rendered output`);
  return found;
}

/** Generated ConfigMaps carry a hash suffix: find them by their generator name. */
export function findGenerated(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name));
  if (found === undefined) throw new Error(`generated ${kind} ${name}-<hash> is not in the rendered output`);
  return found;
}
