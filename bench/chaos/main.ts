/**
 * `npm run chaos [-- --runs 3] [-- --duration S] [-- --json FILE]`: the chaos
 * run of bench/chaos/chaos-run.ts, N times in a row, each judged against the
 * promises (0 lost, DLQ = invalid produced, no worker_crash dead letters, every
 * shard caught up, no lease owned by a dead consumer, duplicates only where a
 * consumer was killed or lost a lease); exit 1 if any run broke one.
 * `npm run chaos -- --burst N`: instead, the memory run of bench/chaos/burst.ts
 * (backlogs of N and 10N records, peak RSS of the consumer for each).
 */
import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { machineInfo } from '../harness.js';
import { runBurst } from './burst.js';
import { DEFAULT_CHAOS_OPTIONS, runChaos, type ChaosReport } from './chaos-run.js';
import { judgeChaos } from './judge.js';

const program = new Command('chaos')
  .description('CALI chaos runs on the embedded stack: kills, thread kills, lease-table faults, resharding; then reconciliation')
  .addOption(new Option('--runs <n>', 'runs in a row').default('3'))
  .addOption(new Option('--duration <s>', 'seconds of production per run').default(String(DEFAULT_CHAOS_OPTIONS.durationMs / 1000)))
  .addOption(new Option('--shards <n>', 'shards at the start').default(String(DEFAULT_CHAOS_OPTIONS.shards)))
  .addOption(new Option('--consumers <k>', 'consumer processes').default(String(DEFAULT_CHAOS_OPTIONS.consumers)))
  .addOption(new Option('--rate <r>', 'records per second produced').default(String(DEFAULT_CHAOS_OPTIONS.rate)))
  .option('--json <file>', 'also write the reports as JSON')
  .option('--burst <records>', 'instead of chaos runs: drain a backlog of N, then of 10N records, and report the consumer\'s peak RSS for each')
  .option('--max-records <n>', 'with --burst: the consumer\'s CALI_MAX_RECORDS (records per GetRecords, so per batch)')
  .parse();

const flags = program.opts<{ runs: string; duration: string; shards: string; consumers: string; rate: string; json?: string; burst?: string; maxRecords?: string }>();
const machine = machineInfo();
console.log(`# CALI chaos ${machine.date}\n\nnode ${machine.node} | ${machine.os} ${machine.arch} | ${machine.cpu} x${machine.cores} | ${machine.memoryGiB} GiB\n`);
if (flags.burst !== undefined) {
  const report = await runBurst({
    shards: Number(flags.shards), baseline: Number(flags.burst), seed: 1,
    ...(flags.maxRecords === undefined ? {} : { maxRecords: Number(flags.maxRecords) }),
    log: (line) => console.log(`  ${line}`),
  });
  console.log([
    '| backlog (records) | drain time (s) | records/s | peak RSS (MiB) | RSS samples |',
    '|---|---|---|---|---|',
    ...[report.baseline, report.burst].map((d) => `| ${d.records} | ${(d.drainMs / 1000).toFixed(1)} | ${Math.round(d.records / (d.drainMs / 1000))} | ${d.peakRssMiB} | ${d.samples} |`),
    '',
    `peak RSS ratio (10x backlog / 1x): ${report.peakRatio.toFixed(2)}`,
  ].join('\n'));
  if (flags.json) await writeFile(flags.json, `${JSON.stringify({ machine, burst: report }, null, 2)}\n`);
  process.exit(0);
}
const reports: ChaosReport[] = [];
let failed = false;
for (let run = 1; run <= Number(flags.runs); run++) {
  const report = await runChaos({
    ...DEFAULT_CHAOS_OPTIONS,
    seed: run,
    durationMs: Number(flags.duration) * 1000,
    shards: Number(flags.shards),
    consumers: Number(flags.consumers),
    rate: Number(flags.rate),
    log: (line) => console.log(`  [run ${run}] ${line}`),
  });
  reports.push(report);
  const problems = judgeChaos(report);
  failed ||= problems.length > 0;
  const failovers = report.actions.flatMap((a) => a.failoverMs ?? []);
  const gaps = report.actions.flatMap((a) => a.handoffGapMs ?? []);
  console.log([
    `\n## run ${run}: ${problems.length === 0 ? 'PASS' : `FAIL: ${problems.join('; ')}`}`,
    '',
    '| stream records | lost | duplicates | DLQ (distinct) | invalid produced | thread kills | worker crashes retried | lease faults (throttle/5xx/ambiguous) | leases lost | shards at end |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| ${report.streamRecords} | ${report.lost} | ${report.duplicates} | ${report.deadLetterPositions} | ${report.produced.invalid} | ${report.threadKills} | ${report.workerCrashesRetried} | ${report.leaseFaultsInjected.throttles}/${report.leaseFaultsInjected.serverErrors}/${report.leaseFaultsInjected.ambiguous} | ${report.leasesLost} | ${report.shardsAtEnd} |`,
    '',
    `actions: ${report.actions.map((a) => `${a.action}(${a.target})`).join(', ')}`,
    `failover (SIGKILL -> first batch elsewhere), ms: ${failovers.join(', ') || 'none'}; p99 ${report.failoverP99Ms ?? '-'} (failover setting ${report.options.failoverMs}); of which SIGKILL -> lease taken: ${report.actions.flatMap((a) => a.failoverTakenMs ?? []).join(', ') || 'none'}`,
    `SIGTERM handoff gaps (release -> taken; exit -> taken for a lease not released), ms: ${gaps.join(', ') || 'none'}; max ${report.handoffGapMaxMs ?? '-'}; leases not released: ${report.actions.reduce((n, a) => n + (a.unreleased ?? 0), 0)}`,
    `duplicates by shard: ${JSON.stringify(report.duplicatesByShard)}`,
    `alerts: ${report.alerts.alertedFingerprints} fingerprints alerted (WARN-rate ones included), ${report.alerts.expectedFingerprints - report.alerts.missing.length} of the ${report.alerts.expectedFingerprints} ERROR/FATAL ones, ${report.alerts.duplicated.length} twice; Slack answered ${report.alerts.slackRateLimited} x 429 and ${report.alerts.slackServerErrors} x 500 of ${report.alerts.slackRequests} requests`,
  ].join('\n'));
}
if (flags.json) await writeFile(flags.json, `${JSON.stringify({ machine, reports }, null, 2)}\n`);
process.exitCode = failed ? 1 : 0;
