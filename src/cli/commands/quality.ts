import { Option, type Command } from 'commander';
import { createS3Client } from '../../aws.js';
import { loadQualityConfig } from '../../config/quality-config.js';
import { CaliError } from '../../errors.js';
import { createObjectStore, parseDestinationUri } from '../../pipeline/sinks/object-store/destination.js';
import { suiteNeedsDlq } from '../../quality/engine.js';
import { runQualityJob } from '../../quality/job.js';
import type { SuiteValidationResult } from '../../quality/result.js';
import { DEFAULT_SUITE, loadExpectationSuite } from '../../quality/suite.js';
import { parseTimeSpec, timeOption } from '../options.js';

interface QualityFlags {
  since?: string;
  from?: number;
  to?: number;
  suite?: string;
  report?: string;
  metricsFile?: string;
  json: boolean;
  slack: boolean;
}

const SPAN = /^\d+(?:\.\d+)?(?:ms|s|m|h|d|w)$/;

export function resolveWindow(flags: Pick<QualityFlags, 'since' | 'from' | 'to'>, nowMs: number): { fromMs: number; toMs: number } {
  if (flags.since !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    throw new CaliError('CALI_ERR_USAGE', '--since cannot be combined with --from/--to: use --since 1h, or --from T --to T');
  }
  if (flags.since !== undefined) {
    if (!SPAN.test(flags.since.trim())) throw new CaliError('CALI_ERR_USAGE', `--since expects a span such as 30m, 1h or 2d, got "${flags.since}"`);
    return { fromMs: parseTimeSpec(flags.since, nowMs), toMs: nowMs };
  }
  const toMs = flags.to ?? nowMs;
  const fromMs = flags.from ?? toMs - 3_600_000;
  if (fromMs >= toMs) throw new CaliError('CALI_ERR_USAGE', `--from (${new Date(fromMs).toISOString()}) is not before --to (${new Date(toMs).toISOString()}): swap them or widen the window`);
  return { fromMs, toMs };
}

export function formatQualitySummary(result: SuiteValidationResult): string {
  const { statistics, meta } = result;
  const lines = [
    `quality ${result.success ? 'PASSED' : 'FAILED'}: suite ${meta.expectation_suite_name} | window ${meta.batch_spec.window.from} - ${meta.batch_spec.window.to} | ` +
      `${meta.batch_markers.archive_rows} records, ${meta.batch_markers.dlq_records ?? 'n/a'} dead letters | ${statistics.successful_expectations}/${statistics.evaluated_expectations} expectations passed`,
  ];
  for (const r of result.results) {
    if (r.success) continue;
    const kwargs = r.expectation_config.kwargs as Record<string, unknown>;
    const subject = kwargs.column ?? kwargs.column_A ?? kwargs.column_list;
    const what = r.exception_info.raised_exception
      ? `exception: ${r.exception_info.exception_message ?? ''}`
      : r.result.unexpected_count !== undefined
        ? `${r.result.unexpected_count} unexpected of ${r.result.element_count ?? '?'}`
        : `observed ${JSON.stringify(r.result.observed_value)}`;
    lines.push(`  FAIL ${r.expectation_config.expectation_type}${subject === undefined ? '' : ` (${Array.isArray(subject) ? subject.join(',') : String(subject)})`}: ${what}`);
  }
  return lines.join('\n');
}

export function registerQuality(program: Command): void {
  program
    .command('quality')
    .description('run an expectation suite over the archive and the DLQ of a time window; exit 1 if it fails')
    .addOption(new Option('--since <span>', 'the window is the last <span> (30m, 1h, 1d); default 1h'))
    .addOption(new Option('--from <time>', 'window start: ISO-8601 or a span before now').argParser(timeOption()))
    .addOption(new Option('--to <time>', 'window end (exclusive; default now): ISO-8601 or a span before now').argParser(timeOption()))
    .option('--suite <file>', 'expectation suite, JSON or YAML (default: the built-in suite for the CALI record)')
    .option('--report <dir>', 'write validation-result.json and report.html here: a directory or s3://bucket/prefix/')
    .option('--metrics-file <file>', 'write Prometheus text metrics here (node-exporter textfile collector: name it *.prom)')
    .option('--json', 'print the whole validation result as JSON instead of the summary', false)
    .option('--no-slack', 'do not post the Slack summary even if SLACK_WEBHOOK_URL is set')
    .addHelpText('after', `
Environment: CALI_ARCHIVE_URI (required) and CALI_DLQ_URI (for the DLQ ratio),
as for cali run; AWS_REGION and AWS_ENDPOINT_URL_S3 for S3; CALI_PUSHGATEWAY_URL
to push the metrics; SLACK_WEBHOOK_URL for a summary in Slack.
The window selects archive and DLQ objects by their start time (in the key), so
consecutive windows check every record once. Exit status: 0 the suite passed,
1 it failed (or the run could not be done), 2 usage error. See docs/quality.md.`)
    .action(async (flags: QualityFlags, command: Command) => {
      const window = resolveWindow(flags, Date.now());
      const config = loadQualityConfig(process.env);
      const suite = flags.suite === undefined ? DEFAULT_SUITE : await loadExpectationSuite(flags.suite);
      if (suiteNeedsDlq(suite) && config.dlq === undefined) {
        throw new CaliError('CALI_ERR_CONFIG', `CALI_DLQ_URI is not set and suite ${suite.expectation_suite_name} has expect_dlq_ratio_to_be_below: set it to the DLQ destination of cali run, or remove that expectation`);
      }
      const reportDestination = flags.report === undefined ? undefined : parseDestinationUri(flags.report, '--report');
      const needsS3 = config.archive.kind === 's3' || config.dlq?.kind === 's3' || reportDestination?.kind === 's3';
      if (needsS3 && config.region === undefined) throw new CaliError('CALI_ERR_CONFIG', 'AWS_REGION is not set: set it to the region of the buckets, e.g. AWS_REGION=us-east-1');
      const s3 = needsS3 ? createS3Client({ region: config.region!, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) }) : undefined;
      try {
        const { result, warnings } = await runQualityJob(
          {
            archive: createObjectStore(config.archive, { s3Client: s3 }),
            dlq: config.dlq === undefined ? undefined : createObjectStore(config.dlq, { s3Client: s3 }),
          },
          { suite, window, caliVersion: command.parent?.version() },
          {
            report: reportDestination === undefined ? undefined : createObjectStore(reportDestination, { s3Client: s3 }),
            metricsFile: flags.metricsFile,
            pushgatewayUrl: config.pushgatewayUrl,
            slackWebhookUrl: flags.slack ? config.slackWebhookUrl : undefined,
          },
        );
        for (const warning of warnings) process.stderr.write(`cali: quality: warning: ${warning}\n`);
        process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatQualitySummary(result)}\n`);
        if (!result.success) process.exitCode = 1;
      } finally {
        s3?.destroy();
      }
    });
}
