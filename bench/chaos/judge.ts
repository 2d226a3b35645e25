/** The promises a chaos run must keep; each broken one is a line of the verdict. */
import type { ChaosReport } from './chaos-run.js';

export function judgeChaos(report: ChaosReport): string[] {
  const problems: string[] = [];
  if (report.lost !== 0) problems.push(`${report.lost} records lost`);
  for (const exit of report.unexpectedExits) problems.push(`${exit.id} exited on its own (code ${exit.code}, signal ${exit.signal}): ${exit.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (report.deadLetterPositions !== report.produced.invalid) {
    problems.push(`${report.deadLetterPositions} records dead-lettered, ${report.produced.invalid} invalid produced`);
  }
  if (report.workerCrashDeadLetters !== 0) problems.push(`${report.workerCrashDeadLetters} good records dead-lettered as worker_crash after thread kills`);
  if (report.shardsBehind.length > 0) problems.push(`shards not caught up: ${report.shardsBehind.join(' ')}`);
  if (report.leasesOwnedByDead.length > 0) problems.push(`leases owned by dead consumers: ${report.leasesOwnedByDead.join(' ')}`);
  if (report.unexplainedDuplicateShards.length > 0) {
    problems.push(`duplicates on shards no killed consumer held and no lease was lost: ${report.unexplainedDuplicateShards.join(' ')}`);
  }
  if (report.alerts.missing.length > 0) problems.push(`ERROR/FATAL fingerprints never alerted: ${report.alerts.missing.join(' ')}`);
  if (report.alerts.duplicated.length > 0) problems.push(`fingerprints alerted twice within a window: ${report.alerts.duplicated.join(' ')}`);
  for (const action of report.actions) {
    if (action.action === 'sigkill' && action.failoverMs === undefined) problems.push(`shards of ${action.target} not resumed after SIGKILL`);
    if (action.action === 'sigterm' && action.exitCode !== 0) problems.push(`${action.target} exited ${action.exitCode} on SIGTERM`);
    if (action.action === 'sigterm' && action.handoffGapMs === undefined) problems.push(`leases released by ${action.target} not taken over`);
    if (action.action === 'sigterm' && (action.unreleased ?? 0) > 0) problems.push(`${action.target} kept ${action.unreleased} leases through SIGTERM instead of releasing them`);
  }
  return problems;
}
