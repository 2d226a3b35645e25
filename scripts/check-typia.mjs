#!/usr/bin/env node
// Fails the build if compiled output still calls typia at run time: plain `tsc`
// (or a missing transform plugin) compiles `typia.createValidate<T>()` without
// error, and the output only throws "no transform has been configured" when the
// validator is first used, in production.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const root = process.argv[2] ?? 'dist';
// ESM (`typia.createValidate(`) and CommonJS (`typia_1.default.createValidate(`) output alike.
const untransformed = /\btypia(?:_\d+)?\s*\.\s*(?:[A-Za-z_$][\w$]*\s*\.\s*)*[A-Za-z_$][\w$]*\s*\(/g;

async function* jsFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(path);
    else if (/\.[cm]?js$/.test(entry.name)) yield path;
  }
}

let files = 0;
const offenders = [];
for await (const file of jsFiles(root)) {
  files++;
  const text = await readFile(file, 'utf8');
  for (const match of text.matchAll(untransformed)) {
    const line = text.slice(0, match.index).split('\n').length;
    offenders.push(`${file}:${line}: ${match[0]}`);
  }
}
if (files === 0) {
  console.error(`check-typia: no JavaScript under ${root}; run the build first`);
  process.exit(1);
}
if (offenders.length > 0) {
  console.error(`check-typia: ${offenders.length} untransformed typia call(s); build with tspc (ts-patch) so the typia transform runs:`);
  for (const o of offenders) console.error(`  ${o}`);
  process.exit(1);
}
console.log(`check-typia: ${files} files, no untransformed typia calls`);
