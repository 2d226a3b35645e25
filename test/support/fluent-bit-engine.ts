/**
 * An offline model of the Fluent Bit stages CALI's configuration (fluent-bit/)
 * relies on, for tests. It reads the SHIPPED YAML files and compiles their
 * regexes with vscode-oniguruma (WASM Oniguruma, Ruby syntax, as Fluent Bit's
 * Onigmo), then replays what Fluent Bit does with them. The replay follows the
 * Fluent Bit sources (4.x):
 *
 * - src/flb_regex.c: `/pat/opts` delimiters, Ruby syntax, ONIG_OPTION_NONE
 *   (plain groups do not capture when named groups exist), onig_search, i.e.
 *   an unanchored search where `^`/`$` are line anchors;
 * - src/multiline/flb_ml_parser_cri.c + flb_ml.c: the built-in `cri` parser
 *   (P chunks of one stream concatenated as-is, flushed on F);
 * - src/multiline/flb_ml_rule.c + flb_ml.c: the regex multiline state machine
 *   (continuation rules tried before start_state, "\n" separators, blank
 *   lines, a non-matching line flushes the stream and is its own record,
 *   multiline_buffer_limit truncation);
 * - plugins/filter_parser, plugins/filter_modify: Reserve_Data, Preserve_Key,
 *   skip_empty_values, Time_Key/Time_Keep, rename/remove.
 *
 * Every match is timed; one slower than `maxMatchMs` throws RegexTimeoutError
 * (ReDoS guard). probeRegexInWorker() runs adversarial inputs in a worker
 * thread with a hard deadline, so even a match that never ends is bounded.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as Onig from 'vscode-oniguruma';
import { parse as parseYaml } from 'yaml';

const require = createRequire(import.meta.url);
const ONIG_MAIN = require.resolve('vscode-oniguruma');
const ONIG_WASM = join(dirname(ONIG_MAIN), 'onig.wasm');
const onig = require('vscode-oniguruma') as typeof Onig;

// vscode-oniguruma's `Syntax` and `FindOption` are ambient const enums, which
// isolatedModules cannot read: their values, from its main.d.ts.
const SYNTAX_RUBY = 10;
const OPT = { None: 1, Ignorecase: 2, Extend: 3, Multiline: 4, WordIsAscii: 15, DigitIsAscii: 16, SpaceIsAscii: 17 } as const;

/** Ruby (Onigmo) \w, \d and \s are ASCII-only; Oniguruma's are Unicode unless told. */
const RUBY_ASCII_OPTIONS = [OPT.WordIsAscii, OPT.DigitIsAscii, OPT.SpaceIsAscii];

/** Group names Fluent Bit turns into record keys: letters, digits, underscore. */
export const FLUENT_BIT_GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Default per-match time limit (ReDoS guard). */
export const DEFAULT_MAX_MATCH_MS = 50;

/** Extra runs of an over-limit match before it counts as slow. */
const MATCH_RETRIES = 2;

let wasmLoaded: Promise<void> | undefined;

export function loadOniguruma(): Promise<void> {
  wasmLoaded ??= onig.loadWASM(readFileSync(ONIG_WASM));
  return wasmLoaded;
}

export class RegexConfigError extends Error {
  override readonly name = 'RegexConfigError';
}

export class RegexTimeoutError extends Error {
  override readonly name = 'RegexTimeoutError';
  constructor(readonly label: string, readonly ms: number, readonly limitMs: number, readonly inputLength: number) {
    super(`regex ${label}: one match took ${ms.toFixed(1)} ms (limit ${limitMs} ms) on ${inputLength} characters`);
  }
}

export interface RegexFlags {
  /** `/.../m`: ONIG_OPTION_MULTILINE, i.e. `.` also matches a newline (Ruby). */
  readonly multiline: boolean;
  readonly ignoreCase: boolean;
  readonly extended: boolean;
}

/**
 * What flb_regex.c hands to onig_new for a configured regex: `/pat/` and
 * `/pat/opts` (opts among m, i, x, o) lose their delimiters; anything else,
 * including `/pat/q`, is compiled as written.
 */
export function splitFluentBitRegex(raw: string): { pattern: string; flags: RegexFlags } {
  let multiline = false;
  let ignoreCase = false;
  let extended = false;
  let newEnd: number | undefined;
  if (raw.startsWith('/')) {
    const last = raw.lastIndexOf('/');
    if (last > 0) {
      let known = true;
      let any = false;
      for (const c of raw.slice(last + 1)) {
        if (c === 'm') multiline = any = true;
        else if (c === 'i') ignoreCase = any = true;
        else if (c === 'x') extended = any = true;
        else if (c !== 'o') known = false;
      }
      if (known && any) newEnd = last;
      else multiline = ignoreCase = extended = false;
    }
  }
  let start = 0;
  let end = raw.length;
  if (raw.length >= 2 && raw.startsWith('/') && raw.endsWith('/')) {
    start += 1;
    end -= 1;
  }
  if (newEnd !== undefined) {
    start += 1;
    end = newEnd;
  }
  return { pattern: raw.slice(start, end), flags: { multiline, ignoreCase, extended } };
}

/**
 * The named groups of a Ruby-syntax pattern, in capture order. Onigmo's Ruby
 * syntax without ONIG_OPTION_CAPTURE_GROUP numbers only the named groups when
 * there are any, so name i is capture index i + 1. Rejects names Fluent Bit
 * refuses and duplicate names (they would become duplicate record keys).
 */
export function namedGroups(pattern: string): string[] {
  const names: string[] = [];
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      i = skipCharClass(pattern, i);
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const kind = pattern[i + 2];
      if (kind === '#') {
        const close = pattern.indexOf(')', i);
        i = close < 0 ? n : close + 1;
        continue;
      }
      if ((kind === '<' && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') || kind === "'") {
        const closer = kind === '<' ? '>' : "'";
        const close = pattern.indexOf(closer, i + 3);
        if (close < 0) throw new RegexConfigError(`unterminated group name in ${JSON.stringify(pattern)}`);
        const name = pattern.slice(i + 3, close);
        if (!FLUENT_BIT_GROUP_NAME.test(name)) {
          throw new RegexConfigError(`group name ${JSON.stringify(name)} is not a valid Fluent Bit key (letters, digits, underscore; not starting with a digit)`);
        }
        if (names.includes(name)) throw new RegexConfigError(`duplicate group name ${JSON.stringify(name)}`);
        names.push(name);
        i = close + 1;
        continue;
      }
      if (kind === 'P') throw new RegexConfigError(`(?P<...>) is Python syntax, not Ruby: ${JSON.stringify(pattern)}`);
    }
    i += 1;
  }
  return names;
}

/** Index just past the character class opening at `open` (Onigmo: nested classes, escapes, leading `]`). */
function skipCharClass(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '^') i += 1;
  if (pattern[i] === ']') i += 1;
  let depth = 1;
  while (i < pattern.length && depth > 0) {
    const c = pattern[i];
    if (c === '\\') i += 2;
    else if (c === '[') {
      if (pattern[i + 1] === ':') {
        const close = pattern.indexOf(':]', i + 2);
        i = close < 0 ? i + 1 : close + 2;
      } else {
        depth += 1;
        i += 1;
      }
    } else {
      if (c === ']') depth -= 1;
      i += 1;
    }
  }
  return i;
}

export interface RegexStats {
  matches: number;
  totalMs: number;
  maxMs: number;
  /** Input length of the slowest match. */
  maxMsInputLength: number;
}

function scannerOptions(flags: RegexFlags): number[] {
  return [
    OPT.None,
    ...RUBY_ASCII_OPTIONS,
    ...(flags.multiline ? [OPT.Multiline] : []),
    ...(flags.ignoreCase ? [OPT.Ignorecase] : []),
    ...(flags.extended ? [OPT.Extend] : []),
  ];
}

/** A regex as Fluent Bit compiles and runs it. Call loadOniguruma() first. */
export class FluentBitRegex {
  readonly pattern: string;
  readonly flags: RegexFlags;
  readonly groupNames: readonly string[];
  readonly stats: RegexStats = { matches: 0, totalMs: 0, maxMs: 0, maxMsInputLength: 0 };
  private readonly scanner: Onig.OnigScanner;

  constructor(readonly source: string, readonly label: string, readonly maxMatchMs = DEFAULT_MAX_MATCH_MS) {
    const { pattern, flags } = splitFluentBitRegex(source);
    if (flags.extended) throw new RegexConfigError(`${label}: the /x flag is not supported by this checker`);
    this.pattern = pattern;
    this.flags = flags;
    this.groupNames = namedGroups(pattern);
    try {
      this.scanner = new onig.OnigScanner([pattern], {
        syntax: SYNTAX_RUBY as Onig.Syntax,
        options: scannerOptions(flags) as Onig.FindOption[],
      });
    } catch (err) {
      throw new RegexConfigError(`${label}: Onigmo (Ruby syntax) rejects ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
  }

  /** flb_regex_match: does the pattern match anywhere in `input`? */
  test(input: string): boolean {
    return this.search(input) !== null;
  }

  /**
   * flb_regex_do + flb_regex_parse: the named captures of the first match, or
   * null. A group that took no part in the match reads as '' (length 0), as
   * Fluent Bit's callback sees it.
   */
  exec(input: string): Record<string, string> | null {
    const m = this.search(input);
    if (!m) return null;
    if (this.groupNames.length > 0 && m.captureIndices.length !== this.groupNames.length + 1) {
      throw new RegexConfigError(`${this.label}: expected ${this.groupNames.length} captures, got ${m.captureIndices.length - 1}`);
    }
    const out: Record<string, string> = {};
    this.groupNames.forEach((name, i) => {
      const cap = m.captureIndices[i + 1];
      out[name] = cap && cap.start <= input.length && cap.end <= input.length ? input.slice(cap.start, cap.end) : '';
    });
    return out;
  }

  private search(input: string): Onig.IOnigMatch | null {
    const str = new onig.OnigString(input);
    try {
      let t0 = performance.now();
      let m = this.scanner.findNextMatchSync(str, 0);
      let ms = performance.now() - t0;
      // A cold first run (WASM tier-up, GC pause) is not a slow regex: an
      // over-limit match is repeated up to twice and the fastest run counts.
      for (let retry = 0; retry < MATCH_RETRIES && ms > this.maxMatchMs; retry += 1) {
        t0 = performance.now();
        m = this.scanner.findNextMatchSync(str, 0);
        ms = Math.min(ms, performance.now() - t0);
      }
      this.stats.matches += 1;
      this.stats.totalMs += ms;
      if (ms > this.stats.maxMs) {
        this.stats.maxMs = ms;
        this.stats.maxMsInputLength = input.length;
      }
      if (ms > this.maxMatchMs) throw new RegexTimeoutError(this.label, ms, this.maxMatchMs, input.length);
      return m;
    } finally {
      str.dispose();
    }
  }
}

export interface ProbeResult {
  /** The worker was terminated at the deadline, mid-match or before it finished. */
  readonly timedOut: boolean;
  /** Time of each input's match, in input order, as far as the worker got. */
  readonly perInputMs: readonly number[];
  /** The first input whose match exceeded maxMatchMs (the worker was stopped there). */
  readonly slow?: { readonly index: number; readonly ms: number };
}

const PROBE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const onig = require(workerData.onigMain);
onig.loadWASM(readFileSync(workerData.onigWasm)).then(() => {
  const scanner = new onig.OnigScanner([workerData.pattern], { syntax: workerData.syntax, options: workerData.options });
  parentPort.postMessage({ type: 'ready' });
  workerData.inputs.forEach((input, index) => {
    const str = new onig.OnigString(input);
    let ms = Infinity;
    for (let run = 0; run === 0 || (run <= workerData.retries && ms > workerData.maxMatchMs); run += 1) {
      const t0 = performance.now();
      scanner.findNextMatchSync(str, 0);
      ms = Math.min(ms, performance.now() - t0);
    }
    str.dispose();
    parentPort.postMessage({ type: 'match', index, ms });
  });
  parentPort.postMessage({ type: 'done' });
});
`;

type ProbeMessage = { type: 'ready' } | { type: 'done' } | { type: 'match'; index: number; ms: number };

/**
 * Runs `source` against each input in a worker thread, stopping (terminating
 * the worker, which interrupts WASM) at the first match slower than
 * `maxMatchMs` (fastest of up to three runs) or when `deadlineMs` has passed
 * since the regex compiled.
 */
export function probeRegexInWorker(
  source: string,
  inputs: readonly string[],
  opts: { readonly maxMatchMs?: number; readonly deadlineMs: number },
): Promise<ProbeResult> {
  const maxMatchMs = opts.maxMatchMs ?? DEFAULT_MAX_MATCH_MS;
  const { pattern, flags } = splitFluentBitRegex(source);
  namedGroups(pattern);
  const worker = new Worker(PROBE_WORKER, {
    eval: true,
    workerData: { onigMain: ONIG_MAIN, onigWasm: ONIG_WASM, pattern, syntax: SYNTAX_RUBY, options: scannerOptions(flags), inputs, maxMatchMs, retries: MATCH_RETRIES },
  });
  const perInputMs: number[] = [];
  return new Promise<ProbeResult>((resolvePromise, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (result: ProbeResult | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const settledResult = result instanceof Error ? result : { ...result, perInputMs: [...result.perInputMs] };
      void worker.terminate().then(() => (settledResult instanceof Error ? reject(settledResult) : resolvePromise(settledResult)));
    };
    // The deadline starts once the worker has loaded WASM and compiled, so a
    // slow start on a loaded CI machine is not mistaken for a slow regex.
    const startupTimer = setTimeout(() => finish(new Error('regex probe worker did not start within 10 s')), 10_000);
    worker.on('message', (msg: ProbeMessage) => {
      // Messages already queued when the worker is being terminated are late.
      if (settled) return;
      if (msg.type === 'ready') {
        clearTimeout(startupTimer);
        timer = setTimeout(() => finish({ timedOut: true, perInputMs }), opts.deadlineMs);
      } else if (msg.type === 'match') {
        perInputMs.push(msg.ms);
        if (msg.ms > maxMatchMs) finish({ timedOut: false, perInputMs, slow: { index: msg.index, ms: msg.ms } });
      } else {
        finish({ timedOut: false, perInputMs });
      }
    });
    worker.on('error', (err) => {
      clearTimeout(startupTimer);
      finish(err);
    });
  });
}

// ---------------------------------------------------------------------------
// Configuration files

/** A plugin section (`- name: tail` ...) with its keys lower-cased (Fluent Bit keys are case-insensitive). */
export type PluginSection = Readonly<Record<string, unknown>>;

export interface ParserDefinition {
  readonly name: string;
  readonly format: string;
  readonly regex?: string;
  readonly timeKey?: string;
  readonly timeFormat?: string;
  readonly timeKeep: boolean;
  readonly skipEmptyValues: boolean;
  readonly raw: PluginSection;
}

export interface MultilineRuleDefinition {
  readonly fromStates: readonly string[];
  readonly regex: string;
  readonly nextState: string;
}

export interface MultilineParserDefinition {
  readonly name: string;
  readonly type: string;
  readonly keyContent?: string;
  readonly keyGroup?: string;
  readonly flushTimeoutMs?: number;
  readonly rules: readonly MultilineRuleDefinition[];
}

export interface FluentBitConfig {
  readonly dir: string;
  readonly service: PluginSection;
  readonly parsers: readonly ParserDefinition[];
  readonly multilineParsers: readonly MultilineParserDefinition[];
  readonly inputs: readonly PluginSection[];
  readonly filters: readonly PluginSection[];
  readonly outputs: readonly PluginSection[];
}

export const DEFAULT_CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../fluent-bit');

function lowerKeys(section: unknown, where: string): PluginSection {
  if (section === null || typeof section !== 'object' || Array.isArray(section)) {
    throw new Error(`${where}: expected a map, got ${JSON.stringify(section)}`);
  }
  return Object.fromEntries(Object.entries(section).map(([k, v]) => [k.toLowerCase(), v]));
}

function sections(value: unknown, where: string): PluginSection[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list`);
  return value.map((s, i) => lowerKeys(s, `${where}[${i}]`));
}

/** A scalar property as Fluent Bit reads it (libyaml hands every scalar over as a string). */
export function prop(section: PluginSection, key: string): string | undefined {
  const v = section[key.toLowerCase()];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') throw new Error(`property ${key} is not a scalar`);
  return String(v);
}

/** A property that may be repeated (a YAML list or a single scalar). */
export function props(section: PluginSection, key: string): string[] {
  const v = section[key.toLowerCase()];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x: unknown) => String(x));
}

/** flb_utils_bool. */
export function flbBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(v)) return true;
  if (['off', 'false', 'no', '0'].includes(v)) return false;
  throw new Error(`not a Fluent Bit boolean: ${value}`);
}

/** A Fluent Bit size (`250KiB`, `64KB`, `2M`): binary multiples, as flb_utils_size_to_binary_bytes. */
export function flbSize(value: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMG]?)(?:I?B)?$/i.exec(value.trim());
  if (!m) throw new Error(`not a Fluent Bit size: ${value}`);
  const unit = (m[2] ?? '').toUpperCase();
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * mult);
}

function readYaml(path: string): Record<string, unknown> {
  const doc: unknown = parseYaml(readFileSync(path, 'utf8'));
  return lowerKeys(doc, path) as Record<string, unknown>;
}

/** Loads fluent-bit.yaml and the parsers file it references. */
export function loadFluentBitConfig(dir = DEFAULT_CONFIG_DIR): FluentBitConfig {
  const mainPath = join(dir, 'fluent-bit.yaml');
  const main = readYaml(mainPath);
  const service = lowerKeys(main.service ?? {}, `${mainPath}: service`);
  const pipeline = lowerKeys(main.pipeline ?? {}, `${mainPath}: pipeline`);
  const parserDocs: Record<string, unknown>[] = [main];
  const parsersFile = prop(service, 'parsers_file');
  if (parsersFile !== undefined) parserDocs.push(readYaml(resolve(dir, parsersFile)));

  const parsers = parserDocs.flatMap((doc) => sections(doc.parsers, 'parsers')).map((p): ParserDefinition => {
    const name = prop(p, 'name');
    const format = prop(p, 'format');
    if (!name || !format) throw new Error(`parser without name/format: ${JSON.stringify(p)}`);
    return {
      name,
      format,
      regex: prop(p, 'regex'),
      timeKey: prop(p, 'time_key'),
      timeFormat: prop(p, 'time_format'),
      timeKeep: flbBool(prop(p, 'time_keep'), false),
      skipEmptyValues: flbBool(prop(p, 'skip_empty_values'), true),
      raw: p,
    };
  });
  const multilineParsers = parserDocs.flatMap((doc) => sections(doc.multiline_parsers, 'multiline_parsers')).map((p): MultilineParserDefinition => {
    const name = prop(p, 'name');
    const type = prop(p, 'type');
    if (!name || !type) throw new Error(`multiline parser without name/type: ${JSON.stringify(p)}`);
    const flush = prop(p, 'flush_timeout');
    return {
      name,
      type,
      keyContent: prop(p, 'key_content'),
      keyGroup: prop(p, 'key_group'),
      flushTimeoutMs: flush === undefined ? undefined : Number(flush),
      rules: sections(p.rules, `multiline parser ${name} rules`).map((r) => {
        const state = prop(r, 'state');
        const regex = prop(r, 'regex');
        const nextState = prop(r, 'next_state');
        if (!state || regex === undefined || !nextState) throw new Error(`incomplete rule in ${name}: ${JSON.stringify(r)}`);
        return { fromStates: state.split(',').map((s) => s.trim()), regex, nextState };
      }),
    };
  });
  return {
    dir,
    service,
    parsers,
    multilineParsers,
    inputs: sections(pipeline.inputs, 'pipeline.inputs'),
    filters: sections(pipeline.filters, 'pipeline.filters'),
    outputs: sections(pipeline.outputs, 'pipeline.outputs'),
  };
}

// ---------------------------------------------------------------------------
// Pipeline stages

/** A record body (msgpack map), keys in order. */
export type FlbRecord = Record<string, unknown>;

/** The built-in `cri` multiline parser's regex (src/multiline/flb_ml_parser_cri.c). */
export const CRI_BUILTIN_REGEX = '^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$';

/** The kubernetes filter's tag regex, applied after kube_tag_prefix is cut off (plugins/filter_kubernetes/kube_regex.h). */
export const KUBE_TAG_TO_REGEX =
  '(?<pod_name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)_(?<namespace_name>[^_]+)_(?<container_name>.+)-(?<docker_id>[a-z0-9]{64})\\.log$';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A multiline group buffer with Fluent Bit's byte limit (flb_ml_group_cat). */
class GroupBuffer {
  text = '';
  bytes = 0;
  truncated = false;
  constructor(private readonly limitBytes: number) {}

  /** Appends within the limit; returns true if the data was cut. */
  cat(data: string): boolean {
    const len = utf8.encode(data).length;
    if (this.limitBytes > 0) {
      if (this.bytes >= this.limitBytes) {
        this.truncated = true;
        return true;
      }
      const avail = this.limitBytes - this.bytes;
      if (len > avail) {
        this.text += utf8Decoder.decode(utf8.encode(data).slice(0, avail));
        this.bytes += avail;
        this.truncated = true;
        return true;
      }
    }
    this.text += data;
    this.bytes += len;
    return false;
  }

  /** flb_sds_cat_safe: appends without the limit (the "\n" separators). */
  catUnlimited(data: string): void {
    this.text += data;
    this.bytes += utf8.encode(data).length;
  }

  reset(): void {
    this.text = '';
    this.bytes = 0;
    this.truncated = false;
  }
}

/**
 * in_tail with `multiline.parser: cri` for ONE file: CRI regex, then P chunks
 * of the same stream concatenated until an F chunk. A line the CRI regex does
 * not match flushes pending chunks and becomes a record `{log: line}`.
 */
export class CriTailFile {
  private readonly groups = new Map<string, { first: FlbRecord; buf: GroupBuffer }>();

  constructor(private readonly cri: FluentBitRegex, private readonly limitBytes = 0) {}

  push(line: string): FlbRecord[] {
    const m = this.cri.exec(line);
    if (!m) return [...this.flush(), { log: line }];
    const stream = m.stream ?? '';
    let group = this.groups.get(stream);
    if (!group) {
      group = { first: { ...m }, buf: new GroupBuffer(this.limitBytes) };
      this.groups.set(stream, group);
    }
    group.buf.cat(m.log ?? '');
    if (m._p !== 'F') return [];
    this.groups.delete(stream);
    return [{ ...group.first, log: group.buf.text }];
  }

  /** Flush timeout / end of file: pending partial lines are emitted as they are. */
  flush(): FlbRecord[] {
    const out = [...this.groups.values()].map((g) => ({ ...g.first, log: g.buf.text }));
    this.groups.clear();
    return out;
  }
}

interface CompiledRule {
  readonly index: number;
  readonly start: boolean;
  readonly fromStates: readonly string[];
  readonly nextState: string;
  readonly regex: FluentBitRegex;
  toStateMap: CompiledRule[];
}

/** A regex multiline parser compiled from its configuration. */
export class MultilineParser {
  readonly rules: readonly CompiledRule[];

  constructor(readonly definition: MultilineParserDefinition, maxMatchMs = DEFAULT_MAX_MATCH_MS) {
    if (definition.type !== 'regex') throw new Error(`multiline parser ${definition.name}: only type regex is modelled`);
    const rules: CompiledRule[] = definition.rules.map((r, index) => ({
      index,
      start: r.fromStates.includes('start_state'),
      fromStates: r.fromStates,
      nextState: r.nextState,
      regex: new FluentBitRegex(r.regex, `${definition.name} rule ${index} (${r.fromStates.join(',')})`, maxMatchMs),
      toStateMap: [],
    }));
    for (const rule of rules) rule.toStateMap = rules.filter((r) => r.fromStates.includes(rule.nextState));
    if (!rules.some((r) => r.start)) throw new Error(`multiline parser ${definition.name} has no start_state rule`);
    this.rules = rules;
  }
}

interface StreamGroup {
  readonly buf: GroupBuffer;
  context: FlbRecord | null;
  ruleToState: CompiledRule | null;
}

/**
 * The multiline filter (mode parser) for ONE stream, i.e. one tag. Records go
 * in one by one; joined records come out when a new event starts, when a line
 * matches no rule, or on flush() (the flush timer / shutdown).
 */
export class MultilineStream {
  private readonly groups = new Map<string, StreamGroup>();
  private readonly keyContent: string;

  constructor(private readonly parser: MultilineParser, keyContent?: string, private readonly limitBytes = 0) {
    const key = keyContent ?? parser.definition.keyContent;
    if (!key) throw new Error(`multiline parser ${parser.definition.name}: no key_content`);
    this.keyContent = key;
  }

  push(record: FlbRecord): FlbRecord[] {
    const out: FlbRecord[] = [];
    const content = record[this.keyContent];
    if (typeof content === 'string') {
      const keyGroup = this.parser.definition.keyGroup;
      const groupValue = keyGroup !== undefined && typeof record[keyGroup] === 'string' ? (record[keyGroup] as string) : '';
      const group = this.group(groupValue);
      const ret = this.ruleProcess(group, content, record, out);
      if (ret !== 'unmatched') {
        if (ret !== 'truncated' && group.context === null) group.context = record;
        return out;
      }
    }
    // Not processed: a line that matches no rule breaks every pending event
    // of this stream, then goes out on its own, unchanged.
    out.push(...this.flush());
    out.push(record);
    return out;
  }

  /** Flushes every group of the stream (the flush timer does this every flush_ms). */
  flush(): FlbRecord[] {
    const out: FlbRecord[] = [];
    for (const group of this.groups.values()) this.flushGroup(group, out);
    return out;
  }

  private group(name: string): StreamGroup {
    let g = this.groups.get(name);
    if (!g) {
      g = { buf: new GroupBuffer(this.limitBytes), context: null, ruleToState: null };
      this.groups.set(name, g);
    }
    return g;
  }

  /** flb_ml_rule_process. */
  private ruleProcess(group: StreamGroup, line: string, record: FlbRecord, out: FlbRecord[]): 'ok' | 'truncated' | 'unmatched' {
    let rule: CompiledRule | null = null;
    if (group.ruleToState) {
      for (const st of group.ruleToState.toStateMap) {
        if (st.start) continue;
        if (!st.regex.test(line)) continue;
        if (group.buf.text.length >= 1 && !group.buf.text.endsWith('\n')) group.buf.catUnlimited('\n');
        if (line.length === 0) group.buf.catUnlimited('\n');
        else if (group.buf.cat(line)) {
          this.flushGroup(group, out);
          group.ruleToState = null;
          return 'truncated';
        }
        rule = st;
        break;
      }
    }
    if (!rule) {
      rule = this.parser.rules.find((r) => r.start && r.regex.test(line)) ?? null;
      if (rule) {
        if (group.buf.text.length > 0) this.flushGroup(group, out);
        group.ruleToState = rule;
        if (group.buf.cat(line)) return 'truncated';
        group.context = record;
      }
    }
    if (!rule) return 'unmatched';
    group.ruleToState = rule;
    if (group.buf.text.length > 0 && rule.toStateMap.some((r) => r.start)) this.flushGroup(group, out);
    return 'ok';
  }

  /** flb_ml_flush_stream_group. */
  private flushGroup(group: StreamGroup, out: FlbRecord[]): void {
    if (group.context) {
      if (group.buf.text.length > 0) {
        const rec: FlbRecord = {};
        for (const [k, v] of Object.entries(group.context)) rec[k] = k === this.keyContent ? group.buf.text : v;
        out.push(rec);
      } else {
        out.push(group.context);
      }
    } else if (group.buf.text.length > 0) {
      out.push({ [this.keyContent]: group.buf.text });
    }
    group.context = null;
    group.buf.reset();
  }
}

/** A compiled regex parser (format regex) with its time handling. */
export class RegexParser {
  readonly regex: FluentBitRegex;

  constructor(readonly definition: ParserDefinition, maxMatchMs = DEFAULT_MAX_MATCH_MS) {
    if (definition.format !== 'regex' || definition.regex === undefined) throw new Error(`parser ${definition.name} is not a regex parser`);
    this.regex = new FluentBitRegex(definition.regex, `parser ${definition.name}`, maxMatchMs);
    if (definition.timeKey !== undefined && !this.regex.groupNames.includes(definition.timeKey)) {
      throw new Error(`parser ${definition.name}: time_key ${definition.timeKey} is not a group of its regex`);
    }
  }

  /** flb_parser_do: the parsed map and the event time (epoch ms), or null. */
  parse(text: string): { record: FlbRecord; timeMs?: number } | null {
    const caps = this.regex.exec(text);
    if (!caps) return null;
    const record: FlbRecord = {};
    let timeMs: number | undefined;
    for (const [name, value] of Object.entries(caps)) {
      if (this.definition.skipEmptyValues && value.length === 0) continue;
      if (name === this.definition.timeKey && this.definition.timeFormat !== undefined) {
        timeMs = strptimeMs(value, this.definition.timeFormat);
        if (!this.definition.timeKeep) continue;
      }
      record[name] = value;
    }
    return { record, ...(timeMs === undefined ? {} : { timeMs }) };
  }
}

/**
 * The subset of strptime Fluent Bit's time parsers use here: %Y %m %d %H %M %S,
 * %L (fraction of a second) and literals; returns epoch ms (UTC, no %z).
 */
export function strptimeMs(value: string, format: string): number {
  const fields: string[] = [];
  let re = '';
  for (let i = 0; i < format.length; i += 1) {
    const c = format[i] ?? '';
    if (c !== '%') {
      re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    const d = format[i + 1] ?? '';
    i += 1;
    if (d === 'Y') re += '([0-9]{4})';
    else if ('mdHMS'.includes(d)) re += '([0-9]{2})';
    else if (d === 'L') re += '([0-9]+)';
    else if (d === '%') {
      re += '%';
      continue;
    } else throw new Error(`strptime: %${d} is not modelled`);
    fields.push(d);
  }
  const m = new RegExp(`^${re}$`).exec(value);
  if (!m) throw new Error(`time ${JSON.stringify(value)} does not match time_format ${JSON.stringify(format)}`);
  const get = (d: string): string => m[fields.indexOf(d) + 1] ?? '0';
  const num = (d: string): number => (fields.includes(d) ? Number(get(d)) : 0);
  const fraction = fields.includes('L') ? Number(`0.${get('L')}`) : 0;
  return Date.UTC(num('Y'), (fields.includes('m') ? num('m') : 1) - 1, fields.includes('d') ? num('d') : 1, num('H'), num('M'), num('S')) + Math.round(fraction * 1000);
}

/** filter_parser: Key_Name, Reserve_Data, Preserve_Key. Returns the new record (unchanged if no parser matched). */
export function applyParserFilter(
  record: FlbRecord,
  opts: { readonly keyName: string; readonly parsers: readonly RegexParser[]; readonly reserveData: boolean; readonly preserveKey: boolean },
): { record: FlbRecord; parsed: boolean; timeMs?: number } {
  const value = record[opts.keyName];
  if (typeof value !== 'string') return { record, parsed: false };
  for (const parser of opts.parsers) {
    const res = parser.parse(value);
    if (!res) continue;
    const out: FlbRecord = { ...res.record };
    if (opts.reserveData) {
      for (const [k, v] of Object.entries(record)) {
        if (k === opts.keyName && !opts.preserveKey) continue;
        if (k in out) throw new Error(`parser ${parser.definition.name}: key ${k} is both parsed and reserved, the record would carry it twice`);
        out[k] = v;
      }
    } else if (opts.preserveKey) {
      out[opts.keyName] = value;
    }
    return { record: out, parsed: true, ...(res.timeMs === undefined ? {} : { timeMs: res.timeMs }) };
  }
  return { record, parsed: false };
}

/** filter_modify rules, in the order they are configured. Conditions are not modelled. */
export function applyModifyFilter(record: FlbRecord, section: PluginSection): FlbRecord {
  let out: FlbRecord = { ...record };
  for (const [key, raw] of Object.entries(section)) {
    if (['name', 'match', 'match_regex', 'alias', 'log_level'].includes(key)) continue;
    const values = (Array.isArray(raw) ? raw : [raw]).map((x: unknown) => String(x));
    for (const value of values) {
      const [a = '', b = ''] = value.trim().split(/\s+/, 2);
      switch (key) {
        case 'remove':
          delete out[a];
          break;
        case 'rename':
        case 'hard_rename':
          if (a in out && (key === 'hard_rename' || !(b in out))) {
            const renamed: FlbRecord = {};
            for (const [k, v] of Object.entries(out)) {
              if (k === b) continue;
              renamed[k === a ? b : k] = v;
            }
            out = renamed;
          }
          break;
        case 'set':
          out[a] = b;
          break;
        case 'add':
          if (!(a in out)) out[a] = b;
          break;
        default:
          throw new Error(`modify rule ${key} is not modelled`);
      }
    }
  }
  return out;
}

/** fnmatch(pattern, path, 0): `*` and `?` also match `/` (in_tail exclude_path). */
export function fnmatch(pattern: string, path: string): boolean {
  let re = '';
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(path);
}

/** glob(3) for in_tail path: `*` does not cross `/`. */
export function globMatch(pattern: string, path: string): boolean {
  let re = '';
  for (const c of pattern) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(path);
}

/** in_tail tag expansion: `kube.*` + /var/log/containers/x.log -> kube.var.log.containers.x.log. */
export function tailTag(tagPattern: string, path: string): string {
  const expanded = path.replace(/^\//, '').replace(/\//g, '.');
  return tagPattern.includes('*') ? tagPattern.replace('*', expanded) : tagPattern;
}

/**
 * containerd's CRI log line(s) for one application line: `<RFC3339Nano>
 * <stream> F <text>`, or P chunks then an F chunk when `splitAt` (character
 * offsets) is given. RFC3339Nano drops trailing zeros of the fraction.
 */
export function criLines(timeNs: bigint, stream: 'stdout' | 'stderr', text: string, splitAt: readonly number[] = []): string[] {
  const seconds = timeNs / 1_000_000_000n;
  const nanos = timeNs % 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const fraction = nanos === 0n ? '' : `.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}`;
  const time = `${base}${fraction}Z`;
  const cuts = [...splitAt].filter((c) => c > 0 && c < text.length).sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut === from) continue;
    chunks.push(text.slice(from, cut));
    from = cut;
  }
  chunks.push(text.slice(from));
  return chunks.map((chunk, i) => `${time} ${stream} ${i === chunks.length - 1 ? 'F' : 'P'} ${chunk}`);
}
