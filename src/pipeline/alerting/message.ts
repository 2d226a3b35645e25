/**
 * Block Kit messages for alerts, digests, root updates and late analyses,
 * inside Slack's limits: at most 50 blocks, 3000 characters per section text,
 * 2000 per field, 150 per header, and a budget for the whole payload (blocks
 * are added in order of importance until it is spent). Every text is
 * redacted again as the last step (the snapshot was redacted when it was
 * built; operators' links and the analysis pass through here too), and
 * escaped for mrkdwn. A plain-text fallback goes with every message.
 */
import type { IncidentAnalysis } from '../rag/analysis.js';
import type { Redactor } from '../redaction.js';
import type { AlertSnapshot, WindowFacts } from './alert.js';
import type { AlertMessageKind, AlertSeverity } from './events.js';

export const SLACK_LIMITS = Object.freeze({ blocks: 50, sectionText: 3000, fieldText: 2000, fields: 10, headerText: 150, contextElements: 10, fallbackText: 3000 });
/** Characters of block text per message: far below Slack's payload limits, and an alert stays readable. */
export const PAYLOAD_BUDGET_CHARS = 12_000;
const MESSAGE_LINES = 12;
const FRAME_LINES = 25;

export interface TextObject { readonly type: 'plain_text' | 'mrkdwn'; readonly text: string }
export type Block =
  | { readonly type: 'header'; readonly text: TextObject }
  | { readonly type: 'section'; readonly text?: TextObject; readonly fields?: readonly TextObject[] }
  | { readonly type: 'context'; readonly elements: readonly TextObject[] }
  | { readonly type: 'divider' };

export interface RenderedMessage {
  readonly kind: AlertMessageKind;
  readonly severity: AlertSeverity;
  readonly fingerprint: string;
  /** Plain-text fallback (notifications, clients without blocks). */
  readonly text: string;
  readonly blocks: readonly Block[];
}

const EMOJI: Readonly<Record<AlertSeverity, string>> = { critical: ':red_circle:', high: ':large_orange_circle:', medium: ':large_yellow_circle:', low: ':large_blue_circle:', info: ':white_circle:' };

export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never end on half a surrogate pair.
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** A code block of whole lines within `max` characters; what does not fit becomes "...N more". */
export function codeBlock(lines: readonly string[], max: number, maxLines: number): string {
  const fence = '```';
  const safe = lines.map((line) => escapeMrkdwn(line.replaceAll('```', '`\u200b``')));
  const out: string[] = [];
  let used = 2 * fence.length + 2 + 20;
  for (const [i, line] of safe.entries()) {
    const shown = line.length > 400 ? clip(line, 400) : line;
    if (out.length >= maxLines || used + shown.length + 1 > max) {
      out.push(`...${safe.length - i} more`);
      break;
    }
    out.push(shown);
    used += shown.length + 1;
  }
  return `${fence}\n${out.join('\n')}\n${fence}`;
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

function formatTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'unknown';
}

export function fillLink(template: string, s: AlertSnapshot): string {
  return template.replace(/\{(fingerprint|service|environment|namespace)\}/g, (_m, name: string) => {
    const value = name === 'fingerprint' ? s.fingerprint : name === 'service' ? s.service : name === 'environment' ? s.environment : s.namespace;
    return encodeURIComponent(value ?? '');
  });
}

/** The alert's name: the root exception (short class name) or the message template. */
export function titleOf(s: AlertSnapshot): string {
  if (s.exception) {
    const short = s.exception.split('.').at(-1) ?? s.exception;
    const firstLine = s.message.split('\n', 1)[0] ?? '';
    return `${short}: ${firstLine}`;
  }
  return s.template.split('\n', 1)[0] ?? s.template;
}

function podsText(pods: readonly string[]): string {
  if (pods.length === 0) return 'unknown';
  const shown = pods.slice(0, 3).map((p) => `\`${escapeMrkdwn(p)}\``).join(', ');
  return pods.length > 3 ? `${shown} +${pods.length - 3} more` : shown;
}

/** Adds blocks while the budget lasts; the last slot is kept for a note that something was left out. */
class BlockBudget {
  readonly blocks: Block[] = [];
  private spent = 0;
  private omitted = 0;

  constructor(private readonly redactor: Redactor, private readonly budget = PAYLOAD_BUDGET_CHARS) {}

  private text(type: 'plain_text' | 'mrkdwn', text: string, max: number): TextObject {
    return { type, text: clip(this.redactor.redact(text), max) };
  }

  private add(block: Block, size: number): boolean {
    if (this.blocks.length >= SLACK_LIMITS.blocks - 1 || this.spent + size > this.budget) {
      this.omitted++;
      return false;
    }
    this.blocks.push(block);
    this.spent += size;
    return true;
  }

  header(text: string): void {
    const t = this.text('plain_text', text, SLACK_LIMITS.headerText);
    this.add({ type: 'header', text: t }, t.text.length);
  }

  section(mrkdwn: string): boolean {
    const t = this.text('mrkdwn', mrkdwn, SLACK_LIMITS.sectionText);
    return this.add({ type: 'section', text: t }, t.text.length);
  }

  fields(pairs: readonly (readonly [string, string])[]): void {
    const fields = pairs.slice(0, SLACK_LIMITS.fields).map(([label, value]) => this.text('mrkdwn', `*${label}*\n${value}`, SLACK_LIMITS.fieldText));
    this.add({ type: 'section', fields }, fields.reduce((n, f) => n + f.text.length, 0));
  }

  context(parts: readonly string[]): void {
    if (parts.length === 0) return;
    const elements = parts.slice(0, SLACK_LIMITS.contextElements).map((p) => this.text('mrkdwn', p, SLACK_LIMITS.fieldText));
    this.add({ type: 'context', elements }, elements.reduce((n, e) => n + e.text.length, 0));
  }

  divider(): void {
    this.add({ type: 'divider' }, 0);
  }

  finish(): Block[] {
    if (this.omitted > 0) this.blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `_${this.omitted} more part(s) left out to stay within Slack's limits_` }] });
    return this.blocks;
  }
}

function linksLine(s: AlertSnapshot): string[] {
  const parts: string[] = [];
  for (const name of ['dashboard', 'logs', 'runbook'] as const) {
    const template = s.links[name];
    if (template !== undefined) parts.push(`<${fillLink(template, s)}|${name[0]!.toUpperCase()}${name.slice(1)}>`);
  }
  return parts.length === 0 ? [] : [parts.join(' · ')];
}

function analysisBlocks(b: BlockBudget, a: IncidentAnalysis): void {
  if (a.analyzer === 'llm' && a.likelyCause !== undefined) {
    const confidence = a.confidence === undefined ? '' : ` (confidence: ${a.confidence})`;
    b.section(`*Likely cause* _(generated by an LLM${confidence}, verify before acting)_\n${escapeMrkdwn(a.likelyCause)}`);
    if (a.remediation !== undefined && a.remediation.length > 0) {
      b.section(`*Suggested remediation* _(generated)_\n${a.remediation.slice(0, 8).map((step) => `• ${escapeMrkdwn(step)}`).join('\n')}`);
    }
  }
  if (a.similarIncidents.length > 0) {
    const lines = a.similarIncidents.slice(0, 5).map((i) => {
      const resolution = i.resolution === undefined ? '_no resolution recorded_' : `resolved: ${escapeMrkdwn(clip(i.resolution, 400))}`;
      return `• \`${i.fingerprint}\` ${escapeMrkdwn(clip(i.template, 200))} (${Math.round(i.similarity * 100)}% similar, ${formatTime(i.seenAtMs)}): ${resolution}`;
    });
    b.section(`*Similar past incidents*\n${lines.join('\n')}`);
  }
  for (const passage of a.runbooks.slice(0, 3)) {
    b.section(`*Runbook:* ${escapeMrkdwn(clip(passage.heading, 150))} _(${escapeMrkdwn(passage.source)}, ${Math.round(passage.similarity * 100)}% match)_\n${escapeMrkdwn(clip(passage.text, 1200))}`);
  }
}

function fallback(parts: readonly string[], redactor: Redactor): string {
  return clip(redactor.redact(parts.filter((p) => p.length > 0).join(' ')), SLACK_LIMITS.fallbackText);
}

export interface AlertRenderOptions {
  readonly analysis?: IncidentAnalysis | undefined;
  /** A root message updated after the window closed. */
  readonly closed?: boolean;
  /** Set when the analysis is still being awaited, so readers know more follows. */
  readonly analysisPending?: boolean;
}

/** The root alert (and, with `closed` or a larger total, its chat.update). */
export function renderAlert(s: AlertSnapshot, w: WindowFacts, redactor: Redactor, options: AlertRenderOptions = {}): RenderedMessage {
  const b = new BlockBudget(redactor);
  const title = titleOf(s);
  const env = s.environment === undefined ? '' : ` [${s.environment}]`;
  b.header(`${s.severity.toUpperCase()} ${s.service}: ${title}`);
  const countText = options.closed
    ? `x${w.total} in ${formatDuration(s.windowMs)} (window closed)`
    : w.total > w.count ? `x${w.total} so far in a ${formatDuration(s.windowMs)} window` : `x${w.count}, window ${formatDuration(s.windowMs)}`;
  b.fields([
    ['Severity', `${EMOJI[s.severity]} ${s.severity}`],
    ['Service', escapeMrkdwn(s.service)],
    ['Environment', escapeMrkdwn(s.environment ?? 'unset')],
    ['Count', countText],
    ['Pods', podsText(w.pods)],
    ['Version', s.image === undefined ? 'unknown' : `\`${escapeMrkdwn(s.image)}\``],
    ['Fingerprint', `\`${s.fingerprint}\``],
    ['First / last seen', `${formatTime(w.firstSeenMs)} / ${formatTime(w.lastSeenMs)}`],
  ]);
  b.section(`*Message*\n${codeBlock(s.message.split('\n'), SLACK_LIMITS.sectionText - 20, MESSAGE_LINES)}`);
  if (s.frames.length > 0) b.section(`*Top frames*\n${codeBlock(s.frames, SLACK_LIMITS.sectionText - 20, FRAME_LINES)}`);
  else if (s.template !== s.message) b.section(`*Template*\n${codeBlock([s.template], SLACK_LIMITS.sectionText - 20, 3)}`);
  b.context([...linksLine(s), `rule \`${s.ruleId}\`${s.namespace === undefined ? '' : ` · namespace \`${escapeMrkdwn(s.namespace)}\``}`]);
  if (options.analysis !== undefined) {
    b.divider();
    analysisBlocks(b, options.analysis);
  } else if (options.analysisPending) {
    b.context(['_analysis of similar incidents follows_']);
  }
  return {
    kind: options.closed || w.total > w.count ? 'update' : 'alert',
    severity: s.severity,
    fingerprint: s.fingerprint,
    text: fallback([`[${s.severity.toUpperCase()}]${env}`, `${s.service}:`, title, `(x${options.closed ? w.total : w.count}, fingerprint ${s.fingerprint})`], redactor),
    blocks: b.finish(),
  };
}

/** The repeats of a closed window: a thread reply with a bot token, a message of its own with a webhook. */
export function renderDigest(s: AlertSnapshot, w: WindowFacts, redactor: Redactor, standalone: boolean): RenderedMessage {
  const b = new BlockBudget(redactor);
  const title = titleOf(s);
  const summary = `x${w.count} more in the last ${formatDuration(s.windowMs)} (x${w.total} in the window), ${w.pods.length} pod${w.pods.length === 1 ? '' : 's'}, first seen ${formatTime(w.firstSeenMs)}, last seen ${formatTime(w.lastSeenMs)}`;
  if (standalone) b.header(`Digest: ${s.service}: ${title}`);
  b.section(`*${summary}*`);
  b.fields([['Pods', podsText(w.pods)], ['Fingerprint', `\`${s.fingerprint}\``]]);
  if (standalone) b.context(linksLine(s));
  return {
    kind: 'digest',
    severity: s.severity,
    fingerprint: s.fingerprint,
    text: fallback([`Digest [${s.severity.toUpperCase()}]`, `${s.service}:`, title, '-', summary, `(fingerprint ${s.fingerprint})`], redactor),
    blocks: b.finish(),
  };
}

/** An analysis that arrived after its alert went out. */
export function renderAnalysis(s: AlertSnapshot, a: IncidentAnalysis, redactor: Redactor, standalone: boolean): RenderedMessage {
  const b = new BlockBudget(redactor);
  if (standalone) b.header(`Analysis: ${s.service}: ${titleOf(s)}`);
  analysisBlocks(b, a);
  b.context([`fingerprint \`${s.fingerprint}\` · ${a.analyzer === 'llm' ? 'retrieval + LLM' : 'retrieval'}`]);
  return {
    kind: 'analysis',
    severity: s.severity,
    fingerprint: s.fingerprint,
    text: fallback([`Analysis for ${s.service}:`, titleOf(s), `(fingerprint ${s.fingerprint})`], redactor),
    blocks: b.finish(),
  };
}

/** The readable console form of a message (local mode): the blocks as lines of text. */
export function messageToText(m: RenderedMessage): string {
  const lines: string[] = [];
  const plain = (t: string): string => t.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&').replace(/<([^|>]+)\|([^>]+)>/g, '$2: $1').replace(/\*([^*\n]+)\*/g, '$1').replace(/:[a-z_]+: /g, '');
  for (const block of m.blocks) {
    switch (block.type) {
      case 'header': lines.push(`== ${block.text.text} ==`); break;
      case 'section':
        if (block.text) lines.push(plain(block.text.text));
        if (block.fields) lines.push(block.fields.map((f) => plain(f.text).replace('\n', ': ')).join(' | '));
        break;
      case 'context': lines.push(block.elements.map((e) => plain(e.text)).join(' · ')); break;
      case 'divider': lines.push('--'); break;
    }
  }
  return lines.join('\n');
}
