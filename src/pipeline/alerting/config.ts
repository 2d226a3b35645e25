/**
 * The `alerting` section of CALI_CONFIG's file (YAML or JSON): the type is the
 * documentation (docs/alerting.md shows it with examples). It is validated
 * with the compiled typia validator (unknown settings are rejected) and
 * compiled once into a frozen `AlertingRules`: regular expressions checked for
 * catastrophic backtracking, durations turned into milliseconds, defaults
 * applied. Every error names the setting and the fix.
 */
import { readFile } from 'node:fs/promises';
import safeRegex from 'safe-regex2';
import typia, { type tags } from 'typia';
import { parse as parseYaml } from 'yaml';
import { CaliError } from '../../errors.js';
import type { LevelClass } from '../../workers/fingerprint/fingerprint.js';
import { RedactionConfigError, Redactor, type RedactionPattern } from '../redaction.js';
import type { AlertSeverity } from './events.js';

type Id = string & tags.MinLength<1> & tags.MaxLength<64> & tags.Pattern<'^[a-z0-9][a-z0-9_.-]*$'>;
type FingerprintId = string & tags.Pattern<'^[0-9a-f]{16}$'>;
type Name = string & tags.MinLength<1> & tags.MaxLength<253>;
type RegexSource = string & tags.MinLength<1> & tags.MaxLength<1024>;
/** A URL with optional placeholders {fingerprint}, {service}, {environment}, {namespace}. */
type LinkTemplate = string & tags.MinLength<1> & tags.MaxLength<2048> & tags.Pattern<'^https?://'>;

export type AlertLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface RuleMatchInput {
  /** Level classes (WARN and WARNING are `warn`, CRITICAL is `fatal`). */
  levels?: AlertLevel[] & tags.MinItems<1> & tags.MaxItems<5>;
  services?: Name[] & tags.MinItems<1> & tags.MaxItems<256>;
  /** JavaScript regular expression, tested on the first occurrence's message and on the fingerprint's template. */
  message?: RegexSource;
  fingerprints?: FingerprintId[] & tags.MinItems<1> & tags.MaxItems<1024>;
  namespaces?: Name[] & tags.MinItems<1> & tags.MaxItems<256>;
  /** Kubernetes pod labels that must all be present with these values. */
  labels?: Record<string, string>;
}

export interface ThresholdInput {
  /** Alert only when MORE than this many occurrences were counted... */
  count: number & tags.Type<'uint32'> & tags.Minimum<1>;
  /** ...within this many seconds (fixed buckets of this length, counted across replicas). */
  withinSeconds: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<86400>;
  /** Count per fingerprint (default) or per service (all fingerprints of the service together). */
  per?: 'fingerprint' | 'service';
}

export interface RuleInput {
  id: Id;
  /** Every listed condition must hold; no `match` matches everything. */
  match?: RuleMatchInput;
  threshold?: ThresholdInput;
  /** Default from the level: fatal critical, error high, warn medium, others low. */
  severity?: AlertSeverity;
  /** Slack channel (name or id) for a bot token; ignored by a webhook, which is bound to one channel. */
  route?: string & tags.MinLength<1> & tags.MaxLength<80>;
  /** Throttle window: one alert, then repeats counted into a digest when it closes. */
  windowSeconds?: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<86400>;
  /** false: what this rule matches never alerts (a mute rule). */
  alert?: boolean;
  /** Replace the top-level links for this rule. */
  links?: LinksInput;
}

export interface SilenceInput {
  fingerprint?: FingerprintId;
  service?: Name;
  /** ISO-8601 time the silence ends. */
  until: string & tags.Format<'date-time'>;
  reason?: string & tags.MaxLength<512>;
}

export interface LinksInput {
  dashboard?: LinkTemplate;
  logs?: LinkTemplate;
  runbook?: LinkTemplate;
}

export interface AlertingConfigInput {
  /** Shown in every alert; CALI_ENVIRONMENT overrides it. */
  environment?: string & tags.MinLength<1> & tags.MaxLength<64>;
  /** Tried in order, first match wins. */
  rules?: RuleInput[] & tags.MaxItems<256>;
  /** Append the default rules (fatal, error, warn above a rate) after `rules` (default true). */
  defaultRules?: boolean;
  silences?: SilenceInput[] & tags.MaxItems<1024>;
  links?: LinksInput;
  redaction?: {
    /** Extra patterns, applied after the built-in ones. */
    patterns?: RedactionPattern[] & tags.MaxItems<64>;
    /** Built-in rules to turn off by name. */
    disable?: string[];
  };
  analysis?: {
    /** How long a new alert waits for the RAG analysis before it goes out alone; the analysis follows. */
    budgetMs?: number & tags.Type<'uint32'> & tags.Maximum<60000>;
  };
  delivery?: {
    /** Least time between two messages to one destination (Slack allows about one per second). */
    minIntervalMs?: number & tags.Type<'uint32'> & tags.Maximum<60000>;
    /** Messages waiting per destination; more are dropped (their windows stay unsent in the table and are retried). */
    queueSize?: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<10000>;
    /** Attempts per message for retriable failures (429, 5xx, network). */
    maxAttempts?: number & tags.Type<'uint32'> & tags.Minimum<1> & tags.Maximum<20>;
    /** Per request. */
    timeoutMs?: number & tags.Type<'uint32'> & tags.Minimum<100> & tags.Maximum<60000>;
  };
  throttle?: {
    /** Open windows kept in memory per process (LRU); an evicted window's counts are flushed first. */
    maxWindows?: number & tags.Type<'uint32'> & tags.Minimum<10> & tags.Maximum<1000000>;
    /** How often counted repeats are added to the alert table. */
    flushIntervalMs?: number & tags.Type<'uint32'> & tags.Minimum<100> & tags.Maximum<60000>;
    /** How long after a window's end its digest waits for late counts. */
    closeGraceMs?: number & tags.Type<'uint32'> & tags.Minimum<100> & tags.Maximum<600000>;
    /** A claimed alert not marked sent after this long is sent by another replica. */
    claimTimeoutMs?: number & tags.Type<'uint32'> & tags.Minimum<1000> & tags.Maximum<3600000>;
    /** How often a replica looks for windows to close and alerts to take over. */
    sweepIntervalMs?: number & tags.Type<'uint32'> & tags.Minimum<100> & tags.Maximum<600000>;
    /** Bot token: least time between two updates of an open alert's count (chat.update of the root). */
    updateIntervalMs?: number & tags.Type<'uint32'> & tags.Minimum<100> & tags.Maximum<3600000>;
  };
}

export interface ThresholdRule {
  readonly count: number;
  readonly withinMs: number;
  readonly per: 'fingerprint' | 'service';
}

export interface Links {
  readonly dashboard?: string | undefined;
  readonly logs?: string | undefined;
  readonly runbook?: string | undefined;
}

export interface CompiledRule {
  readonly id: string;
  readonly levels: ReadonlySet<LevelClass> | undefined;
  readonly services: ReadonlySet<string> | undefined;
  readonly message: RegExp | undefined;
  readonly fingerprints: ReadonlySet<string> | undefined;
  readonly namespaces: ReadonlySet<string> | undefined;
  readonly labels: readonly (readonly [string, string])[];
  readonly threshold: ThresholdRule | undefined;
  readonly severity: AlertSeverity | undefined;
  readonly route: string | undefined;
  readonly windowMs: number;
  readonly alert: boolean;
  readonly links: Links;
}

export interface Silence {
  readonly fingerprint: string | undefined;
  readonly service: string | undefined;
  readonly untilMs: number;
  readonly reason: string | undefined;
}

export interface AlertingSettings {
  readonly environment: string | undefined;
  readonly rules: readonly CompiledRule[];
  readonly silences: readonly Silence[];
  readonly redactor: Redactor;
  readonly analysisBudgetMs: number;
  readonly delivery: { readonly minIntervalMs: number; readonly queueSize: number; readonly maxAttempts: number; readonly timeoutMs: number };
  readonly throttle: {
    readonly maxWindows: number;
    readonly flushIntervalMs: number;
    readonly closeGraceMs: number;
    readonly claimTimeoutMs: number;
    readonly sweepIntervalMs: number;
    readonly updateIntervalMs: number;
  };
}

export const DEFAULT_WINDOW_SECONDS = 300;

/** ERROR and FATAL alert at once; WARN only above a rate (more than 20 of one fingerprint in a minute). */
export const DEFAULT_RULES: readonly RuleInput[] = Object.freeze([
  { id: 'fatal', match: { levels: ['fatal'] }, severity: 'critical' },
  { id: 'error', match: { levels: ['error'] }, severity: 'high' },
  { id: 'warn-rate', match: { levels: ['warn'] }, threshold: { count: 20, withinSeconds: 60 }, severity: 'medium', windowSeconds: 600 },
] satisfies RuleInput[]);

export const DEFAULTS = Object.freeze({
  analysisBudgetMs: 3_000,
  delivery: Object.freeze({ minIntervalMs: 1_000, queueSize: 200, maxAttempts: 5, timeoutMs: 10_000 }),
  throttle: Object.freeze({ maxWindows: 10_000, flushIntervalMs: 1_000, closeGraceMs: 3_000, claimTimeoutMs: 60_000, sweepIntervalMs: 5_000, updateIntervalMs: 60_000 }),
});

const validateInput = typia.createValidateEquals<AlertingConfigInput>();

/** The fix for a setting, by the last name in its path. */
const FIXES: Record<string, string> = {
  environment: 'use 1-64 characters, e.g. "production"',
  rules: 'use a list of up to 256 rules, each {"id": "...", "match": {...}}',
  defaultRules: 'use true or false',
  id: 'use 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  match: 'use an object with levels, services, message, fingerprints, namespaces and/or labels',
  levels: 'use a non-empty list of "debug", "info", "warn", "error", "fatal"',
  services: 'use a non-empty list of service names',
  message: 'use a JavaScript regular expression as a string',
  fingerprints: 'use a non-empty list of 16-hex-digit fingerprints (as shown in alerts)',
  namespaces: 'use a non-empty list of Kubernetes namespaces',
  labels: 'use an object of label names to string values, e.g. {"team": "payments"}',
  threshold: 'use {"count": N, "withinSeconds": M} (alert when more than N in M seconds)',
  count: 'use a whole number >= 1',
  withinSeconds: 'use a whole number of seconds from 1 to 86400',
  per: 'use "fingerprint" or "service"',
  severity: 'use one of critical, high, medium, low, info',
  route: 'use a Slack channel name or id, e.g. "#payments-oncall"',
  windowSeconds: 'use a whole number of seconds from 1 to 86400',
  alert: 'use true or false (false mutes what the rule matches)',
  links: 'use {"dashboard": "https://...", "logs": "https://...", "runbook": "https://..."}',
  dashboard: 'use an http(s) URL; {fingerprint}, {service}, {environment} and {namespace} are filled in',
  logs: 'use an http(s) URL; {fingerprint}, {service}, {environment} and {namespace} are filled in',
  runbook: 'use an http(s) URL; {fingerprint}, {service}, {environment} and {namespace} are filled in',
  silences: 'use a list of {"fingerprint" or "service": ..., "until": "2030-01-01T00:00:00Z"}',
  fingerprint: 'use the 16 hex digits shown in the alert',
  service: 'use a service name',
  until: 'use an ISO-8601 time such as 2030-01-01T00:00:00Z',
  reason: 'use at most 512 characters',
  redaction: 'use {"patterns": [{"name": "...", "pattern": "..."}], "disable": [...]}',
  patterns: 'use a list of {"name": "order-id", "pattern": "ORD-[0-9]+", "flags": "i"}',
  name: 'use 1-40 letters, digits, "_" or "-"',
  pattern: 'use a JavaScript regular expression as a string',
  flags: 'use only i, m, s or u',
  disable: 'use a list of built-in redaction rule names',
  analysis: 'use {"budgetMs": 3000}',
  budgetMs: 'use a whole number of milliseconds from 0 to 60000',
  delivery: 'use {"minIntervalMs": 1000, "queueSize": 200, "maxAttempts": 5, "timeoutMs": 10000}',
  minIntervalMs: 'use a whole number of milliseconds from 0 to 60000',
  queueSize: 'use a whole number from 1 to 10000',
  maxAttempts: 'use a whole number from 1 to 20',
  timeoutMs: 'use a whole number of milliseconds from 100 to 60000',
  throttle: 'use {"maxWindows": ..., "flushIntervalMs": ..., "closeGraceMs": ..., "claimTimeoutMs": ..., "sweepIntervalMs": ..., "updateIntervalMs": ...}',
  maxWindows: 'use a whole number from 10 to 1000000',
  flushIntervalMs: 'use a whole number of milliseconds from 100 to 60000',
  closeGraceMs: 'use a whole number of milliseconds from 100 to 600000',
  claimTimeoutMs: 'use a whole number of milliseconds from 1000 to 3600000',
  sweepIntervalMs: 'use a whole number of milliseconds from 100 to 600000',
  updateIntervalMs: 'use a whole number of milliseconds from 100 to 3600000',
};

function configError(where: string, field: string, problem: string, fix: string): CaliError {
  return new CaliError('CALI_ERR_CONFIG', `${where}: ${field} ${problem}: ${fix}`);
}

function fieldOf(path: string): string {
  const field = path.replace(/^\$input\.?/, '');
  return field ? `alerting.${field}` : 'alerting';
}

function lastName(field: string): string {
  const names = field.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  return names.at(-1) ?? '';
}

function compileRegex(where: string, field: string, source: string, flags = ''): RegExp {
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (error) {
    throw configError(where, field, `is not a valid regular expression (${(error as Error).message})`, 'fix the pattern (JavaScript syntax)');
  }
  if (!safeRegex(source)) {
    throw configError(where, field, 'may backtrack catastrophically (nested quantifiers)', 'rewrite it without a quantifier inside a quantified group, e.g. "timeout after [0-9]+" instead of "(a+)+"');
  }
  return regex;
}

const LEVEL_SEVERITY: Readonly<Record<LevelClass, AlertSeverity>> = { fatal: 'critical', error: 'high', warn: 'medium', info: 'low', debug: 'low', other: 'low', none: 'low' };

export function severityFor(rule: CompiledRule, level: LevelClass): AlertSeverity {
  return rule.severity ?? LEVEL_SEVERITY[level];
}

function compileRule(where: string, input: RuleInput, field: string, topLinks: Links): CompiledRule {
  const m = input.match ?? {};
  const labels = Object.entries(m.labels ?? {});
  for (const [name, value] of labels) {
    if (typeof value !== 'string') throw configError(where, `alerting.${field}.match.labels.${name}`, 'is not a string', FIXES.labels!);
  }
  return Object.freeze({
    id: input.id,
    levels: m.levels ? new Set<LevelClass>(m.levels) : undefined,
    services: m.services ? new Set(m.services) : undefined,
    message: m.message === undefined ? undefined : compileRegex(where, `alerting.${field}.match.message`, m.message),
    fingerprints: m.fingerprints ? new Set(m.fingerprints) : undefined,
    namespaces: m.namespaces ? new Set(m.namespaces) : undefined,
    labels: Object.freeze(labels.map(([k, v]) => [k, v] as const)),
    threshold: input.threshold === undefined ? undefined : Object.freeze({
      count: input.threshold.count,
      withinMs: input.threshold.withinSeconds * 1000,
      per: input.threshold.per ?? 'fingerprint',
    }),
    severity: input.severity,
    route: input.route,
    windowMs: (input.windowSeconds ?? DEFAULT_WINDOW_SECONDS) * 1000,
    alert: input.alert ?? true,
    links: Object.freeze({ ...topLinks, ...input.links }),
  });
}

/**
 * Validates the `alerting` section of a parsed configuration file and compiles it. `where` names the source in
 * errors (the file).
 */
export function compileAlertingConfig(input: unknown, where = 'alerting config'): AlertingSettings {
  const result = validateInput(input ?? {});
  if (!result.success) {
    const first = result.errors[0]!;
    const field = fieldOf(first.path);
    if (field === 'alerting') throw configError(where, field, 'is not an object', 'write a YAML or JSON object such as {"rules": [...]}');
    if (first.expected === 'undefined') {
      throw configError(where, field, 'is not a known setting', 'remove it or fix its spelling (see docs/alerting.md)');
    }
    throw configError(where, field, `is invalid (got ${JSON.stringify(first.value) ?? 'undefined'})`, FIXES[lastName(field)] ?? 'see docs/alerting.md');
  }
  const config = result.data;
  const topLinks: Links = Object.freeze({ ...config.links });
  const ids = new Set<string>();
  const rules: CompiledRule[] = [];
  const inputs: (readonly [RuleInput, string])[] = (config.rules ?? []).map((rule, i) => [rule, `rules[${i}]`] as const);
  if (config.defaultRules ?? true) {
    for (const rule of DEFAULT_RULES) if (!(config.rules ?? []).some((r) => r.id === rule.id)) inputs.push([rule, `default rule "${rule.id}"`]);
  }
  for (const [rule, field] of inputs) {
    if (ids.has(rule.id)) throw configError(where, `alerting.${field}.id`, `repeats "${rule.id}"`, 'give every rule its own id');
    ids.add(rule.id);
    rules.push(compileRule(where, rule, field, topLinks));
  }
  const silences = (config.silences ?? []).map((s, i): Silence => {
    if (s.fingerprint === undefined && s.service === undefined) {
      throw configError(where, `alerting.silences[${i}]`, 'names neither a fingerprint nor a service', 'add "fingerprint": "<16 hex digits>" or "service": "<name>"');
    }
    return Object.freeze({ fingerprint: s.fingerprint, service: s.service, untilMs: Date.parse(s.until), reason: s.reason });
  });
  let redactor: Redactor;
  try {
    redactor = new Redactor({ extraPatterns: config.redaction?.patterns ?? [], disable: config.redaction?.disable ?? [], configField: 'alerting.redaction.patterns' });
  } catch (error) {
    if (error instanceof RedactionConfigError) {
      const field = error.field.startsWith('alerting.') ? error.field : `alerting.${error.field}`;
      throw new CaliError('CALI_ERR_CONFIG', `${where}: ${field}${error.message.slice(error.field.length)}`);
    }
    throw error;
  }
  return Object.freeze({
    environment: config.environment,
    rules: Object.freeze(rules),
    silences: Object.freeze(silences),
    redactor,
    analysisBudgetMs: config.analysis?.budgetMs ?? DEFAULTS.analysisBudgetMs,
    delivery: Object.freeze({ ...DEFAULTS.delivery, ...config.delivery }),
    throttle: Object.freeze({ ...DEFAULTS.throttle, ...config.throttle }),
  });
}

/** Reads CALI_CONFIG's file: YAML (JSON is YAML too), then compiles it. */
export async function loadAlertingConfig(path: string | undefined, variable = 'CALI_CONFIG'): Promise<AlertingSettings> {
  if (path === undefined) return compileAlertingConfig({}, 'default alerting rules');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CaliError('CALI_ERR_CONFIG', `${variable} names "${path}", which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): point it to a readable YAML or JSON rules file, or unset it for the default rules`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new CaliError('CALI_ERR_CONFIG', `${variable} file "${path}" is not valid YAML or JSON (${(error as Error).message.split('\n', 1)[0]}): fix the syntax`);
  }
  const where = `${variable} file "${path}"`;
  if (parsed === null || parsed === undefined) return compileAlertingConfig({}, where);
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw configError(where, '(the file)', 'is not an object', 'write a mapping with an "alerting" section (see docs/alerting.md)');
  // Other sections of the file belong to other parts of CALI; this one is validated strictly.
  return compileAlertingConfig((parsed as { alerting?: unknown }).alerting ?? {}, where);
}
