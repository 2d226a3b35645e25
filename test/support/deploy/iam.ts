/**
 * Least privilege, derived rather than listed by hand: the AWS calls a command
 * can make are the AWS SDK v3 `*Command` classes imported by the modules it
 * reaches (following relative imports from its entry file), mapped to IAM
 * actions; the policy in infra/modules/iam must allow exactly those (minus
 * documented exclusions, plus the KMS use they imply) on exactly the
 * resources of the service they belong to.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { PolicyStatement } from './terraform.js';

/** IAM action -> the source files (relative to `root`) whose imports need it. */
export type DerivedCalls = Map<string, Set<string>>;

/** S3's IAM actions are not its API names. */
const S3_ACTIONS: Record<string, string> = {
  PutObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
  DeleteObjects: 's3:DeleteObject',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  CopyObject: 's3:PutObject',
};

const IAM_PREFIX: Record<string, string> = { kinesis: 'kinesis', dynamodb: 'dynamodb', s3: 's3', firehose: 'firehose', 'secrets-manager': 'secretsmanager', sts: 'sts' };

export function iamAction(service: string, command: string): string {
  const api = command.replace(/Command$/, '');
  if (service === 's3') {
    const action = S3_ACTIONS[api];
    if (action === undefined) throw new Error(`no IAM mapping for S3 ${api}: add it to S3_ACTIONS in test/support/deploy/iam.ts`);
    return action;
  }
  const prefix = IAM_PREFIX[service];
  if (prefix === undefined) throw new Error(`no IAM prefix for @aws-sdk/client-${service}: add it to IAM_PREFIX in test/support/deploy/iam.ts`);
  return `${prefix}:${api}`;
}

const RELATIVE_IMPORT = /(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;
const SDK_IMPORT = /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g;

function sourceFile(fromFile: string, specifier: string): string | undefined {
  const target = resolve(dirname(fromFile), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target.replace(/\.cjs$/, '.cts'), target.replace(/\.mjs$/, '.mts'), `${target}.ts`, target]) {
    if (existsSync(candidate) && /\.(c|m)?ts$/.test(candidate)) return candidate;
  }
  return undefined;
}

/** Every AWS call reachable from `entry` (a .ts file), by IAM action. */
export function deriveSdkCalls(entry: string, root: string): DerivedCalls {
  const calls: DerivedCalls = new Map();
  const seen = new Set<string>();
  const queue = [resolve(entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(RELATIVE_IMPORT)) {
      const next = sourceFile(file, (match[1] ?? match[2])!);
      if (next !== undefined && !seen.has(next)) queue.push(next);
    }
    for (const [, specifiers, service] of text.matchAll(SDK_IMPORT)) {
      for (const specifier of specifiers!.split(',').map((s) => s.trim())) {
        if (specifier === '' || specifier.startsWith('type ')) continue;
        const name = specifier.split(/\s+as\s+/)[0]!;
        if (!/^[A-Z]\w*Command$/.test(name)) continue;
        const action = iamAction(service!, name);
        if (!calls.has(action)) calls.set(action, new Set());
        calls.get(action)!.add(relative(root, file));
      }
    }
  }
  if (seen.size < 2) throw new Error(`${entry}: no imports followed; is it the right entry file?`);
  return calls;
}

export interface Exclusion {
  readonly action: string;
  /** Why the role does not get it although the code can call it. */
  readonly reason: string;
}

/** KMS use an allowed call implies with a customer-managed key on the stream and the buckets. */
export const IMPLIED_KMS: Record<string, string[]> = {
  'kinesis:GetRecords': ['kms:Decrypt'],
  'kinesis:PutRecords': ['kms:GenerateDataKey'],
  's3:PutObject': ['kms:GenerateDataKey'],
  's3:GetObject': ['kms:Decrypt'],
};

/** Action -> the exact policy resources (Terraform expressions) it must be granted on. */
export type Grants = Map<string, Set<string>>;

export function grant(grants: Grants, action: string, ...resources: string[]): void {
  if (!grants.has(action)) grants.set(action, new Set());
  for (const resource of resources) grants.get(action)!.add(resource);
}

/**
 * Compares what the code needs (action on resource, plus the KMS use it
 * implies, on `kmsKey`) with what the statements allow, pair by pair: a call
 * allowed on the wrong table is as wrong as a missing call.
 */
export function comparePolicy(role: string, required: Grants, kmsKey: string, statements: readonly PolicyStatement[]): string[] {
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const [action, resources] of required) {
    for (const resource of resources) expected.add(`${action} on ${resource}`);
    for (const implied of IMPLIED_KMS[action] ?? []) expected.add(`${implied} on ${kmsKey}`);
  }
  const allowed = new Set<string>();
  for (const statement of statements) {
    const services = new Set(statement.actions.map((a) => a.split(':')[0]!));
    const id = `${role} statement ${statement.sid ?? statement.actions.join(',')}`;
    if (services.size !== 1) problems.push(`${id}: mixes services (${[...services].join(', ')}); one service per statement keeps resources exact`);
    if (statement.actions.some((a) => a.includes('*'))) problems.push(`${id}: wildcard action`);
    if (statement.resources.length === 0) problems.push(`${id}: no resources`);
    for (const action of statement.actions) for (const resource of statement.resources) allowed.add(`${action} on ${resource}`);
  }
  for (const pair of [...expected].sort()) if (!allowed.has(pair)) problems.push(`${role}: the code calls ${pair} but the policy does not allow it`);
  for (const pair of [...allowed].sort()) if (!expected.has(pair)) problems.push(`${role}: the policy allows ${pair}, which the code never calls`);
  return problems;
}
