/**
 * `npm run bench [-- --quick] [-- --json FILE] [-- --suite NAME]`: runs every
 * suite, prints machine info and one table per suite, optionally writes JSON.
 * The `e2e` suite (bench/end-to-end.ts) runs the embedded stack instead of
 * tinybench cases, last.
 */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { formatEndToEnd, runEndToEnd, type EndToEndResult } from './end-to-end.js';
import { formatSuite, machineInfo, runSuite, type BenchSuite, type RunOptions, type SuiteResult } from './harness.js';
import { alertingSuite } from './suites/alerting.js';
import { decodeSuite } from './suites/decode.js';
import { fingerprintSuite } from './suites/fingerprint.js';
import { pipelineSuite } from './suites/pipeline.js';
import { ragSuite } from './suites/rag.js';
import { qualitySuite } from './suites/quality.js';
import { simulatorSuite } from './suites/simulator.js';
import { telemetrySuite } from './suites/telemetry.js';
import { validationSuite } from './suites/validation.js';

/** Each suite is built just before it runs; quick mode may make its data smaller. */
const SUITES: Record<string, (options: RunOptions) => BenchSuite> = {
  simulator: simulatorSuite,
  decode: decodeSuite,
  fingerprint: fingerprintSuite,
  pipeline: pipelineSuite,
  alerting: alertingSuite,
  validation: validationSuite,
  telemetry: telemetrySuite,
  rag: ragSuite,
  quality: qualitySuite,
};

const E2E = 'e2e';
const KNOWN = [...Object.keys(SUITES), E2E];

const program = new Command('bench')
  .description('CALI benchmarks (tinybench): medians, spread and ratios to an in-run baseline')
  .option('--quick', 'short runs (CI smoke); numbers are rough', false)
  .option('--json <file>', 'also write the results as JSON')
  .option('--suite <name...>', `only these suites: ${KNOWN.join(', ')}`)
  .parse();

const options = program.opts<{ quick: boolean; json?: string; suite?: string[] }>();
const names = options.suite ?? KNOWN;
for (const name of names) {
  if (!KNOWN.includes(name)) program.error(`unknown suite "${name}"; known: ${KNOWN.join(', ')}`);
}

const machine = machineInfo();
console.log(`# CALI bench ${machine.date}\n\nnode ${machine.node} | ${machine.os} ${machine.arch} | ${machine.cpu} x${machine.cores} | ${machine.memoryGiB} GiB${options.quick ? ' | QUICK MODE' : ''}\n`);
const results: SuiteResult[] = [];
const runOptions: RunOptions = { quick: options.quick };
for (const name of names.filter((n) => n !== E2E)) {
  const result = await runSuite(SUITES[name]!(runOptions), runOptions);
  results.push(result);
  console.log(`${formatSuite(result)}\n`);
}
let endToEnd: EndToEndResult | undefined;
if (names.includes(E2E)) {
  endToEnd = await runEndToEnd(runOptions);
  console.log(`${formatEndToEnd(endToEnd)}\n`);
}
if (options.json) {
  await writeFile(options.json, `${JSON.stringify({ machine, quick: options.quick, results, endToEnd }, null, 2)}\n`);
  console.log(`wrote ${options.json}`);
}
