/**
 * The Airflow files: the DAG compiles (`python3 -m py_compile`; Airflow itself
 * is not installed here), passes only flags `cali quality` accepts, and the
 * Helm values point git-sync at the folder that holds it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { cliEnv, runCli } from './support/cli.js';

const DAG = 'infra/airflow/dags/cali_quality.py';

describe('Airflow scheduling', () => {
  it('the DAG file compiles', () => {
    // The byte code goes to a temporary prefix, not to a __pycache__ in the repository.
    const cache = mkdtempSync(join(tmpdir(), 'cali-pycache-'));
    const result = spawnSync('python3', ['-m', 'py_compile', DAG], { encoding: 'utf8', env: { ...process.env, PYTHONPYCACHEPREFIX: cache } });
    rmSync(cache, { recursive: true, force: true });
    expect(result.status, result.stderr).toBe(0);
  });

  it('the DAG passes only flags that cali quality accepts, with the data interval as the window', () => {
    const source = readFileSync(DAG, 'utf8');
    const flags = [...new Set([...source.matchAll(/"(--[a-z-]+)"/g)].map((m) => m[1]!))];
    expect(flags.sort()).toEqual(['--from', '--report', '--suite', '--to']);
    const help = runCli(['quality', '--help'], cliEnv()).stdout;
    for (const flag of flags) expect(help).toContain(flag);
    expect(source).toContain('"--from", "{{ data_interval_start.isoformat() }}"');
    expect(source).toContain('"--to", "{{ data_interval_end.isoformat() }}"');
    expect(source).toMatch(/arguments=arguments/);
  });

  it('the Helm values enable git-sync on the DAG folder of this repository', () => {
    const values = parseYaml(readFileSync('infra/airflow/values.yaml', 'utf8')) as { dags: { gitSync: { enabled: boolean; subPath: string; branch: string } } };
    expect(values.dags.gitSync.enabled).toBe(true);
    expect(existsSync(join(values.dags.gitSync.subPath, 'cali_quality.py'))).toBe(true);
  });
});
