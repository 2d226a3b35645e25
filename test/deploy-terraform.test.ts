/**
 * infra/ checked offline: every file parses, every reference resolves
 * (test/support/deploy/terraform.ts), formatting is canonical
 * (`terraform fmt -check`), and the resources keep the security settings the
 * deployment promises. Each check is also run on a broken copy to show it
 * fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_KEY_ATTRIBUTE } from '../src/lease/table.js';
import { checkReferences, loadModule, loadTree, terraformDirs, type TerraformModule } from './support/deploy/terraform.js';

const TERRAFORM = process.env.TERRAFORM ?? '/usr/local/bin/terraform';
const terraformMissing = existsSync(TERRAFORM) ? undefined : `terraform not found at ${TERRAFORM} (set TERRAFORM): formatting is not checked`;
const MODULES = ['cali', 'dynamodb', 'ecr', 'eks', 'github-oidc', 'iam', 'kinesis', 'kms', 'network', 'opensearch', 's3', 'secrets'];

type Body = Record<string, unknown>;

function resourceBody(module: TerraformModule, type: string, name: string): Body {
  for (const json of module.files.values()) {
    const found = (json.resource as Record<string, Record<string, Body[]>> | undefined)?.[type]?.[name]?.[0];
    if (found !== undefined) return found;
  }
  throw new Error(`${module.dir}: no resource ${type}.${name}`);
}

function block(body: Body, name: string): Body {
  const value = (body[name] as Body[] | undefined)?.[0];
  if (value === undefined) throw new Error(`no ${name} block`);
  return value;
}

function fmtCheck(dir: string): { ok: boolean; output: string } {
  const result = spawnSync(TERRAFORM, ['fmt', '-check', '-recursive', '-list=true', dir], { encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } });
  return { ok: result.status === 0, output: result.stdout + result.stderr };
}

describe('infra/ (Terraform)', () => {
  let tree: Map<string, TerraformModule>;
  const mod = (path: string): TerraformModule => {
    const found = tree.get(resolve('infra', path));
    if (found === undefined) throw new Error(`infra/${path} not loaded`);
    return found;
  };

  beforeAll(async () => {
    tree = await loadTree('infra');
  }, 120_000);

  it('has the modules and both environments, and every file parses', () => {
    const dirs = terraformDirs('infra').map((d) => d.replace(/^infra\//, ''));
    expect(dirs).toEqual([...['dev', 'prod'].map((e) => `envs/${e}`), ...MODULES.map((m) => `modules/${m}`)]);
    const files = [...tree.values()].reduce((n, m) => n + m.files.size, 0);
    expect(files).toBeGreaterThanOrEqual(MODULES.length * 4 + 8);
  });

  it('every var., local., module., data. and resource reference resolves; module calls match their modules', () => {
    expect(checkReferences(tree, 'infra')).toEqual([]);
    // The walk did see references (an empty list from an empty walk proves nothing).
    expect([...tree.values()].reduce((n, m) => n + m.references.length, 0)).toBeGreaterThan(200);
  });

  it('every variable and output is documented; every variable is typed', () => {
    const problems: string[] = [];
    for (const module of tree.values()) {
      for (const json of module.files.values()) {
        for (const [name, [body]] of Object.entries((json.variable ?? {}) as Record<string, Body[]>)) {
          if (typeof body?.description !== 'string') problems.push(`${module.dir}: variable ${name} has no description`);
          if (body?.type === undefined) problems.push(`${module.dir}: variable ${name} has no type`);
        }
        for (const [name, [body]] of Object.entries((json.output ?? {}) as Record<string, Body[]>)) {
          if (typeof body?.description !== 'string') problems.push(`${module.dir}: output ${name} has no description`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it.skipIf(terraformMissing !== undefined)('is formatted canonically (terraform fmt -check)', () => {
    const { ok, output } = fmtCheck('infra');
    expect(output).toBe('');
    expect(ok).toBe(true);
  });

  it('each environment keeps its state in S3 with a lock file, encrypted, and pins the provider account', () => {
    for (const env of ['dev', 'prod']) {
      const versions = mod(`envs/${env}`).files.get('versions.tf')!;
      const terraform = (versions.terraform as Body[])[0]!;
      const backend = (terraform.backend as Record<string, Body[]>).s3![0]!;
      expect(backend).toMatchObject({ encrypt: true, use_lockfile: true, key: `cali/${env}/terraform.tfstate` });
      const provider = ((versions.provider as Record<string, Body[]>).aws)![0]!;
      expect(provider.allowed_account_ids).toEqual(['${var.account_id}']);
    }
  });

  it('buckets: SSE-KMS, all public access blocked, ACLs off, TLS only, lifecycle with expiry', () => {
    const s3 = mod('modules/s3');
    const sse = block(block(resourceBody(s3, 'aws_s3_bucket_server_side_encryption_configuration', 'this'), 'rule'), 'apply_server_side_encryption_by_default');
    expect(sse.sse_algorithm).toBe('aws:kms');
    expect(resourceBody(s3, 'aws_s3_bucket_public_access_block', 'this')).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(block(resourceBody(s3, 'aws_s3_bucket_ownership_controls', 'this'), 'rule').object_ownership).toBe('BucketOwnerEnforced');
    const rule = block(resourceBody(s3, 'aws_s3_bucket_lifecycle_configuration', 'this'), 'rule');
    expect(block(rule, 'expiration').days).toBeDefined();
    expect(block(rule, 'abort_incomplete_multipart_upload').days_after_initiation).toBe(1);
    const defaults = ((s3.files.get('variables.tf')!.variable as Record<string, Body[]>).buckets![0]!.default) as Record<string, unknown>;
    expect(Object.keys(defaults).sort()).toEqual(['archive', 'backup', 'dlq']);
    for (const env of ['dev', 'prod']) expect(Object.keys(mod(`envs/${env}`).calls.get('cali')!.buckets as Body).sort()).toEqual(['archive', 'backup', 'dlq']);
  });

  it('DynamoDB: the lease table has the KCL key CALI reads, the alert table expires on expiresAt; on demand, PITR, KMS', () => {
    const dynamodb = mod('modules/dynamodb');
    const lease = resourceBody(dynamodb, 'aws_dynamodb_table', 'lease');
    const alerts = resourceBody(dynamodb, 'aws_dynamodb_table', 'alerts');
    expect(lease.hash_key).toBe(LEASE_KEY_ATTRIBUTE);
    expect(lease.attribute).toEqual([{ name: LEASE_KEY_ATTRIBUTE, type: 'S' }]);
    expect(lease.name).toBe('${var.app_name}');
    expect(alerts.hash_key).toBe('pk');
    expect(block(alerts, 'ttl')).toEqual({ attribute_name: 'expiresAt', enabled: true });
    for (const table of [lease, alerts]) {
      expect(table.billing_mode).toBe('PAY_PER_REQUEST');
      expect(block(table, 'point_in_time_recovery').enabled).toBe(true);
      expect(block(table, 'server_side_encryption').kms_key_arn).toBe('${var.kms_key_arn}');
    }
  });

  it('Kinesis is KMS-encrypted and its Firehose backup lands GZIP in the backup bucket; ECR tags are immutable and scanned', () => {
    const kinesis = mod('modules/kinesis');
    expect(resourceBody(kinesis, 'aws_kinesis_stream', 'logs')).toMatchObject({ encryption_type: 'KMS', kms_key_id: '${var.kms_key_arn}' });
    const firehose = resourceBody(kinesis, 'aws_kinesis_firehose_delivery_stream', 'backup');
    expect(block(firehose, 'extended_s3_configuration')).toMatchObject({ bucket_arn: '${var.backup_bucket_arn}', compression_format: 'GZIP' });
    expect(block(firehose, 'server_side_encryption').enabled).toBe(true);
    const ecr = resourceBody(mod('modules/ecr'), 'aws_ecr_repository', 'this');
    expect(ecr.image_tag_mutability).toBe('IMMUTABLE');
    expect(block(ecr, 'image_scanning_configuration').scan_on_push).toBe(true);
  });

  it('OpenSearch: in the VPC, encrypted at rest and in transit, HTTPS only, fine-grained access (IAM master, internal users for basic auth)', () => {
    const domain = resourceBody(mod('modules/opensearch'), 'aws_opensearch_domain', 'this');
    expect(block(domain, 'vpc_options').subnet_ids).toBeDefined();
    expect(block(domain, 'encrypt_at_rest').enabled).toBe(true);
    expect(block(domain, 'node_to_node_encryption').enabled).toBe(true);
    expect(block(domain, 'domain_endpoint_options').enforce_https).toBe(true);
    const security = block(domain, 'advanced_security_options');
    expect(security).toMatchObject({ enabled: true, anonymous_auth_enabled: false, internal_user_database_enabled: true });
    expect(block(security, 'master_user_options').master_user_arn).toBe('${var.master_role_arn}');
  });

  it('EKS registers the IRSA OIDC provider; community modules are pinned', () => {
    const eks = mod('modules/eks').calls.get('eks')!;
    expect(eks).toMatchObject({ source: 'terraform-aws-modules/eks/aws', enable_irsa: true });
    expect(mod('modules/network').calls.get('vpc')).toMatchObject({ source: 'terraform-aws-modules/vpc/aws' });
  });

  describe('on a broken copy', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cali-infra-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    async function problemsAfter(file: string, from: string | RegExp, to: string): Promise<string[]> {
      const copy = mkdtempSync(join(dir, 'copy-'));
      cpSync('infra', copy, { recursive: true });
      const path = join(copy, file);
      const text = readFileSync(path, 'utf8');
      const broken = text.replace(from, to);
      expect(broken, `${String(from)} must change ${file}`).not.toBe(text);
      writeFileSync(path, broken);
      return checkReferences(await loadTree(copy), copy);
    }

    it.each([
      ['an undeclared variable', 'modules/iam/main.tf', 'resources = [var.stream_arn]', 'resources = [var.stream_arm]', /var\.stream_arm is not declared in modules\/iam/],
      ['an undeclared local', 'modules/s3/main.tf', 'for_each = local.buckets', 'for_each = local.bucket', /local\.bucket is not declared/],
      ['a missing resource', 'modules/iam/main.tf', 'aws_iam_role.irsa["keda-operator"].arn', 'aws_iam_role.irsas["keda-operator"].arn', /resource aws_iam_role\.irsas is not declared/],
      ['a module output that does not exist', 'modules/cali/main.tf', 'module.kinesis.stream_arn', 'module.kinesis.stream_id', /module\.kinesis\.stream_id: \.\.\/kinesis has no output "stream_id"/],
      ['an undeclared module', 'modules/cali/main.tf', 'module.kms.key_arn', 'module.kms_key.key_arn', /module\.kms_key is not declared/],
      ['an argument the module does not declare', 'envs/dev/main.tf', '  stream_shard_count             = 2\n', '  stream_shard_count             = 2\n  stream_shards = 2\n', /passes "stream_shards", which \.\.\/\.\.\/modules\/cali does not declare/],
      ['a required variable left out', 'envs/prod/main.tf', /  stream_shard_count\s+= 8\n/, '', /does not set the required variable "stream_shard_count"/],
      ['a module source that does not exist', 'modules/cali/main.tf', '"../kms"', '"../keys"', /source \.\.\/keys does not exist/],
      ['an unpinned registry module', 'modules/network/main.tf', /  version = "~> 5\.21"\n/, '', /must pin a version/],
    ])('fails on %s', async (_name, file, from, to, expected) => {
      expect((await problemsAfter(file, from, to)).join('\n')).toMatch(expected);
    }, 120_000);

    it('fails on a file that does not parse', async () => {
      const copy = mkdtempSync(join(dir, 'copy-'));
      cpSync('infra/modules/kms', copy, { recursive: true });
      writeFileSync(join(copy, 'main.tf'), readFileSync(join(copy, 'main.tf'), 'utf8').replace('resource "aws_kms_key" "data" {', 'resource "aws_kms_key" "data" {{'));
      await expect(loadModule(copy)).rejects.toThrow(/main\.tf does not parse/);
    });

    it.skipIf(terraformMissing !== undefined)('fails on a file that is not formatted canonically', () => {
      const copy = mkdtempSync(join(dir, 'copy-'));
      cpSync('infra/modules/kms', copy, { recursive: true });
      writeFileSync(join(copy, 'main.tf'), readFileSync(join(copy, 'main.tf'), 'utf8').replace('  enable_key_rotation     = true', '  enable_key_rotation = true'));
      const { ok, output } = fmtCheck(copy);
      expect(ok).toBe(false);
      expect(output).toContain('main.tf');
    });
  });

  it('the terraform binary used is the one found', () => {
    if (terraformMissing !== undefined) return;
    expect(execFileSync(TERRAFORM, ['version'], { encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } })).toMatch(/^Terraform v1\./);
  });
});
