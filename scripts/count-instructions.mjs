// Instructions per record of one main-thread case of the pipeline bench, counted by
// valgrind's callgrind: stable on a shared machine where wall-clock times are not
// (they leave out cache misses and page faults, which wall-clock ratios include).
//
//   npm run build
//   node scripts/count-instructions.mjs 'JSON.parse of'
//   node scripts/count-instructions.mjs 'validate + normalise'
//
// The case is built, warmed up (12 ops) with instrumentation off, then OPS ops are
// counted (default 2; a main-thread op is 4000 records). Needs valgrind
// (apt-get install valgrind). Takes about a minute per case.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [name, opsText = '2'] = process.argv.slice(2);
if (!name) {
  console.error('usage: node scripts/count-instructions.mjs <case name or part of it> [ops]');
  process.exit(2);
}
const ops = Number(opsText);
const dir = mkdtempSync(join(tmpdir(), 'cali-callgrind-'));
const suiteUrl = new URL('../dist/bench/suites/pipeline.js', import.meta.url).href;
const child = join(dir, 'case.mjs');
writeFileSync(child, `
import { existsSync } from 'node:fs';
const { pipelineSuite } = await import(${JSON.stringify(suiteUrl)});
const suite = pipelineSuite({ quick: false });
const c = suite.cases.find((x) => x.name.includes(${JSON.stringify(name)}));
if (!c) throw new Error('no case matches ' + ${JSON.stringify(name)});
for (let i = 0; i < 12; i++) await c.fn();
console.log('READY');
while (!existsSync(${JSON.stringify(join(dir, 'go'))})) await new Promise((r) => setTimeout(r, 200));
for (let i = 0; i < ${ops}; i++) await c.fn();
console.log('DONE ' + c.unitsPerOp * ${ops} + ' ' + c.name);
await suite.teardown?.();
`);
const out = join(dir, 'callgrind.out');
const valgrind = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded-gc', child], { stdio: ['ignore', 'pipe', 'pipe'] });
let stdout = '';
let stderr = '';
valgrind.stderr.on('data', (chunk) => (stderr += chunk));
valgrind.stdout.on('data', (chunk) => {
  stdout += chunk;
  if (stdout.includes('READY') && !existsSync(join(dir, 'go'))) {
    execFileSync('callgrind_control', ['-i', 'on', String(valgrind.pid)], { stdio: 'ignore' });
    writeFileSync(join(dir, 'go'), '');
  }
  const done = /DONE (\d+) (.*)/.exec(stdout);
  if (done && !stdout.includes('OFF')) {
    stdout += 'OFF';
    execFileSync('callgrind_control', ['-i', 'off', String(valgrind.pid)], { stdio: 'ignore' });
  }
});
valgrind.on('close', (code) => {
  const done = /DONE (\d+) (.*)/.exec(stdout);
  const totals = /^totals: (\d+)/m.exec(existsSync(out) ? readFileSync(out, 'utf8') : '');
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0 || !done || !totals) {
    console.error(`${stderr}\ncount-instructions: valgrind exited ${code}`);
    process.exit(1);
  }
  console.log(`${done[2]}: ${Math.round(Number(totals[1]) / Number(done[1])).toLocaleString('en-US')} instructions per record (${done[1]} records)`);
});
