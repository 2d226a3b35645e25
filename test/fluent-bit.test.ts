/**
 * Checks the SHIPPED Fluent Bit configuration (fluent-bit/*.yaml) offline:
 * every regex compiles as Fluent Bit's Onigmo would (vscode-oniguruma, Ruby
 * syntax), no regex is slow on adversarial input (ReDoS), and simulated
 * application output, written as containerd writes it, comes out of the
 * configured pipeline as exactly the records the simulator says Fluent Bit
 * ships (src/schema/log-record.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import typia from 'typia';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOG_CONTENT_BYTES, type LogRecord } from '../src/schema/log-record.js';
import { LogSimulator, steppingClock, type ValidEvent } from '../src/simulator/generator.js';
import { ERROR_SCENARIOS } from '../src/simulator/scenarios.js';
import { SERVICES } from '../src/simulator/services.js';
import {
  CRI_BUILTIN_REGEX,
  FluentBitRegex,
  KUBE_TAG_TO_REGEX,
  MultilineParser,
  MultilineStream,
  RegexConfigError,
  RegexParser,
  RegexTimeoutError,
  flbBool,
  flbSize,
  loadFluentBitConfig,
  loadOniguruma,
  namedGroups,
  probeRegexInWorker,
  prop,
  props,
  splitFluentBitRegex,
  strptimeMs,
  type FluentBitConfig,
  type MultilineParserDefinition,
  type ParserDefinition,
  type PluginSection,
} from './support/fluent-bit-engine.js';
import { ConfiguredPipeline, containerLogPath, writeContainerLogs, type PodLookup, type ShippedRecord } from './support/fluent-bit-pipeline.js';

const HEADER_PARSER = 'cali_header';
const MULTILINE_PARSER = 'cali_multiline';
/** containerd's default max_container_log_line_size: longer lines become P chunks. */
const CONTAINERD_MAX_LINE = 16 * 1024;

let config: FluentBitConfig;

beforeAll(async () => {
  await loadOniguruma();
  config = loadFluentBitConfig();
});

function only(sections: readonly PluginSection[], name: string): PluginSection {
  const found = sections.filter((s) => prop(s, 'name') === name);
  expect(found, `exactly one ${name} section`).toHaveLength(1);
  return found[0]!;
}

function parserDef(cfg: FluentBitConfig, name: string): ParserDefinition {
  const def = cfg.parsers.find((p) => p.name === name);
  if (!def) throw new Error(`parser ${name} not defined`);
  return def;
}

function multilineDef(cfg: FluentBitConfig, name: string): MultilineParserDefinition {
  const def = cfg.multilineParsers.find((p) => p.name === name);
  if (!def) throw new Error(`multiline parser ${name} not defined`);
  return def;
}

/**
 * Every regex the pipeline runs, with where it comes from. `tag` regexes only
 * ever see a tag (a file name: at most 255 bytes), the others see log lines
 * (up to buffer_max_size) or joined events (up to multiline_buffer_limit).
 */
function allRegexes(cfg: FluentBitConfig): { label: string; source: string; input: 'text' | 'tag' }[] {
  return [
    { label: 'built-in cri parser', source: CRI_BUILTIN_REGEX, input: 'text' },
    { label: 'kubernetes tag regex', source: KUBE_TAG_TO_REGEX, input: 'tag' },
    ...cfg.parsers.filter((p) => p.regex !== undefined).map((p) => ({ label: `parser ${p.name}`, source: p.regex!, input: 'text' as const })),
    ...cfg.multilineParsers.flatMap((p) => p.rules.map((r, i) => ({ label: `${p.name} rule ${i} (${r.fromStates.join(',')})`, source: r.regex, input: 'text' as const }))),
  ];
}

function startRule(cfg: FluentBitConfig): FluentBitRegex {
  const rule = multilineDef(cfg, MULTILINE_PARSER).rules.find((r) => r.fromStates.includes('start_state'));
  if (!rule) throw new Error('no start_state rule');
  return new FluentBitRegex(rule.regex, 'start_state');
}

function contRules(cfg: FluentBitConfig): FluentBitRegex[] {
  return multilineDef(cfg, MULTILINE_PARSER)
    .rules.filter((r) => !r.fromStates.includes('start_state'))
    .map((r, i) => new FluentBitRegex(r.regex, `cont rule ${i}`));
}

// --- the configuration's shape ----------------------------------------------

describe('fluent-bit.yaml', () => {
  it('tails containerd logs with the built-in cri parser, an offsets DB and filesystem buffering', () => {
    const tail = only(config.inputs, 'tail');
    expect(config.inputs).toHaveLength(1);
    expect(prop(tail, 'path')).toBe('/var/log/containers/*.log');
    expect(prop(tail, 'tag')).toBe('kube.*');
    expect(prop(tail, 'multiline.parser')).toBe('cri');
    expect(prop(tail, 'db')).toMatch(/^\/var\/.+\.db$/);
    expect(prop(tail, 'storage.type')).toBe('filesystem');
    expect(prop(config.service, 'storage.path')).toMatch(/^\/var\//);
    expect(flbSize(prop(tail, 'mem_buf_limit') ?? '')).toBeGreaterThan(0);
    expect(Number(prop(tail, 'refresh_interval'))).toBeGreaterThan(0);
    expect(flbBool(prop(tail, 'skip_long_lines'), false)).toBe(false);
    // With skip_long_lines off a line longer than buffer_max_size stops the
    // file being followed: containerd's 16 KiB chunks (+ CRI prefix) must fit.
    expect(flbSize(prop(tail, 'buffer_max_size') ?? '32k')).toBeGreaterThan(CONTAINERD_MAX_LINE + 64);
  });

  it("excludes CALI's, Fluent Bit's and kube-system logs, and no application pod", () => {
    const pipeline = new ConfiguredPipeline(config, () => undefined);
    const id = 'a'.repeat(64);
    const own = [
      `/var/log/containers/cali-7c9d5f8b6d-x2x4z_cali_cali-${id}.log`,
      `/var/log/containers/fluent-bit-x2x4z_logging_fluent-bit-${id}.log`,
      `/var/log/containers/coredns-5d78c9869d-8xk2q_kube-system_coredns-${id}.log`,
    ];
    for (const path of own) expect(pipeline.reads(path), path).toBe(false);
    const apps = SERVICES.map((s) => containerLogPath({ namespace_name: s.namespace, pod_name: `${s.name}-7c9d5f8b6d-x2x4z`, container_name: s.name }, id));
    for (const path of apps) expect(pipeline.reads(path), path).toBe(true);
    expect(pipeline.reads('/var/log/pods/shop_x/c/0.log')).toBe(false);
  });

  it('runs multiline -> kubernetes -> parser -> modify on the tail tag', () => {
    expect(config.filters.map((f) => prop(f, 'name'))).toEqual(['multiline', 'kubernetes', 'parser', 'modify']);
    for (const f of [...config.filters, ...config.outputs]) expect(prop(f, 'match'), prop(f, 'name')).toBe('kube.*');

    const ml = only(config.filters, 'multiline');
    expect(props(ml, 'multiline.parser')).toEqual([MULTILINE_PARSER]);
    expect(prop(ml, 'multiline.key_content')).toBe('log');
    expect(flbBool(prop(ml, 'buffer'), true)).toBe(true);
    expect(prop(ml, 'emitter_storage.type')).toBe('filesystem');
    expect(Number(prop(ml, 'flush_ms') ?? '2000')).toBeGreaterThanOrEqual(500); // flb_ml_auto_flush_init refuses less
    const mlp = multilineDef(config, MULTILINE_PARSER);
    expect(mlp.type).toBe('regex');
    expect(mlp.flushTimeoutMs).toBeGreaterThanOrEqual(500);
    expect(mlp.keyGroup).toBe('stream');

    const k8s = only(config.filters, 'kubernetes');
    expect(flbBool(prop(k8s, 'merge_log'), false)).toBe(false);
    expect(flbBool(prop(k8s, 'keep_log'), true)).toBe(true);
    expect(flbBool(prop(k8s, 'k8s-logging.parser'), false)).toBe(true);
    expect(flbBool(prop(k8s, 'k8s-logging.exclude'), false)).toBe(true);
    expect(flbBool(prop(k8s, 'labels'), true)).toBe(true);
    expect(flbBool(prop(k8s, 'annotations'), true)).toBe(false);
    expect(prop(k8s, 'use_kubelet')).toBeDefined();

    const parser = only(config.filters, 'parser');
    expect(prop(parser, 'key_name')).toBe('log');
    expect(props(parser, 'parser')).toEqual([HEADER_PARSER]);
    expect(flbBool(prop(parser, 'reserve_data'), false)).toBe(true);
    expect(flbBool(prop(parser, 'preserve_key'), false)).toBe(true);
    const header = parserDef(config, HEADER_PARSER);
    expect(header).toMatchObject({ format: 'regex', timeKey: 'timestamp', timeFormat: '%Y-%m-%dT%H:%M:%S.%LZ', timeKeep: true });
  });

  it('ships unchanged records to kinesis_streams (random partition key) and the Firehose backup', () => {
    const streams = only(config.outputs, 'kinesis_streams');
    const firehose = only(config.outputs, 'kinesis_firehose');
    expect(config.outputs).toHaveLength(2);
    expect(prop(streams, 'stream')).toBe('${CALI_STREAM_NAME}');
    expect(prop(firehose, 'delivery_stream')).toBe('${CALI_FIREHOSE_STREAM}');
    for (const out of [streams, firehose]) {
      expect(prop(out, 'region')).toBe('${AWS_REGION}');
      expect(Number(prop(out, 'retry_limit'))).toBeGreaterThan(0);
      // The record must reach CALI as it is: no key selection, no extra time key.
      for (const key of ['log_key', 'time_key', 'partition_key', 'simple_aggregation', 'compression']) expect(prop(out, key), key).toBeUndefined();
    }
  });

  it('caps a joined event below the record log_content limit', () => {
    const limit = flbSize(prop(config.service, 'multiline_buffer_limit') ?? '2MB');
    // The limit counts appended lines; the "\n" separator and a blank line's
    // "\n" are appended without it.
    expect(limit + 2).toBeLessThanOrEqual(MAX_LOG_CONTENT_BYTES);
  });

  it('compiles every regex as Onigmo (Ruby syntax) with valid group names', () => {
    const compiled = allRegexes(config).map(({ label, source }) => new FluentBitRegex(source, label));
    expect(compiled.length).toBeGreaterThanOrEqual(5);
    for (const re of compiled) {
      // A pattern still starting with "/" lost no delimiters: a typo such as /.../q.
      expect(re.pattern.startsWith('/'), `${re.label}: ${re.source}`).toBe(false);
      expect(re.flags.multiline, `${re.label} must not use /m`).toBe(false);
    }
    const header = compiled.find((r) => r.label === `parser ${HEADER_PARSER}`);
    expect(header?.groupNames).toEqual(['timestamp', 'level', 'service', 'thread', 'logger', 'trace_id', 'span_id', 'request_id', 'message']);
    // Reserve_Data keeps the CRI keys next to the parsed ones: no name may clash.
    const cri = new FluentBitRegex(CRI_BUILTIN_REGEX, 'cri');
    expect(header?.groupNames.filter((n) => cri.groupNames.includes(n))).toEqual([]);
  });
});

// --- the regex checker itself -------------------------------------------------

describe('regex checker', () => {
  it('reads group names in capture order and rejects names Fluent Bit refuses', () => {
    expect(namedGroups('(?<a>x)(?:y)(z)(?<b_2>w)(?=v)(?<!u)(?<C>t)')).toEqual(['a', 'b_2', 'C']);
    expect(namedGroups("(?'q'x)")).toEqual(['q']);
    // Not groups: escaped parentheses, parentheses in classes, comments.
    expect(namedGroups('\\(?<no>x\\)[(?<no2>)](?#(?<no3>))(?<yes>y)')).toEqual(['yes']);
    expect(namedGroups('[[:alpha:]\\]](?<k>v)')).toEqual(['k']);
    for (const bad of ['(?<a-b>x)', '(?<a.b>x)', '(?<1a>x)', '(?<é>x)', '(?<>x)', '(?<a b>x)']) {
      expect(() => namedGroups(bad), bad).toThrow(RegexConfigError);
    }
    expect(() => namedGroups('(?<a>x)(?<a>y)')).toThrow(/duplicate/);
    expect(() => namedGroups('(?P<a>x)')).toThrow(/Python/);
    // vscode-oniguruma itself accepts `(?<a-b>...)`: the name check is ours.
    expect(() => new FluentBitRegex('(?<a-b>x)', 'dash')).toThrow(RegexConfigError);
  });

  it('maps named groups to capture indices as Onigmo does (plain groups do not capture)', () => {
    const re = new FluentBitRegex('(a)(?<x>b)(c)(?<y>d)?', 'mixed');
    expect(re.exec('zabc')).toEqual({ x: 'b', y: '' });
    expect(re.exec('abcd')).toEqual({ x: 'b', y: 'd' });
    // Offsets are UTF-16 even after multi-byte UTF-8 text.
    expect(new FluentBitRegex('(?<a>é+)(?<b>⇢)', 'utf8').exec('xéé⇢')).toEqual({ a: 'éé', b: '⇢' });
  });

  it('strips /pat/ and /pat/opts delimiters like flb_regex.c', () => {
    expect(splitFluentBitRegex('/^a.b/')).toEqual({ pattern: '^a.b', flags: { multiline: false, ignoreCase: false, extended: false } });
    expect(splitFluentBitRegex('/^a.b/m').flags.multiline).toBe(true);
    expect(splitFluentBitRegex('/^a.b/m').pattern).toBe('^a.b');
    expect(splitFluentBitRegex('/^a.b/q').pattern).toBe('/^a.b/q');
    expect(splitFluentBitRegex('^a/b$').pattern).toBe('^a/b$');
    // Ruby semantics: ^ and $ are line anchors, \A is the string start, . stops at \n without /m.
    expect(new FluentBitRegex('^b', 'caret').test('a\nb')).toBe(true);
    expect(new FluentBitRegex('\\Ab', 'A').test('a\nb')).toBe(false);
    expect(new FluentBitRegex('(?<m>a.*)$', 'dot').exec('ax\ny')).toEqual({ m: 'ax' });
    expect(new FluentBitRegex('/(?<m>a.*)$/m', 'dotall').exec('ax\ny')).toEqual({ m: 'ax\ny' });
    // Ruby's \d is ASCII only.
    expect(new FluentBitRegex('\\A\\d+\\z', 'digits').test('٣')).toBe(false);
  });

  it('fails a match slower than the per-match limit (catastrophic backtracking)', () => {
    // (a+)+$ on "aaa...b" backtracks exponentially; Oniguruma gives up after
    // its retry limit (~10M steps), which no machine does in 5 ms.
    const evil = new FluentBitRegex('^(a+)+$', 'evil', 5);
    const t0 = performance.now();
    expect(() => evil.test(`${'a'.repeat(40)}b`)).toThrow(RegexTimeoutError);
    expect(performance.now() - t0).toBeLessThan(5_000);
    // The same length on a linear pattern is far below the limit.
    const linear = new FluentBitRegex('^a+$', 'linear', 5);
    expect(linear.test(`${'a'.repeat(40)}b`)).toBe(false);
  });

  it('bounds a probe in a worker thread: the slow match stops it, and a hard deadline terminates it', async () => {
    const slow = await probeRegexInWorker('^(a+)+$', ['ab', `${'a'.repeat(40)}b`, 'never reached'], { maxMatchMs: 5, deadlineMs: 10_000 });
    expect(slow.timedOut).toBe(false);
    expect(slow.slow?.index).toBe(1);
    expect(slow.perInputMs).toHaveLength(2);

    const t0 = performance.now();
    const stuck = await probeRegexInWorker('(a+)+$', Array.from({ length: 200 }, () => `${'a'.repeat(40)}b`), { maxMatchMs: Infinity, deadlineMs: 300 });
    expect(stuck.timedOut).toBe(true);
    expect(stuck.perInputMs.length).toBeLessThan(200);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});

// --- header and multiline rules ------------------------------------------------

const SAMPLE_HEADER =
  '2026-11-29T14:30:57.123Z ERROR [order-service] [http-nio-8080-exec-7] com.acme.orders.service.OrderService trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7 req=7c1e0f4a-9c1b-4d3e-8f20-1b2c3d4e5f60 - Order validation failed';

/** Lines that belong to the event above them: never a header. */
const NOT_HEADERS = [
  '\tat com.x.Y.z(Y.java:1)',
  '\tat java.base/java.lang.Thread.run(Thread.java:1583)',
  'Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available',
  '\t... 61 more',
  '\tSuppressed: reactor.core.publisher.FluxOnAssembly$OnAssemblyException:',
  'Error has been observed at the following site(s):',
  '\t*__checkpoint ⇢ com.acme.gateway.filter.AccessLogFilter [DefaultWebFilterChain]',
  'Traceback (most recent call last):',
  '  File "/app/recommendations/features/store.py", line 142, in load',
  '    return self._decode(raw)[feature_name]',
  "KeyError: 'embedding_v2'",
  '',
  ' ',
  'During handling of the above exception, another exception occurred:',
  'The above exception was the direct cause of the following exception:',
  'DETAIL:  Process 4242 waits for ShareLock on transaction 99; blocked by process 4250.',
  '(Background on this error at: https://sqlalche.me/e/20/e3q8)',
  // A timestamp alone is not a header: level and [service] must follow.
  '2026-11-29T14:30:57.123Z something happened',
  '2026-11-29T14:30:57.123Z ERROR something happened',
  '2026-11-29T14:30:57.123Z NOTICE [order-service] [main] x trace= span= req= - m',
  '2026-11-29T14:30:57.123 ERROR [order-service] [main] x trace= span= req= - m',
  '2026-11-29 14:30:57,123 ERROR [order-service] [main] x - m',
  '  2026-11-29T14:30:57.123Z ERROR [order-service] [main] x trace= span= req= - m',
  `Caused by: x ${SAMPLE_HEADER}`,
];

describe('header and multiline rules', () => {
  it('parses a header line into the record fields', () => {
    const parser = new RegexParser(parserDef(config, HEADER_PARSER));
    const res = parser.parse(`${SAMPLE_HEADER}\njava.lang.IllegalStateException: boom\n\tat com.x.Y.z(Y.java:1)`);
    expect(res?.record).toEqual({
      timestamp: '2026-11-29T14:30:57.123Z',
      level: 'ERROR',
      service: 'order-service',
      thread: 'http-nio-8080-exec-7',
      logger: 'com.acme.orders.service.OrderService',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      request_id: '7c1e0f4a-9c1b-4d3e-8f20-1b2c3d4e5f60',
      message: 'Order validation failed',
    });
    expect(res?.timeMs).toBe(Date.parse('2026-11-29T14:30:57.123Z'));
    const padded = parser.parse('2026-11-29T14:30:57.123Z INFO  [search-service] [AnyIO worker thread] search.api.query trace= span= req= - ');
    expect(padded?.record).toMatchObject({ level: 'INFO', thread: 'AnyIO worker thread', trace_id: '', message: '' });
    expect(parser.parse('2026-11-29T14:30:57.123Z WARNING [inventory-service] [MainThread] inventory.api.stock trace=a span=b req=c - slow')?.record.level).toBe('WARNING');
  });

  it('never takes a stack-trace line for a header, and continues the event with it', () => {
    const header = new RegexParser(parserDef(config, HEADER_PARSER)).regex;
    const start = startRule(config);
    const conts = contRules(config);
    expect(start.test(SAMPLE_HEADER)).toBe(true);
    expect(conts.some((c) => c.test(SAMPLE_HEADER)), 'a header must not continue an event').toBe(false);
    for (const line of NOT_HEADERS) {
      expect(header.test(line), `header parser on ${JSON.stringify(line)}`).toBe(false);
      expect(start.test(line), `start_state on ${JSON.stringify(line)}`).toBe(false);
      expect(conts.some((c) => c.test(line)), `cont on ${JSON.stringify(line)}`).toBe(true);
    }
  });

  it('keeps stdout and stderr apart, but a stray line before any header flushes the whole stream (Fluent Bit behaviour)', () => {
    const ml = new MultilineStream(new MultilineParser(multilineDef(config, MULTILINE_PARSER)));
    const rec = (stream: string, log: string) => ({ time: 't', stream, _p: 'F', log });
    const out = [
      ...ml.push(rec('stdout', SAMPLE_HEADER)),
      ...ml.push(rec('stderr', SAMPLE_HEADER.replace('ERROR', 'WARN ').replace('Order validation failed', 'other'))),
      ...ml.push(rec('stdout', 'java.lang.IllegalStateException: boom')),
      ...ml.push(rec('stderr', '\tat other.Frame(Other.java:2)')),
      ...ml.push(rec('stdout', '\tat com.x.Y.z(Y.java:1)')),
      ...ml.flush(),
    ].map((r) => r.log);
    expect(out).toEqual([
      `${SAMPLE_HEADER}\njava.lang.IllegalStateException: boom\n\tat com.x.Y.z(Y.java:1)`,
      `${SAMPLE_HEADER.replace('ERROR', 'WARN ').replace('Order validation failed', 'other')}\n\tat other.Frame(Other.java:2)`,
    ]);

    // A JVM warning on stderr before that stream ever printed a header matches
    // no rule: Fluent Bit flushes every group of the stream, so the stdout
    // event in progress is cut and its next line becomes a header-less record.
    const ml2 = new MultilineStream(new MultilineParser(multilineDef(config, MULTILINE_PARSER)));
    const out2 = [
      ...ml2.push(rec('stdout', SAMPLE_HEADER)),
      ...ml2.push(rec('stderr', 'OpenJDK 64-Bit Server VM warning: Sharing is only supported for boot loader classes')),
      ...ml2.push(rec('stdout', '\tat com.x.Y.z(Y.java:1)')),
      ...ml2.flush(),
    ].map((r) => r.log);
    expect(out2).toEqual([SAMPLE_HEADER, 'OpenJDK 64-Bit Server VM warning: Sharing is only supported for boot loader classes', '\tat com.x.Y.z(Y.java:1)']);
  });

  it('joins blank lines exactly, except that a trailing blank line gains a newline (Fluent Bit behaviour)', () => {
    const join = (lines: string[]): string => {
      const ml = new MultilineStream(new MultilineParser(multilineDef(config, MULTILINE_PARSER)));
      const out = [...lines.flatMap((log) => ml.push({ stream: 'stdout', log })), ...ml.flush()];
      expect(out).toHaveLength(1);
      return out[0]?.log as string;
    };
    for (const lines of [[SAMPLE_HEADER, 'A', '', 'B'], [SAMPLE_HEADER, '', 'A'], [SAMPLE_HEADER, 'A', '', '', 'B']]) {
      expect(join(lines)).toBe(lines.join('\n'));
    }
    // flb_ml_rule.c appends "\n" before a line and "\n" for an empty one, so a
    // last blank line shows as two: "A\n\n" where the application printed "A\n".
    expect(join([SAMPLE_HEADER, 'A', ''])).toBe(`${SAMPLE_HEADER}\nA\n\n`);
  });

  it('cuts an event at multiline_buffer_limit; its remaining lines become header-less records', () => {
    const limit = flbSize(prop(config.service, 'multiline_buffer_limit') ?? '2MB');
    const ml = new MultilineStream(new MultilineParser(multilineDef(config, MULTILINE_PARSER)), 'log', limit);
    const frame = `\tat com.acme.Deep.recurse(Deep.java:${'1'.repeat(60)})`;
    const lines = Math.ceil((limit * 1.2) / frame.length);
    const out = [SAMPLE_HEADER, ...Array.from({ length: lines }, () => frame)].flatMap((log) => ml.push({ stream: 'stdout', log }));
    out.push(...ml.flush());
    const first = out[0]?.log as string;
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(limit + 2);
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(MAX_LOG_CONTENT_BYTES);
    expect(out.length).toBeGreaterThan(1);
    expect(out.slice(1).every((r) => r.log === frame)).toBe(true);
  });
});

// --- the simulator through the configured pipeline -------------------------------

const SEEDS = [11, 22, 33];
const EVENTS_PER_SEED = 1_000;
const PYTHON_SERVICES = new Set(SERVICES.filter((s) => s.language === 'python').map((s) => s.name));
const validateRecord = typia.createValidate<LogRecord>();

function simulate(seeds: readonly number[], perSeed: number): ValidEvent[] {
  const events: ValidEvent[] = [];
  for (const seed of seeds) {
    const sim = new LogSimulator({ seed, errorRatio: 0.5, invalidRatio: 0, clock: steppingClock(Date.UTC(2026, 10, 29, 14, 30, 0, 0) + seed * 1_000, 37) });
    for (let i = 0; i < perSeed; i += 1) {
      const e = sim.next();
      if (e.kind !== 'valid') throw new Error('invalidRatio 0 produced an invalid event');
      events.push(e);
    }
  }
  return events;
}

function podLookupFor(events: readonly ValidEvent[]): PodLookup {
  const pods = new Map(events.map((e) => [`${e.record.kubernetes?.namespace_name}/${e.record.kubernetes?.pod_name}`, e.record.kubernetes]));
  return (ns, pod) => pods.get(`${ns}/${pod}`);
}

interface Comparison {
  readonly matched: number;
  readonly problems: string[];
  readonly coveredLabels: Set<string>;
}

/** Pairs shipped records with events by their raw text and compares every field. */
function compare(events: readonly ValidEvent[], shipped: readonly ShippedRecord[]): Comparison {
  const byRaw = new Map(events.map((e) => [e.raw, e]));
  const byRequest = new Map(events.map((e) => [e.record.request_id, e]));
  const seen = new Set<ValidEvent>();
  const problems: string[] = [];
  const coveredLabels = new Set<string>();
  for (const s of shipped) {
    const { kubernetes, ...rest } = s.record;
    const content = s.record.log_content;
    const event = typeof content === 'string' ? byRaw.get(content) : undefined;
    if (!event) {
      const near = byRequest.get(rest.request_id as string);
      problems.push(`record matches no event (split or merged): ${JSON.stringify(content).slice(0, 300)}${near ? ` / nearest event ${near.label}: ${JSON.stringify(near.raw).slice(0, 200)}` : ''}`);
      continue;
    }
    if (seen.has(event)) problems.push(`event shipped twice: ${event.label}`);
    seen.add(event);
    const { kubernetes: expectedK8s, ...expected } = event.record;
    if (!isDeepStrictEqual(rest, expected)) problems.push(`fields differ for ${event.label}: got ${JSON.stringify(rest).slice(0, 400)} expected ${JSON.stringify(expected).slice(0, 400)}`);
    // The kubernetes filter adds docker_id (from the file name) to what the
    // simulator models; everything the simulator models must be there.
    const k8s = (kubernetes ?? {}) as Record<string, unknown>;
    const k8sOk = Object.entries(expectedK8s ?? {}).every(([k, v]) => isDeepStrictEqual(k8s[k], v)) && /^[a-z0-9]{64}$/.test(String(k8s.docker_id));
    if (!k8sOk) problems.push(`kubernetes metadata differs for ${event.label}: ${JSON.stringify(kubernetes)}`);
    if (s.timeMs !== Date.parse(event.record.timestamp)) problems.push(`event time ${s.timeMs} != ${event.record.timestamp}`);
    if (s.outputs.length !== 2) problems.push(`record routed to ${s.outputs.join(',')}`);
    const valid = validateRecord(s.record);
    if (!valid.success) problems.push(`not a LogRecord: ${JSON.stringify(valid.errors.slice(0, 3))}`);
    coveredLabels.add(event.label);
  }
  const missing = events.filter((e) => !seen.has(e));
  if (missing.length > 0) problems.push(`${missing.length} events never shipped whole, e.g. ${missing[0]?.label}: ${JSON.stringify(missing[0]?.raw).slice(0, 200)}`);
  return { matched: seen.size, problems, coveredLabels };
}

function replay(cfg: FluentBitConfig, events: readonly ValidEvent[], seed: number) {
  const logs = writeContainerLogs(events, { seed, pythonServices: PYTHON_SERVICES, otherStreamRatio: 0.1, splitRatio: 0.15 });
  const pipeline = new ConfiguredPipeline(cfg, podLookupFor(events));
  const result = pipeline.replay(logs.files);
  return { logs, pipeline, result, comparison: compare(events, result.records) };
}

function withRule(cfg: FluentBitConfig, ruleIndex: number, regex: string): FluentBitConfig {
  return {
    ...cfg,
    multilineParsers: cfg.multilineParsers.map((p) =>
      p.name !== MULTILINE_PARSER ? p : { ...p, rules: p.rules.map((r, i) => (i === ruleIndex ? { ...r, regex } : r)) }),
  };
}

function withHeaderRegex(cfg: FluentBitConfig, regex: string): FluentBitConfig {
  return { ...cfg, parsers: cfg.parsers.map((p) => (p.name === HEADER_PARSER ? { ...p, regex } : p)) };
}

describe('simulated application output through the configured pipeline', () => {
  it(`ships ${SEEDS.length * EVENTS_PER_SEED} events from ${SEEDS.length} seeds as exactly the simulator's records`, () => {
    const events = simulate(SEEDS, EVENTS_PER_SEED);
    const t0 = performance.now();
    const { logs, pipeline, result, comparison } = replay(config, events, 7);
    const ms = performance.now() - t0;

    expect(result.skippedFiles).toEqual([]);
    expect(comparison.problems.slice(0, 5)).toEqual([]);
    expect(result.records).toHaveLength(events.length);
    expect(comparison.matched).toBe(events.length);
    expect(result.records.every((r) => r.parsed)).toBe(true);
    for (const scenario of ERROR_SCENARIOS) expect(comparison.coveredLabels, scenario.id).toContain(scenario.id);

    // The workload really exercised the CRI join and the stream interleaving.
    expect(logs.partialChunks).toBeGreaterThan(1_000);
    expect(logs.interleavedSwitches).toBeGreaterThan(100);
    expect(logs.applicationLines).toBeGreaterThan(events.length * 5);

    // ReDoS guard: every match was timed (limit 50 ms, enforced per match).
    const stats = [pipeline.cri, ...pipeline.stages.flatMap((s) =>
      s.kind === 'multiline' ? s.parser.rules.map((r) => r.regex) : s.kind === 'parser' ? s.parsers.map((p) => p.regex) : s.kind === 'kubernetes' ? [s.tagRegex] : [])];
    const matches = stats.reduce((n, r) => n + r.stats.matches, 0);
    const slowest = Math.max(...stats.map((r) => r.stats.maxMs));
    expect(slowest).toBeLessThan(50);
    console.info(
      `fluent-bit replay: ${events.length} events (${comparison.coveredLabels.size} labels), ${logs.applicationLines} application lines, ` +
        `${logs.criLines} CRI lines (${logs.partialChunks} P chunks) in ${logs.files.length} files, ${matches} regex matches, ` +
        `slowest match ${slowest.toFixed(2)} ms, replay ${ms.toFixed(0)} ms`,
    );
  });

  it('has no regex that is slow on adversarial input (worker thread, hard deadline)', async () => {
    const [event] = simulate([5], 1);
    const header = event?.raw.split('\n')[0] ?? SAMPLE_HEADER;
    const big = 200_000;
    const trace = ['\tat com.acme.Deep.recurse(Deep.java:42)', 'Caused by: java.lang.StackOverflowError', '', '  File "/app/x.py", line 1, in f'];
    const adversarial = [
      `2026-11-29T14:30:57.123Z ERROR [${'a'.repeat(big)}`,
      `2026-11-29T14:30:57.123Z ERROR [svc] [${'t'.repeat(big)}`,
      `${header}${'x'.repeat(big)}`,
      `${header.replace(/ - .*$/, '')} ${' -'.repeat(big / 2)}`,
      '2026-11-29T14:30:57.123Z ERROR [s] [t] '.repeat(big / 40),
      ' '.repeat(big),
      '\tat '.repeat(big / 4),
      `${header}\n${Array.from({ length: big / 40 }, (_, i) => trace[i % trace.length]).join('\n')}`,
      `2026-11-29T14:30:57.123456789Z stdout ${'P '.repeat(big / 2)}`,
      `${'2026-11-29T14:30:57.123456789Z '.repeat(big / 31)}stdout F x`,
      `${'x'.repeat(50)}\n`.repeat(big / 51),
    ];
    for (const input of adversarial) expect(input.length).toBeLessThanOrEqual(256 * 1024);
    // File names (tags) are at most 255 bytes.
    const tags = [
      `${'a-'.repeat(90)}_ns_c-${'0'.repeat(63)}.log`,
      `${'a.'.repeat(90)}_ns_${'c-'.repeat(20)}${'0'.repeat(70)}.lo`,
      `${'a'.repeat(100)}_${'_'.repeat(80)}-${'0'.repeat(64)}`,
      '-'.repeat(255),
    ];
    for (const { label, source, input } of allRegexes(config)) {
      const inputs = input === 'tag' ? tags : adversarial;
      const res = await probeRegexInWorker(source, inputs, { maxMatchMs: 50, deadlineMs: 10_000 });
      expect(res.timedOut, `${label} did not finish`).toBe(false);
      expect(res.slow, `${label} slow on input #${res.slow?.index}`).toBeUndefined();
      expect(res.perInputMs).toHaveLength(inputs.length);
      console.info(`${label}: slowest adversarial match ${Math.max(...res.perInputMs).toFixed(2)} ms`);
    }
  });

  it('detects a wrong configuration (negative controls)', () => {
    const events = simulate([44], 300);
    const rules = multilineDef(config, MULTILINE_PARSER).rules;
    const contIndex = rules.findIndex((r) => !r.fromStates.includes('start_state'));
    const startIndex = rules.findIndex((r) => r.fromStates.includes('start_state'));
    const header = parserDef(config, HEADER_PARSER).regex!;
    const mutations: [string, FluentBitConfig][] = [
      // The usual Java-only continuation rule: Python tracebacks and "Caused by:" break off.
      ['java-only cont rule', withRule(config, contIndex, '/^\\s+at .*/')],
      // A level list without Python's WARNING: those headers become continuation lines.
      ['start_state without WARNING', withRule(withRule(config, startIndex, rules[startIndex]!.regex.replace('WARNING|', '')), contIndex, rules[contIndex]!.regex.replace('WARNING|', ''))],
      // /m lets the message run over the stack trace.
      ['header parser with /m', withHeaderRegex(config, `/${header}/m`)],
      // A message that runs to the end of the text instead of the first line.
      ['message to the end of the text', withHeaderRegex(config, header.replace('(?<message>.*)$', '(?<message>(?:.|\\n)*)\\z'))],
    ];
    for (const [name, cfg] of mutations) {
      expect(cfg, name).not.toEqual(config);
      const { comparison } = replay(cfg, events, 3);
      expect(comparison.problems.length, name).toBeGreaterThan(0);
    }
    // And the unmutated configuration passes on the same events.
    expect(replay(config, events, 3).comparison.problems).toEqual([]);
  });

  it('parses the time_format it declares', () => {
    const def = parserDef(config, HEADER_PARSER);
    expect(strptimeMs('2026-11-29T14:30:57.123Z', def.timeFormat!)).toBe(Date.parse('2026-11-29T14:30:57.123Z'));
    expect(() => strptimeMs('2026-11-29T14:30:57Z', def.timeFormat!)).toThrow();
  });
});
