/**
 * The IRSA policies in infra/modules/iam allow exactly what the workloads
 * call: the consumer's list is derived from the code (AWS SDK commands
 * reachable from `cali run`, test/support/deploy/iam.ts), Fluent Bit's from
 * the outputs in fluent-bit/fluent-bit.yaml; anything missing, anything
 * extra, any resource outside the workload's own fails. Broken copies of the
 * policy and of the code show it.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFluentBitConfig, prop } from './support/fluent-bit-engine.js';
import { comparePolicy, deriveSdkCalls, grant, type DerivedCalls, type Exclusion, type Grants } from './support/deploy/iam.js';
import { loadModule, policyStatements, type TerraformModule } from './support/deploy/terraform.js';

const RUN_ENTRY = 'src/cli/commands/run.ts';
const QUALITY_ENTRY = 'src/cli/commands/quality.ts';

/**
 * Calls the code can make that the consumer's role deliberately does not get.
 * Each must still be derived from the code (a stale exclusion fails).
 */
const CONSUMER_EXCLUSIONS: readonly Exclusion[] = [
  { action: 'dynamodb:CreateTable', reason: 'the lease and alert stores create their tables only when missing; infra/modules/dynamodb provisions both' },
  { action: 's3:GetObject', reason: 'S3ObjectStore reads only for `cali dlq replay` (runDlqReplay shares src/main.ts) and `cali quality`; `cali run` writes' },
  { action: 's3:ListBucket', reason: 'as s3:GetObject: listing is the DLQ replay\'s and the quality job\'s' },
  { action: 's3:DeleteObject', reason: 'S3ObjectStore.delete is not called by the consumer path' },
];

const KMS_KEY = '${var.kms_key_arn}';
const STREAM = '${var.stream_arn}';
const ARCHIVE_OBJECTS = '${var.archive_bucket_arn}/${var.archive_prefix}*';
const DLQ_OBJECTS = '${var.dlq_bucket_arn}/${var.dlq_prefix}*';

/**
 * The resources a call reaches, by the code that makes it: the lease code
 * uses the lease table, the alerting code the alert table, the sinks the
 * archive and the DLQ. A call from anywhere else is a problem to resolve here
 * (which resource does it touch?), not something to grant blindly.
 */
function consumerGrants(calls: DerivedCalls, actions: ReadonlySet<string>, problems: string[]): Grants {
  const grants: Grants = new Map();
  for (const action of actions) {
    const service = action.split(':')[0];
    for (const file of calls.get(action) ?? []) {
      if (service === 'kinesis') grant(grants, action, STREAM);
      else if (service === 's3' && file.startsWith('src/pipeline/sinks/')) grant(grants, action, ARCHIVE_OBJECTS, DLQ_OBJECTS);
      else if (service === 'dynamodb' && file.startsWith('src/lease/')) grant(grants, action, '${var.lease_table_arn}');
      else if (service === 'dynamodb' && file.startsWith('src/pipeline/alerting/')) grant(grants, action, '${var.alert_table_arn}');
      else problems.push(`${action} is called from ${file}: say which resource it touches in consumerGrants (test/deploy-iam.test.ts) and give it a statement`);
    }
  }
  return grants;
}

/** `cali quality` lists and reads through S3ObjectStore and writes its reports; it never deletes. */
const QUALITY_EXCLUSIONS: readonly Exclusion[] = [
  { action: 's3:DeleteObject', reason: 'S3ObjectStore.delete is not called by the quality job' },
];

/** Lists both buckets, reads both prefixes, writes reports under the report prefix. */
function qualityGrants(actions: ReadonlySet<string>, problems: string[]): Grants {
  const grants: Grants = new Map();
  for (const action of actions) {
    if (action === 's3:ListBucket') grant(grants, action, '${var.archive_bucket_arn}', '${var.dlq_bucket_arn}');
    else if (action === 's3:GetObject') grant(grants, action, ARCHIVE_OBJECTS, DLQ_OBJECTS);
    else if (action === 's3:PutObject') grant(grants, action, '${var.archive_bucket_arn}/${var.quality_report_prefix}*');
    else problems.push(`cali quality calls ${action}: say on which resource in qualityGrants`);
  }
  return grants;
}

/** What each Fluent Bit output plugin calls (Fluent Bit's AWS output plugins, not our code). */
const FLUENT_BIT_OUTPUT_CALLS: Record<string, string[]> = {
  kinesis_streams: ['kinesis:PutRecords'],
  kinesis_firehose: ['firehose:PutRecordBatch'],
};

function required(calls: DerivedCalls, exclusions: readonly Exclusion[]): { actions: Set<string>; problems: string[] } {
  const problems: string[] = [];
  for (const { action } of exclusions) if (!calls.has(action)) problems.push(`exclusion ${action} is stale: the code no longer calls it`);
  const excluded = new Set(exclusions.map((e) => e.action));
  return { actions: new Set([...calls.keys()].filter((a) => !excluded.has(a))), problems };
}

function consumerProblems(srcRoot: string, iam: TerraformModule): string[] {
  const calls = deriveSdkCalls(join(srcRoot, RUN_ENTRY), srcRoot);
  const { actions, problems } = required(calls, CONSUMER_EXCLUSIONS);
  const grants = consumerGrants(calls, actions, problems);
  return [...problems, ...comparePolicy('consumer', grants, KMS_KEY, policyStatements(iam, 'consumer'))];
}

function fluentBitProblems(configDir: string, iam: TerraformModule): string[] {
  const problems: string[] = [];
  const grants: Grants = new Map();
  for (const output of loadFluentBitConfig(configDir).outputs) {
    const name = prop(output, 'name') ?? '?';
    const calls = FLUENT_BIT_OUTPUT_CALLS[name];
    if (calls === undefined) problems.push(`Fluent Bit output ${name}: unknown AWS calls; add it to FLUENT_BIT_OUTPUT_CALLS`);
    for (const call of calls ?? []) grant(grants, call, call.startsWith('kinesis:') ? STREAM : '${var.firehose_arn}');
  }
  return [...problems, ...comparePolicy('fluent-bit', grants, KMS_KEY, policyStatements(iam, 'fluent_bit'))];
}

describe('IRSA policies (infra/modules/iam)', () => {
  let iam: TerraformModule;
  beforeAll(async () => {
    iam = await loadModule('infra/modules/iam');
  });

  it('the consumer path calls Kinesis, DynamoDB and S3 (the derivation sees the code)', () => {
    const calls = deriveSdkCalls(RUN_ENTRY, '.');
    expect([...calls.keys()]).toEqual(expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards', 'dynamodb:UpdateItem', 's3:PutObject']));
    expect(calls.get('kinesis:GetRecords')).toEqual(new Set(['src/pipeline/kinesis-shard-reader.ts']));
  });

  it('the consumer role allows exactly the calls of `cali run`, on its own resources only', () => {
    expect(consumerProblems('.', iam)).toEqual([]);
  });

  it('the Fluent Bit role allows exactly what its outputs call', () => {
    expect(fluentBitProblems('fluent-bit', iam)).toEqual([]);
  });

  it.skipIf(!existsSync(QUALITY_ENTRY))('the quality role allows exactly the calls of `cali quality`', () => {
    const { actions, problems } = required(deriveSdkCalls(QUALITY_ENTRY, '.'), QUALITY_EXCLUSIONS);
    const grants = qualityGrants(actions, problems);
    expect([...problems, ...comparePolicy('quality', grants, KMS_KEY, policyStatements(iam, 'quality'))]).toEqual([]);
  });

  it('the quality role reads the archive and the DLQ and writes only its reports', () => {
    const statements = policyStatements(iam, 'quality');
    expect(new Set(statements.flatMap((s) => s.actions))).toEqual(new Set(['s3:ListBucket', 's3:GetObject', 's3:PutObject', 'kms:Decrypt', 'kms:GenerateDataKey']));
    expect(statements.filter((s) => s.actions.includes('s3:PutObject')).flatMap((s) => s.resources)).toEqual(['${var.archive_bucket_arn}/${var.quality_report_prefix}*']);
    const problems: string[] = [];
    expect(comparePolicy('quality', qualityGrants(new Set(['s3:ListBucket', 's3:GetObject', 's3:PutObject']), problems), KMS_KEY, statements)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('every IRSA role trusts exactly one service account, for the STS audience', () => {
    const text = readFileSync('infra/modules/iam/main.tf', 'utf8');
    expect(text).toContain('values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]');
    const json = [...iam.files.values()].find((f) => (f.data as Record<string, unknown> | undefined)?.aws_iam_policy_document !== undefined)!;
    const trust = ((json.data as Record<string, Record<string, Record<string, unknown>[]>>).aws_iam_policy_document!.irsa_trust![0]!.statement as { condition: { test: string; variable: string }[] }[])[0]!;
    expect(trust.condition.map((c) => [c.test, c.variable])).toEqual([['StringEquals', '${var.oidc_provider}:sub'], ['StringEquals', '${var.oidc_provider}:aud']]);
  });

  describe('on a broken copy', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cali-iam-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    async function brokenPolicy(from: string, to: string): Promise<TerraformModule> {
      const copy = mkdtempSync(join(dir, 'iam-'));
      cpSync('infra/modules/iam', copy, { recursive: true });
      const text = readFileSync(join(copy, 'main.tf'), 'utf8');
      expect(text).toContain(from);
      writeFileSync(join(copy, 'main.tf'), text.replace(from, to));
      return loadModule(copy);
    }

    it('fails when the policy misses a call the code makes', async () => {
      const broken = await brokenPolicy('"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"', '"kinesis:GetRecords", "kinesis:ListShards"');
      expect(consumerProblems('.', broken)).toEqual(['consumer: the code calls kinesis:GetShardIterator on ${var.stream_arn} but the policy does not allow it']);
    });

    it('fails when the policy allows a call the code never makes', async () => {
      const broken = await brokenPolicy('actions   = ["s3:PutObject"]', 'actions   = ["s3:PutObject", "s3:DeleteObject"]');
      expect(consumerProblems('.', broken)).toEqual([
        'consumer: the policy allows s3:DeleteObject on ${var.archive_bucket_arn}/${var.archive_prefix}*, which the code never calls',
        'consumer: the policy allows s3:DeleteObject on ${var.dlq_bucket_arn}/${var.dlq_prefix}*, which the code never calls',
      ]);
    });

    it('fails on a resource wider than the workload\'s own', async () => {
      const broken = await brokenPolicy('resources = [var.lease_table_arn]', 'resources = ["*"]');
      expect(consumerProblems('.', broken).join('\n')).toMatch(/the code calls dynamodb:Scan on \$\{var\.lease_table_arn\} but the policy does not allow it[\s\S]*the policy allows dynamodb:Scan on \*, which the code never calls/);
    });

    it('fails when the code starts making a call the policy does not allow', async () => {
      const copy = mkdtempSync(join(dir, 'src-'));
      cpSync('src', join(copy, 'src'), { recursive: true });
      const syncer = join(copy, 'src/lease/shard-sync.ts');
      writeFileSync(syncer, readFileSync(syncer, 'utf8').replace('import { ListShardsCommand,', 'import { DescribeStreamCommand, ListShardsCommand,'));
      expect(consumerProblems(copy, iam)).toEqual(['consumer: the code calls kinesis:DescribeStream on ${var.stream_arn} but the policy does not allow it']);
    });

    it('fails when DynamoDB is called from code whose table is not known', async () => {
      const copy = mkdtempSync(join(dir, 'src-'));
      cpSync('src', join(copy, 'src'), { recursive: true });
      const pipeline = join(copy, 'src/pipeline/record-pipeline.ts');
      writeFileSync(pipeline, `import { GetItemCommand } from '@aws-sdk/client-dynamodb';\nvoid GetItemCommand;\n${readFileSync(pipeline, 'utf8')}`);
      expect(consumerProblems(copy, iam).join('\n')).toMatch(/dynamodb:GetItem is called from src\/pipeline\/record-pipeline\.ts: say which resource it touches/);
    });

    it('fails when an exclusion goes stale', async () => {
      const copy = mkdtempSync(join(dir, 'src-'));
      cpSync('src', join(copy, 'src'), { recursive: true });
      const store = join(copy, 'src/pipeline/sinks/object-store/s3-object-store.ts');
      writeFileSync(store, readFileSync(store, 'utf8').replace('import { DeleteObjectCommand, ', 'import { '));
      expect(consumerProblems(copy, iam)).toContain('exclusion s3:DeleteObject is stale: the code no longer calls it');
    });

    it('fails when Fluent Bit gets an output the role does not cover', () => {
      const copy = mkdtempSync(join(dir, 'fb-'));
      cpSync('fluent-bit', copy, { recursive: true });
      const config = join(copy, 'fluent-bit.yaml');
      writeFileSync(config, readFileSync(config, 'utf8').replace(/ {4}- name: kinesis_firehose\n/, '    - name: cloudwatch_logs\n'));
      expect(fluentBitProblems(copy, iam).join('\n')).toMatch(/output cloudwatch_logs: unknown AWS calls[\s\S]*allows firehose:PutRecordBatch on \$\{var\.firehose_arn\}, which the code never calls/);
    });
  });
});
