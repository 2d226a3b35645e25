/**
 * Error fingerprints: a pure function of the event and the configuration, so
 * the same error gets the same fingerprint in any worker thread, replica,
 * restart or version of the data seen before (no learned state).
 *
 * - An event with a stack trace (in `log_content`) is keyed on its exception
 *   chain: each exception's type and top in-app frames, root cause included
 *   (the Sentry approach); see stack.ts.
 * - Any other event is keyed on its message template, variables masked (the
 *   log-parser approach); see template.ts.
 * - The configured record fields (service and level class by default) are part
 *   of the key, so the same text in two services is two incidents.
 *
 * The key is a readable string; the fingerprint is its FNV-1a 64 hash (hash.ts),
 * so anyone can recompute a fingerprint from `--explain` output. Everything is
 * compiled once per configuration; an event costs a scan of its text and a few
 * small strings. Nothing here throws on any input.
 */
import { detach } from './cache.js';
import { resolveFingerprintConfig, type FingerprintConfig, type KeyField } from './config.js';
import { Fnv1a64, type FnvState } from './hash.js';
import { compileStackParser, type ParsedException } from './stack.js';
import { compileTemplater, CUSTOM_MASK_CHAR, VARIABLE, type MaskedValue } from './template.js';

/** The fields fingerprinting reads; a `LogRecord` is one, a raw message line is `{ message }`. */
export interface FingerprintInput {
  readonly message?: string | undefined;
  readonly log_content?: string | undefined;
  readonly service?: string | undefined;
  readonly level?: string | undefined;
  readonly logger?: string | undefined;
  readonly kubernetes?: { readonly namespace_name?: string | undefined } | undefined;
}

export type LevelClass = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'other' | 'none';

export interface Fingerprint {
  /** 16 lowercase hex digits (64 bits). */
  readonly fingerprint: string;
  /** What the key was built from. */
  readonly kind: 'stack' | 'message';
  /** The message with variables masked as `<*>`. */
  readonly template: string;
  /** Exception chain used (outermost first, root cause last) with the frames used; empty for `message`. */
  readonly exceptions: readonly ParsedException[];
  /** Record field values that are part of the key (only the configured ones). */
  readonly fields: Readonly<Partial<Record<KeyField, string>>>;
}

export interface FingerprintExplanation extends Fingerprint {
  /** The exact string that was hashed (fields separated by U+001F, frames by U+001E). */
  readonly key: string;
  /** Every masked value of the message and what it was taken for. */
  readonly masked: readonly MaskedValue[];
}

export interface Fingerprinter {
  (event: FingerprintInput): Fingerprint;
  /** The same fingerprint, plus the key and the masked values (slower; for `--explain`). */
  explain(event: FingerprintInput): FingerprintExplanation;
  readonly config: Readonly<FingerprintConfig>;
}

/** Bumped whenever the key's layout or rules change, so old and new fingerprints never collide silently. */
export const KEY_VERSION = 'cali-fp-2';
const FIELD = '\u001f';
const ITEM = '\u001e';
const STACK_PART = `${FIELD}stack`;
const MESSAGE_PART = `${FIELD}message${FIELD}`;
const MAX_FIELD_CHARS = 256;

const LEVEL_CLASSES: Readonly<Record<string, LevelClass>> = {
  TRACE: 'debug', DEBUG: 'debug', FINE: 'debug', FINER: 'debug', FINEST: 'debug', VERBOSE: 'debug',
  INFO: 'info', NOTICE: 'info', INFORMATION: 'info',
  WARN: 'warn', WARNING: 'warn',
  ERROR: 'error', ERR: 'error', SEVERE: 'error',
  CRITICAL: 'fatal', FATAL: 'fatal', CRIT: 'fatal', ALERT: 'fatal', EMERG: 'fatal', EMERGENCY: 'fatal', PANIC: 'fatal',
};

/** WARN and WARNING, CRITICAL and FATAL are one class: the same event is not two incidents because of spelling. */
export function levelClass(level: string | undefined): LevelClass {
  if (level === undefined || level === '') return 'none';
  return LEVEL_CLASSES[level] ?? LEVEL_CLASSES[level.trim().toUpperCase()] ?? 'other';
}

/** Most distinct field-value combinations whose key prefix is kept hashed; more and the cache starts over. */
const MAX_KEY_PREFIXES = 1024;

/** The key up to the template or trace, for one combination of field values: its hash state and its fields. */
interface KeyPrefix {
  readonly state: FnvState;
  readonly fields: Readonly<Partial<Record<KeyField, string>>>;
  readonly next: Map<string, KeyPrefix>;
}

const NO_EXCEPTIONS: readonly ParsedException[] = Object.freeze([]);

/** Compiles a fingerprinter for a configuration (partial: defaults fill the rest; invalid: CALI_ERR_CONFIG). */
export function compileFingerprinter(config: Partial<FingerprintConfig> | Readonly<FingerprintConfig> = {}): Fingerprinter {
  const resolved = resolveFingerprintConfig(config);
  const templater = compileTemplater({
    extraMasks: resolved.extraMasks.map((m) => new RegExp(m.pattern, m.ignoreCase ? 'gi' : 'g')),
    maxMessageChars: resolved.maxMessageChars,
  });
  const parseStack = compileStackParser(resolved);
  const hasher = new Fnv1a64();
  const keyFields = resolved.keyFields;
  const hasExtraMasks = resolved.extraMasks.length > 0;
  const stackKeyIncludesMessage = resolved.stackKeyIncludesMessage;

  /**
   * The key starts with the version and the field values, the same for every
   * event of a service and level: its hash state is computed once per
   * combination (a tree of maps, one level per key field), with a frozen
   * `fields` object that results share. Bounded: it starts over when full.
   */
  const root: KeyPrefix = { state: hasher.reset().update(KEY_VERSION).save(), fields: Object.freeze({}), next: new Map() };
  let prefixCount = 0;
  const prefixOf = (event: FingerprintInput): KeyPrefix => {
    let node = root;
    for (const field of keyFields) {
      const value = fieldValue(event, field);
      let child = node.next.get(value);
      if (!child) {
        if (prefixCount >= MAX_KEY_PREFIXES) {
          root.next.clear();
          prefixCount = 0;
          return prefixOf(event);
        }
        const kept = detach(value);
        child = {
          state: hasher.restore(node.state).update(`${FIELD}${field}=`).update(kept).save(),
          fields: Object.freeze({ ...node.fields, [field]: kept }),
          next: new Map(),
        };
        node.next.set(kept, child);
        prefixCount++;
      }
      node = child;
    }
    return node;
  };

  const run = (event: FingerprintInput, masked: MaskedValue[] | undefined): FingerprintExplanation | Fingerprint => {
    const message = typeof event.message === 'string' && event.message !== '' ? event.message : firstLine(event.log_content);
    const exceptions = typeof event.log_content === 'string' ? parseStack(event.log_content) : undefined;
    const prefix = prefixOf(event);
    // The template is not part of a stack key by default: it titles alerts.
    const template = templateOf(message, masked);
    let rest: string; // the key after the cached prefix
    if (exceptions) {
      rest = STACK_PART;
      for (const e of exceptions) rest += `${FIELD}${e.type}${ITEM}${e.frames.join(ITEM)}`;
      if (stackKeyIncludesMessage) rest += `${MESSAGE_PART}${template}`;
    } else {
      rest = `${MESSAGE_PART}${template}`;
    }
    const fingerprint = hasher.restore(prefix.state).update(rest).digest();
    const result: Fingerprint = { fingerprint, kind: exceptions ? 'stack' : 'message', template, exceptions: exceptions ?? NO_EXCEPTIONS, fields: prefix.fields };
    return masked ? { ...result, key: keyOf(result), masked } : result;
  };

  const templateOf = (message: string, masked: MaskedValue[] | undefined): string => {
    const template = templater(message, masked);
    return hasExtraMasks ? template.replaceAll(CUSTOM_MASK_CHAR, VARIABLE) : template;
  };

  /** The string the fingerprint hashes, spelt out for `explain` (the hot path streams the same bytes). */
  const keyOf = (result: Fingerprint): string => {
    let key = KEY_VERSION;
    for (const field of keyFields) key += `${FIELD}${field}=${result.fields[field]!}`;
    if (result.kind === 'stack') {
      key += STACK_PART;
      for (const e of result.exceptions) key += `${FIELD}${e.type}${ITEM}${e.frames.join(ITEM)}`;
      if (stackKeyIncludesMessage) key += `${MESSAGE_PART}${result.template}`;
    } else {
      key += `${MESSAGE_PART}${result.template}`;
    }
    return key;
  };

  const fingerprinter = ((event: FingerprintInput) => run(event, undefined)) as Fingerprinter;
  Object.defineProperties(fingerprinter, {
    explain: { value: (event: FingerprintInput) => run(event, []) as FingerprintExplanation },
    config: { value: resolved },
  });
  return fingerprinter;
}

function fieldValue(event: FingerprintInput, field: KeyField): string {
  let value: unknown;
  switch (field) {
    case 'service': value = event.service; break;
    case 'level': return levelClass(typeof event.level === 'string' ? event.level : undefined);
    case 'logger': value = event.logger; break;
    case 'namespace': value = event.kubernetes?.namespace_name; break;
  }
  if (typeof value !== 'string') return '';
  return value.length > MAX_FIELD_CHARS ? value.slice(0, MAX_FIELD_CHARS) : value;
}

function firstLine(text: string | undefined): string {
  if (typeof text !== 'string') return '';
  const newline = text.indexOf('\n');
  return newline < 0 ? text : text.slice(0, newline);
}
