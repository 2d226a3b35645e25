import { Option, type Command } from 'commander';
import { loadDlqReplayConfig } from '../../config/dlq-replay-config.js';
import { CaliError } from '../../errors.js';
import { runDlqReplay } from '../../main.js';
import type { ReplayErrorDetail, ReplaySummary } from '../../pipeline/dlq-replay.js';
import { timeOption } from '../options.js';

interface ReplayFlags {
  from?: number;
  to?: number;
  dryRun: boolean;
  json: boolean;
}

/** Error lines printed as they happen; the summary counts them all. */
const MAX_ERROR_LINES = 100;

export function formatReplaySummary(summary: ReplaySummary): string {
  const reasons = Object.entries(summary.stillInvalid.byReason)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  const parts = [
    `read ${summary.read}`,
    `replayed ${summary.replayed} to the archive`,
    `still invalid ${summary.stillInvalid.total}${reasons ? ` (${reasons})` : ''}`,
    `skipped ${summary.skipped} already replayed`,
    `errors ${summary.errors.total}`,
  ];
  if (summary.aborted !== undefined) parts.push(`ABORTED: ${summary.aborted}`);
  return `dlq replay${summary.dryRun ? ' (dry run, nothing written)' : ''}: ${parts.join(' | ')}`;
}

function formatError(error: ReplayErrorDetail): string {
  return `cali: dlq replay: ${error.objectKey} line ${error.lineNumber}: ${error.code}: ${error.message}\n`;
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('the dead-letter queue (CALI_DLQ_URI)');
  dlq
    .command('replay')
    .description('re-process dead-lettered records with the current validation: those that pass go to the archive under their original position')
    .addOption(new Option('--from <time>', 'only DLQ objects started at or after this time: ISO-8601, or a span before now (30m, 1h, 2d)').argParser(timeOption()))
    .addOption(new Option('--to <time>', 'only DLQ objects started before this time (same forms; default: now)').argParser(timeOption()))
    .option('--dry-run', 'process and report, write nothing', false)
    .option('--json', 'print the summary as one JSON object', false)
    .addHelpText('after', `
Environment: CALI_DLQ_URI and CALI_ARCHIVE_URI (s3://bucket/prefix/ or a local
directory, as for cali run), AWS_REGION and AWS_ENDPOINT_URL_S3 for S3,
CALI_WORKER_THREADS (default 2).
A replayed dead letter gets a marker under replayed/ in the DLQ destination and
is skipped by the next replay. Records that still fail for their recorded reason
stay as they are; a new reason is written as a new dead letter. Exit status 1
if a line could not be read or a write failed (rerun: nothing is replayed twice).
See docs/operations.md.`)
    .action(async (flags: ReplayFlags) => {
      if (flags.from !== undefined && flags.to !== undefined && flags.from >= flags.to) {
        throw new CaliError('CALI_ERR_USAGE', `--from (${new Date(flags.from).toISOString()}) is not before --to (${new Date(flags.to).toISOString()}): swap them or widen the window`);
      }
      const config = loadDlqReplayConfig(process.env);
      let printed = 0;
      const summary = await runDlqReplay(config, {
        fromMs: flags.from,
        toMs: flags.to,
        dryRun: flags.dryRun,
        onError: (error) => {
          if (printed++ < MAX_ERROR_LINES) process.stderr.write(formatError(error));
        },
      });
      process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : `${formatReplaySummary(summary)}\n`);
      if (summary.errors.total > 0 || summary.aborted !== undefined) process.exitCode = 1;
    });
}
