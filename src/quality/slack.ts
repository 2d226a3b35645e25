/**
 * A short Slack summary of a run (Block Kit, through an incoming webhook):
 * pass/fail, the window, and the failing expectations with their numbers.
 * Kept small and self-contained on purpose: buildQualitySlackMessage is the
 * message, postSlackWebhook the transport, so the alerting sender can take
 * over the transport later. Every text goes through the Redactor first
 * (example values are log data), and the webhook URL never appears in an error.
 */
import { Redactor } from '../pipeline/redaction.js';
import type { ExpectationValidationResult, SuiteValidationResult } from './result.js';

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

/** Slack refuses section texts over 3000 characters; a summary needs far less. */
const MAX_SECTION_CHARS = 2900;
const MAX_FAILURES_LISTED = 10;
const MAX_EXAMPLES_PER_FAILURE = 3;
const MAX_EXAMPLE_CHARS = 80;

/** Slack mrkdwn control characters. */
const escapeMrkdwn = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function failureLine(result: ExpectationValidationResult, redactor: Redactor): string {
  const config = result.expectation_config;
  const kwargs = config.kwargs as Record<string, unknown>;
  const subject = kwargs.column ?? (kwargs.column_A === undefined ? kwargs.column_list : `${String(kwargs.column_A)} - ${String(kwargs.column_B)}`);
  const r = result.result;
  let numbers: string;
  if (result.exception_info.raised_exception) numbers = `exception: ${result.exception_info.exception_message ?? ''}`;
  else if (r.unexpected_count !== undefined) numbers = `${r.unexpected_count} unexpected of ${r.element_count ?? '?'}${r.unexpected_percent == null ? '' : ` (${r.unexpected_percent.toFixed(2)}%)`}`;
  else numbers = `observed ${JSON.stringify(r.observed_value)}`;
  const examples = (r.partial_unexpected_list ?? [])
    .slice(0, MAX_EXAMPLES_PER_FAILURE)
    .map((value) => clip(typeof value === 'string' ? value : JSON.stringify(value), MAX_EXAMPLE_CHARS));
  const tail = examples.length === 0 ? '' : `, e.g. ${examples.map((e) => `\`${e.replace(/`/g, "'")}\``).join(', ')}`;
  const text = `• \`${config.expectation_type}\`${subject === undefined ? '' : ` on \`${Array.isArray(subject) ? subject.join(', ') : String(subject)}\``}: ${numbers}${tail}`;
  return escapeMrkdwn(redactor.redact(text));
}

export function buildQualitySlackMessage(result: SuiteValidationResult, options: { readonly redactor?: Redactor; readonly reportLocation?: string | undefined } = {}): SlackMessage {
  const redactor = options.redactor ?? new Redactor();
  const { meta, statistics } = result;
  const status = result.success ? 'passed' : 'FAILED';
  const title = `CALI data quality ${status}: ${meta.expectation_suite_name}`;
  const failures = result.results.filter((r) => !r.success);
  const lines = failures.slice(0, MAX_FAILURES_LISTED).map((r) => failureLine(r, redactor));
  if (failures.length > MAX_FAILURES_LISTED) lines.push(`… and ${failures.length - MAX_FAILURES_LISTED} more`);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(redactor.redact(title), 150) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Window*\n${meta.batch_spec.window.from} – ${meta.batch_spec.window.to}` },
        { type: 'mrkdwn', text: `*Expectations*\n${statistics.successful_expectations} of ${statistics.evaluated_expectations} passed` },
        { type: 'mrkdwn', text: `*Records*\n${meta.batch_markers.archive_rows} archived, ${meta.batch_markers.dlq_records ?? 'n/a'} dead-lettered` },
        { type: 'mrkdwn', text: `*Unreadable*\n${meta.batch_markers.unreadable_lines} lines, ${meta.batch_markers.unreadable_objects} objects` },
      ],
    },
  ];
  if (lines.length > 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Failing*\n${lines.join('\n')}`, MAX_SECTION_CHARS) } });
  const context = [`run ${meta.run_id.run_name}`];
  if (options.reportLocation !== undefined) context.push(`report ${options.reportLocation}`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(escapeMrkdwn(redactor.redact(context.join(' · '))), MAX_SECTION_CHARS) }] });
  return { text: redactor.redact(`${title} (${statistics.unsuccessful_expectations} failing)`), blocks };
}

export const SLACK_TIMEOUT_MS = 10_000;

export async function postSlackWebhook(webhookUrl: string, message: SlackMessage, fetchImpl: typeof fetch = fetch): Promise<void> {
  let response: Response;
  try {
    response = await fetchImpl(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(SLACK_TIMEOUT_MS),
    });
  } catch (error) {
    // fetch's errors can quote the URL, and the webhook URL is the secret.
    throw new Error(`the Slack webhook could not be reached (${error instanceof Error ? error.name : 'error'})`);
  }
  if (!response.ok) {
    const body = (await response.text().catch(() => '')).slice(0, 100).replace(/[^\x20-\x7e]/g, '');
    throw new Error(`the Slack webhook answered HTTP ${response.status}${body ? ` (${body})` : ''}`);
  }
}
