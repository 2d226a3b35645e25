/**
 * Replays container log files through the pipeline DESCRIBED by the shipped
 * Fluent Bit configuration (fluent-bit/fluent-bit.yaml + parsers.yaml): the
 * tail input (path, exclude_path, tag, built-in cri parser), then the filters
 * in their configured order (multiline, kubernetes, parser, modify), then the
 * outputs' match. Also writes simulator events as containerd would
 * (/var/log/containers/<pod>_<ns>_<container>-<id>.log, CRI lines).
 */
import type { KubernetesMetadata } from '../../src/schema/log-record.js';
import type { ValidEvent } from '../../src/simulator/generator.js';
import {
  CRI_BUILTIN_REGEX,
  CriTailFile,
  DEFAULT_MAX_MATCH_MS,
  FluentBitRegex,
  KUBE_TAG_TO_REGEX,
  MultilineParser,
  MultilineStream,
  RegexParser,
  applyModifyFilter,
  applyParserFilter,
  criLines,
  flbBool,
  flbSize,
  fnmatch,
  globMatch,
  prop,
  props,
  tailTag,
  type FlbRecord,
  type FluentBitConfig,
  type PluginSection,
} from './fluent-bit-engine.js';

export interface ContainerLogFile {
  readonly path: string;
  readonly lines: readonly string[];
}

export interface ShippedRecord {
  readonly tag: string;
  readonly path: string;
  readonly record: FlbRecord;
  /** Names of the outputs whose match accepted the record. */
  readonly outputs: readonly string[];
  /** Whether a parser of the parser filter matched. */
  readonly parsed: boolean;
  /** Event time set by the parser (Time_Key), epoch ms. */
  readonly timeMs?: number;
}

export interface ReplayResult {
  readonly records: readonly ShippedRecord[];
  /** Files the tail input would not read (path glob) or excludes (exclude_path). */
  readonly skippedFiles: readonly string[];
}

/** Kubernetes API metadata for a pod, as the kubernetes filter would fetch it. */
export type PodLookup = (namespace: string, podName: string) => Partial<KubernetesMetadata> | undefined;

/** Fluent Bit tag matching (`*` matches anything). */
export function tagMatches(pattern: string, tag: string): boolean {
  return fnmatch(pattern, tag);
}

type Stage =
  | { readonly kind: 'multiline'; readonly match: string; readonly parser: MultilineParser; readonly keyContent: string | undefined }
  | { readonly kind: 'kubernetes'; readonly match: string; readonly section: PluginSection; readonly tagRegex: FluentBitRegex }
  | { readonly kind: 'parser'; readonly match: string; readonly keyName: string; readonly parsers: readonly RegexParser[]; readonly reserveData: boolean; readonly preserveKey: boolean }
  | { readonly kind: 'modify'; readonly match: string; readonly section: PluginSection };

export class ConfiguredPipeline {
  readonly tail: PluginSection;
  readonly cri: FluentBitRegex;
  readonly stages: readonly Stage[];
  readonly multilineLimitBytes: number;

  constructor(readonly config: FluentBitConfig, private readonly podLookup: PodLookup, maxMatchMs = DEFAULT_MAX_MATCH_MS) {
    const tails = config.inputs.filter((i) => prop(i, 'name') === 'tail');
    if (tails.length !== 1 || config.inputs.length !== 1) throw new Error('expected exactly one input, a tail');
    this.tail = tails[0]!;
    if (prop(this.tail, 'multiline.parser') !== 'cri') throw new Error('the tail input must use the built-in cri multiline parser');
    this.cri = new FluentBitRegex(CRI_BUILTIN_REGEX, 'built-in cri parser', maxMatchMs);
    const limit = prop(config.service, 'multiline_buffer_limit');
    this.multilineLimitBytes = limit === undefined ? 2 * 1024 * 1024 : flbSize(limit);

    const parserByName = new Map(config.parsers.map((p) => [p.name, p]));
    const mlByName = new Map(config.multilineParsers.map((p) => [p.name, p]));
    this.stages = config.filters.map((f): Stage => {
      const name = prop(f, 'name');
      const match = prop(f, 'match');
      if (match === undefined) throw new Error(`filter ${name} has no match (match_regex is not modelled)`);
      switch (name) {
        case 'multiline': {
          const names = props(f, 'multiline.parser').flatMap((v) => v.split(',').map((s) => s.trim()));
          if (names.length !== 1) throw new Error('exactly one multiline.parser is modelled');
          const def = mlByName.get(names[0]!);
          if (!def) throw new Error(`multiline filter references undefined multiline parser ${names[0]}`);
          if ((prop(f, 'mode') ?? 'parser') !== 'parser') throw new Error('only mode parser is modelled');
          if (!flbBool(prop(f, 'buffer'), true)) throw new Error('only buffered mode is modelled (the unbuffered filter cannot join across chunks)');
          return { kind: 'multiline', match, parser: new MultilineParser(def, maxMatchMs), keyContent: prop(f, 'multiline.key_content') };
        }
        case 'kubernetes':
          return { kind: 'kubernetes', match, section: f, tagRegex: new FluentBitRegex(KUBE_TAG_TO_REGEX, 'kubernetes tag regex', maxMatchMs) };
        case 'parser': {
          const parsers = props(f, 'parser').map((p) => {
            const def = parserByName.get(p);
            if (!def) throw new Error(`parser filter references undefined parser ${p}`);
            return new RegexParser(def, maxMatchMs);
          });
          const keyName = prop(f, 'key_name');
          if (!keyName) throw new Error('parser filter without key_name');
          return {
            kind: 'parser',
            match,
            keyName,
            parsers,
            reserveData: flbBool(prop(f, 'reserve_data'), false),
            preserveKey: flbBool(prop(f, 'preserve_key'), false),
          };
        }
        case 'modify':
          return { kind: 'modify', match, section: f };
        default:
          throw new Error(`filter ${name} is not modelled`);
      }
    });
  }

  /** Would the tail input read this file? */
  reads(path: string): boolean {
    const paths = (prop(this.tail, 'path') ?? '').split(',').map((s) => s.trim());
    const excludes = (prop(this.tail, 'exclude_path') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    return paths.some((p) => globMatch(p, path)) && !excludes.some((p) => fnmatch(p, path));
  }

  replay(files: readonly ContainerLogFile[]): ReplayResult {
    const records: ShippedRecord[] = [];
    const skippedFiles: string[] = [];
    const mlIndex = this.stages.findIndex((s) => s.kind === 'multiline');
    for (const file of files) {
      if (!this.reads(file.path)) {
        skippedFiles.push(file.path);
        continue;
      }
      const tag = tailTag(prop(this.tail, 'tag') ?? 'tail.0', file.path);
      const tail = new CriTailFile(this.cri);
      const ml = mlIndex >= 0 ? this.mlStream(this.stages[mlIndex]!, tag) : undefined;
      const fromEmitter = (rec: FlbRecord): void => this.downstream(tag, file.path, rec, 0, mlIndex, records);
      const fromTail = (rec: FlbRecord): void => {
        if (!ml) {
          this.downstream(tag, file.path, rec, 0, -1, records);
          return;
        }
        // Filters before the multiline filter, then the multiline filter
        // swallows the record; what it emits re-enters the pipeline from the
        // first filter (the emitter is an input), skipping the multiline one.
        const pre = this.runStages(tag, rec, 0, mlIndex);
        if (pre) ml.push(pre.record).forEach(fromEmitter);
      };
      for (const line of file.lines) tail.push(line).forEach(fromTail);
      tail.flush().forEach(fromTail);
      ml?.flush().forEach(fromEmitter);
    }
    return { records, skippedFiles };
  }

  private mlStream(stage: Stage, tag: string): MultilineStream | undefined {
    if (stage.kind !== 'multiline' || !tagMatches(stage.match, tag)) return undefined;
    return new MultilineStream(stage.parser, stage.keyContent, this.multilineLimitBytes);
  }

  private downstream(tag: string, path: string, rec: FlbRecord, from: number, skip: number, out: ShippedRecord[]): void {
    let record = rec;
    let parsed = false;
    let timeMs: number | undefined;
    for (let i = from; i < this.stages.length; i += 1) {
      if (i === skip) continue;
      const res = this.runStages(tag, record, i, i + 1);
      if (!res) return;
      record = res.record;
      parsed ||= res.parsed;
      timeMs = res.timeMs ?? timeMs;
    }
    const outputs = this.config.outputs.filter((o) => tagMatches(prop(o, 'match') ?? '', tag)).map((o) => prop(o, 'alias') ?? prop(o, 'name') ?? '?');
    out.push({ tag, path, record, outputs, parsed, ...(timeMs === undefined ? {} : { timeMs }) });
  }

  /** Runs stages [from, to) except multiline ones; null if a stage dropped the record. */
  private runStages(tag: string, rec: FlbRecord, from: number, to: number): { record: FlbRecord; parsed: boolean; timeMs?: number } | null {
    let record = rec;
    let parsed = false;
    let timeMs: number | undefined;
    for (let i = from; i < to; i += 1) {
      const stage = this.stages[i]!;
      if (!tagMatches(stage.match, tag)) continue;
      switch (stage.kind) {
        case 'multiline':
          break;
        case 'kubernetes': {
          const meta = this.kubernetesMetadata(stage, tag);
          if (meta) record = { ...record, kubernetes: meta };
          break;
        }
        case 'parser': {
          const res = applyParserFilter(record, stage);
          record = res.record;
          parsed ||= res.parsed;
          timeMs = res.timeMs ?? timeMs;
          break;
        }
        case 'modify':
          record = applyModifyFilter(record, stage.section);
          break;
      }
    }
    return { record, parsed, ...(timeMs === undefined ? {} : { timeMs }) };
  }

  private kubernetesMetadata(stage: Extract<Stage, { kind: 'kubernetes' }>, tag: string): FlbRecord | undefined {
    const prefix = prop(stage.section, 'kube_tag_prefix') ?? 'kube.var.log.containers.';
    if (!tag.startsWith(prefix)) return undefined;
    const m = stage.tagRegex.exec(tag.slice(prefix.length));
    if (!m) return undefined;
    const api = this.podLookup(m.namespace_name ?? '', m.pod_name ?? '') ?? {};
    const meta: FlbRecord = {
      pod_name: m.pod_name,
      namespace_name: m.namespace_name,
      container_name: m.container_name,
      docker_id: m.docker_id,
    };
    if (api.pod_id !== undefined) meta.pod_id = api.pod_id;
    if (api.host !== undefined) meta.host = api.host;
    if (api.container_image !== undefined) meta.container_image = api.container_image;
    if (flbBool(prop(stage.section, 'labels'), true) && api.labels) meta.labels = api.labels;
    if (flbBool(prop(stage.section, 'annotations'), true) && api.annotations) meta.annotations = api.annotations;
    return meta;
  }
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function containerLogPath(k: KubernetesMetadata, containerId: string): string {
  return `/var/log/containers/${k.pod_name}_${k.namespace_name}_${k.container_name}-${containerId}.log`;
}

export interface WrittenLogs {
  readonly files: ContainerLogFile[];
  /** Stream each event was printed on, by request_id. */
  readonly streamOf: ReadonlyMap<string, 'stdout' | 'stderr'>;
  readonly applicationLines: number;
  readonly criLines: number;
  readonly partialChunks: number;
  readonly interleavedSwitches: number;
}

/**
 * Writes events as containerd does: one file per container, one CRI line per
 * application line. Python services log to stderr and Java to stdout (their
 * logging defaults), `otherStreamRatio` of events go to the other stream, and
 * lines of a container's stdout and stderr interleave at random (two threads
 * writing at once). `splitRatio` of the lines are cut into P..P F chunks.
 */
export function writeContainerLogs(
  events: readonly ValidEvent[],
  opts: { readonly seed: number; readonly pythonServices: ReadonlySet<string>; readonly otherStreamRatio: number; readonly splitRatio: number },
): WrittenLogs {
  const rnd = prng(opts.seed);
  const hex64 = (): string => Array.from({ length: 64 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const perFile = new Map<string, { stdout: string[]; stderr: string[] }>();
  const streamOf = new Map<string, 'stdout' | 'stderr'>();
  const containerIds = new Map<string, string>();
  let applicationLines = 0;
  let partialChunks = 0;
  for (const event of events) {
    const k = event.record.kubernetes;
    if (!k) throw new Error('simulated record without kubernetes metadata');
    const podKey = `${k.namespace_name}/${k.pod_name}/${k.container_name}`;
    let id = containerIds.get(podKey);
    if (!id) {
      id = hex64();
      containerIds.set(podKey, id);
    }
    const path = containerLogPath(k, id);
    let file = perFile.get(path);
    if (!file) {
      file = { stdout: [], stderr: [] };
      perFile.set(path, file);
    }
    const usual = opts.pythonServices.has(event.record.service) ? 'stderr' : 'stdout';
    const stream = rnd() < opts.otherStreamRatio ? (usual === 'stdout' ? 'stderr' : 'stdout') : usual;
    streamOf.set(event.record.request_id ?? '', stream);
    const timeNs = BigInt(Date.parse(event.record.timestamp)) * 1_000_000n + BigInt(Math.floor(rnd() * 1_000_000));
    for (const line of event.raw.split('\n')) {
      applicationLines += 1;
      const cuts: number[] = [];
      if (line.length >= 8 && rnd() < opts.splitRatio) {
        const points = [...line].length;
        const n = 1 + Math.floor(rnd() * 3);
        for (let i = 0; i < n; i += 1) cuts.push(codePointOffset(line, 1 + Math.floor(rnd() * (points - 1))));
      }
      const cri = criLines(timeNs, stream, line, cuts);
      partialChunks += cri.length - 1;
      file[stream].push(...cri);
    }
  }
  const files: ContainerLogFile[] = [];
  let criCount = 0;
  let interleavedSwitches = 0;
  for (const [path, { stdout, stderr }] of perFile) {
    const lines: string[] = [];
    let i = 0;
    let j = 0;
    let last: 'o' | 'e' | undefined;
    while (i < stdout.length || j < stderr.length) {
      const takeOut = j >= stderr.length || (i < stdout.length && rnd() < 0.5);
      const next = takeOut ? 'o' : 'e';
      if (last !== undefined && next !== last) interleavedSwitches += 1;
      last = next;
      lines.push(takeOut ? stdout[i++]! : stderr[j++]!);
    }
    criCount += lines.length;
    files.push({ path, lines });
  }
  return { files, streamOf, applicationLines, criLines: criCount, partialChunks, interleavedSwitches };
}

/** UTF-16 offset of the n-th code point (never splits a surrogate pair). */
function codePointOffset(s: string, n: number): number {
  let offset = 0;
  let count = 0;
  for (const ch of s) {
    if (count === n) break;
    offset += ch.length;
    count += 1;
  }
  return offset;
}
