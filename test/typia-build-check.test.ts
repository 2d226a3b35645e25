import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const check = (dir: string) => spawnSync(process.execPath, ['scripts/check-typia.mjs', dir], { encoding: 'utf8' });
const scratch = mkdtempSync(join(tmpdir(), 'cali-typia-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the untransformed-typia build check', () => {
  it('passes on the real build output (npm test builds first)', () => {
    const result = check('dist');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  for (const [name, module, call] of [
    ['ESM', ts.ModuleKind.ES2022, 'typia.createValidate('],
    ['CommonJS', ts.ModuleKind.CommonJS, 'typia_1.default.createValidate('],
  ] as const) {
    it(`fails on ${name} output compiled without the typia transform`, () => {
      const source = readFileSync('src/workers/validate-record.ts', 'utf8');
      const plain = ts.transpileModule(source, { compilerOptions: { module, target: ts.ScriptTarget.ES2023, esModuleInterop: true } });
      const dir = join(scratch, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'validate-record.js'), plain.outputText);
      const result = check(dir);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(call);
    });
  }

  it('fails when there is nothing to check', () => {
    mkdirSync(join(scratch, 'empty'));
    expect(check(join(scratch, 'empty')).status).toBe(1);
  });
});

