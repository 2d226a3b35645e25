#!/usr/bin/env node
// The build: a clean dist/, tspc (TypeScript with the typia transform, via
// ts-patch), the untransformed-typia check, and an executable CLI entry.
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const run = (script, args) => execFileSync(process.execPath, [script, ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
run(require.resolve('ts-patch/bin/tspc.js'), ['-p', 'tsconfig.build.json']);
run('scripts/check-typia.mjs', ['dist']);
chmodSync('dist/src/cli/main.js', 0o755);
