/**
 * .github/workflows checked offline (test/support/deploy/workflows.ts): lint,
 * schema, pinning and permissions; and the promises of each workflow (CI on
 * Node 20/22/24, images pushed with OIDC from main, prod deploys and applies
 * behind an environment). Broken copies show each check failing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionlint, ruleProblems, schemaErrors } from './support/deploy/workflows.js';

const DIR = '.github/workflows';
const files = readdirSync(DIR).filter((f) => f.endsWith('.yml')).sort();
const source = (file: string): string => readFileSync(join(DIR, file), 'utf8');

interface FullJob {
  'runs-on'?: string;
  container?: string;
  environment?: string;
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  strategy?: { matrix?: Record<string, unknown[]> };
  steps?: { uses?: string; run?: string; with?: Record<string, unknown> }[];
}
const workflow = (file: string): { on: Record<string, unknown>; jobs: Record<string, FullJob> } => parse(source(file)) as never;

describe('GitHub Actions workflows', () => {
  it('are the four the deployment needs', () => {
    expect(files).toEqual(['ci.yml', 'deploy.yml', 'release.yml', 'terraform.yml']);
  });

  it.each(files)('%s passes actionlint, the workflow schema and the pinning/permission rules', async (file) => {
    expect(await actionlint(source(file), file)).toEqual([]);
    expect(schemaErrors(source(file), file)).toEqual([]);
    expect(ruleProblems(source(file), file)).toEqual([]);
  });

  it('CI runs the clean-clone tests on pull requests on Node 20, 22 and 24, then a bench smoke', () => {
    const ci = workflow('ci.yml');
    expect(Object.keys(ci.on)).toContain('pull_request');
    const job = ci.jobs.test!;
    expect(job.strategy?.matrix?.node).toEqual(['20', '22', '24']);
    expect(job.container).toBe('node:${{ matrix.node }}-bookworm');
    const runs = (job.steps ?? []).map((s) => s.run ?? '');
    expect(runs).toContain('.ci/run');
    expect(runs).toContain('npm run bench -- --quick');
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/npm ci[\s\S]*npm test/);
  });

  it('Release builds on main with OIDC, then deploys dev, then prod through the reusable deploy', () => {
    const release = workflow('release.yml');
    expect(release.on).toMatchObject({ push: { branches: ['main'] } });
    const steps = release.jobs.image!.steps ?? [];
    expect(steps.filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@')).map((s) => s.with?.['role-to-assume'])).toEqual(['${{ vars.DEV_ECR_PUSH_ROLE_ARN }}', '${{ vars.PROD_ECR_PUSH_ROLE_ARN }}']);
    expect(JSON.stringify(steps)).not.toMatch(/aws-access-key-id|AWS_SECRET_ACCESS_KEY/);
    expect(release.jobs['deploy-dev']).toMatchObject({ uses: './.github/workflows/deploy.yml', with: { environment: 'dev' } });
    expect(release.jobs['deploy-prod']).toMatchObject({ uses: './.github/workflows/deploy.yml', with: { environment: 'prod' }, needs: ['image', 'deploy-dev'] });
  });

  it('Deploy runs in the GitHub environment (prod approval) and applies the kustomize overlay of that environment', () => {
    const job = workflow('deploy.yml').jobs.deploy!;
    expect(job.environment).toBe('${{ inputs.environment }}');
    const script = (job.steps ?? []).map((s) => s.run ?? '').join('\n');
    expect(script).toContain('- ../overlays/${{ inputs.environment }}');
    expect(script).toContain('kubectl kustomize k8s/release');
    expect(script).toContain('rollout status deployment/cali-consumer');
  });

  it('Terraform: fmt and validate always, plan on pull requests without an environment, apply on main behind one', () => {
    const tf = workflow('terraform.yml');
    const validate = (tf.jobs.validate!.steps ?? []).map((s) => s.run ?? '').join('\n');
    expect(validate).toContain('terraform fmt -check -recursive infra');
    expect(validate).toContain('validate');
    // The plan role trusts `repo:<repo>:pull_request`; an environment would change the OIDC subject.
    expect(tf.jobs.plan).toMatchObject({ if: "github.event_name == 'pull_request'" });
    expect(tf.jobs.plan!.environment).toBeUndefined();
    expect(tf.jobs.apply).toMatchObject({ if: "github.event_name == 'push'", environment: '${{ matrix.environment }}' });
    const trust = readFileSync('infra/modules/github-oidc/main.tf', 'utf8');
    expect(trust).toContain('terraform-plan  = ["repo:${var.repository}:pull_request"]');
    expect(trust).toContain('terraform-apply = ["repo:${var.repository}:environment:${var.environment}"]');
    expect(trust).toContain('deploy          = ["repo:${var.repository}:environment:${var.environment}"]');
  });

  describe('on a broken copy', () => {
    const ci = source('ci.yml');
    const broken = (from: string | RegExp, to: string): string => {
      const text = ci.replace(from, to);
      expect(text).not.toBe(ci);
      return text;
    };

    it('actionlint fails on an undefined expression', async () => {
      expect((await actionlint(broken('matrix.node }}-bookworm', 'matrix.nodes }}-bookworm'), 'ci.yml')).join('\n')).toMatch(/property "nodes" is not defined/);
    });

    it('the schema fails on an unknown key', () => {
      expect(schemaErrors(broken('    timeout-minutes: 45\n', '    timeout-minutes: 45\n    timeout: 45\n'), 'ci.yml').join('\n')).toMatch(/ci\.yml: .*jobs\/test/);
    });

    it('the rules fail on an action pinned by tag', () => {
      expect(ruleProblems(broken('actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2', 'actions/checkout@v4'), 'ci.yml')).toEqual([expect.stringMatching(/^ci\.yml:\d+: actions\/checkout@v4 is not pinned to a commit SHA$/)]);
    });

    it('the rules fail on write permissions for the whole workflow', () => {
      expect(ruleProblems(broken('permissions:\n  contents: read\n', 'permissions: write-all\n'), 'ci.yml')).toEqual(['ci.yml: top-level permissions must be read-only; grant writes per job']);
    });

    it('the rules fail on persisted checkout credentials', () => {
      expect(ruleProblems(broken(/ {8}with:\n {10}persist-credentials: false\n/, ''), 'ci.yml')).toEqual(['ci.yml: job test: checkout must not persist credentials']);
    });
  });
});
