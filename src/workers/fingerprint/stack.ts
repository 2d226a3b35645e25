/**
 * Stack trace parsing for fingerprints: Java (with `Caused by:` chains,
 * `Suppressed:` blocks and `... N more`), Python (tracebacks chained by
 * "During handling of the above exception" / "The above exception was the
 * direct cause") and Node.js frames. For each exception of the cause chain it
 * keeps the type and the top in-app frames (class/module + method/function,
 * never line numbers); generated proxies, accessors and lambda classes are
 * skipped, and synthetic lambda method numbers are dropped, because they change
 * between builds of the same code.
 *
 * One pass over the lines, bounded by `maxTraceChars`; per line only a few
 * character tests unless it is a frame that may still be used, and a frame
 * line seen before is one cache lookup (see addCachedFrame), so a trace of
 * 10,000 frames costs a scan, not 10,000 parses.
 */
import { detach, GenerationalCache } from './cache.js';

export interface StackOptions {
  readonly inAppPrefixes: readonly string[];
  readonly ignoreFramePrefixes: readonly string[];
  readonly maxFramesPerException: number;
  readonly maxChainedExceptions: number;
  readonly maxTraceChars: number;
}

export interface ParsedException {
  /** Exception class (`java.sql.SQLException`, `KeyError`); empty when the trace did not print one. */
  readonly type: string;
  /** Frames that identify it, the throwing frame first: in-app ones, or library ones when it has none. */
  readonly frames: readonly string[];
}

/** Exceptions outermost first, root cause last; undefined when the text holds no stack frame. */
export type StackParser = (text: string) => readonly ParsedException[] | undefined;

/**
 * Packages that are libraries, not application code, when no in-app prefixes
 * are configured: the JDK, JVM languages and widely used frameworks. A root
 * is a library as a whole, or through the second-level names listed for it.
 */
const JAVA_LIBRARY_PACKAGES: readonly (readonly [string, readonly string[] | true])[] = [
  ...['java', 'javax', 'jakarta', 'jdk', 'sun', 'kotlin', 'kotlinx', 'scala', 'groovy', 'reactor', 'akka', 'okhttp3',
    'okio', 'retrofit2', 'feign', 'liquibase', 'lombok', 'junit', 'rx', 'oracle', 'graphql', 'brave', 'zipkin2']
    .map((root) => [root, true] as const),
  ['com', ['sun', 'zaxxer', 'fasterxml', 'google', 'mysql', 'amazonaws', 'netflix', 'mongodb', 'datastax',
    'codahale', 'microsoft', 'ibm', 'oracle', 'squareup', 'github', 'auth0', 'nimbusds', 'hazelcast', 'rabbitmq',
    'alibaba', 'esotericsoftware', 'thoughtworks', 'jayway', 'typesafe', 'twitter', 'couchbase', 'lmax']],
  ['org', ['springframework', 'apache', 'hibernate', 'eclipse', 'glassfish', 'jboss', 'slf4j', 'postgresql',
    'junit', 'mockito', 'aspectj', 'yaml', 'quartz', 'flywaydb', 'elasticsearch', 'opensearch', 'h2', 'hsqldb',
    'mariadb', 'redisson', 'reactivestreams', 'jooq', 'mybatis', 'bouncycastle', 'jetbrains', 'gradle', 'testcontainers',
    'keycloak', 'thymeleaf', 'freemarker', 'codehaus', 'json', 'xml', 'w3c', 'ietf', 'omg', 'jvnet', 'objectweb',
    'osgi', 'camunda', 'neo4j', 'infinispan', 'jgroups', 'modelmapper', 'mapstruct', 'owasp', 'ehcache', 'reflections']],
  ['io', ['netty', 'grpc', 'micrometer', 'opentelemetry', 'undertow', 'lettuce', 'vertx', 'prometheus',
    'jsonwebtoken', 'github', 'projectreactor', 'reactivex', 'dropwizard', 'r2dbc', 'swagger', 'smallrye', 'quarkus',
    'micronaut', 'helidon', 'jaegertracing', 'zipkin', 'confluent', 'fabric8', 'kubernetes', 'sentry', 'restassured']],
  ['net', ['bytebuddy', 'sf', 'jodah', 'minidev', 'logstash', 'javacrumbs']],
  ['ch', ['qos']],
  ['software', ['amazon']],
  ['de', ['flapdoodle']],
];

/**
 * Package lookup without slicing the frame or reading it character by
 * character: the dotted segments are found with native indexOf, candidates
 * are looked up by a number made of a segment's length and its first and last
 * characters, and confirmed with startsWith. (A Map keyed by fresh substrings,
 * or a hash computed in a JavaScript loop, costs several times as much: both
 * read every character, at ~2 ns each.)
 */
class PackageSet {
  private readonly roots = new Map<number, PackageRoot[]>();

  constructor(packages: readonly (readonly [string, readonly string[] | true])[]) {
    for (const [root, seconds] of packages) {
      const entry: PackageRoot = { prefix: `${root}.`, all: seconds === true, seconds: new Map() };
      if (seconds !== true) for (const second of seconds) addCandidate(entry.seconds, segmentKey(second, 0, second.length), second);
      addCandidate(this.roots, segmentKey(root, 0, root.length), entry);
    }
  }

  /** Whether the class name s[start, end) is in one of the packages. */
  covers(s: string, start: number, end: number): boolean {
    const rootEnd = s.indexOf('.', start);
    if (rootEnd < 0 || rootEnd >= end) return false;
    const roots = this.roots.get(segmentKey(s, start, rootEnd));
    if (roots === undefined) return false;
    const root = roots.find((candidate) => s.startsWith(candidate.prefix, start));
    if (root === undefined) return false;
    if (root.all) return true;
    const secondStart = rootEnd + 1;
    let secondEnd = s.indexOf('.', secondStart);
    if (secondEnd < 0 || secondEnd > end) secondEnd = end;
    const seconds = root.seconds.get(segmentKey(s, secondStart, secondEnd));
    if (seconds === undefined) return false;
    for (const second of seconds) {
      if (s.startsWith(second, secondStart)) return true;
    }
    return false;
  }
}

interface PackageRoot {
  /** `org.` */
  readonly prefix: string;
  /** The whole root is a library (`java.`), not only the second-level names below. */
  readonly all: boolean;
  readonly seconds: Map<number, string[]>;
}

/** Length, first and last character of a segment: candidates share it, startsWith tells them apart. */
function segmentKey(s: string, start: number, end: number): number {
  const length = end - start;
  if (length <= 0 || length > 0xff) return -1;
  return (length << 16) | ((s.charCodeAt(start) & 0xff) << 8) | (s.charCodeAt(end - 1) & 0xff);
}

function addCandidate<T>(map: Map<number, T[]>, key: number, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const JAVA_LIBRARIES = new PackageSet(JAVA_LIBRARY_PACKAGES);

/** Generated classes: their frames are glue between real frames, and their names carry build-specific numbers. */
const GENERATED_FRAME = /\$\$(?:SpringCGLIB|EnhancerBy|FastClassBy|Lambda)|\$Proxy\d|^jdk\.proxy\d|^com\.sun\.proxy\.|Generated(?:Serialization)?(?:Method|Constructor)Accessor|\$HibernateProxy\$|\$ByteBuddy\$|\$MockitoMock\$|_\$\$_jvst|\$\$_javassist|LambdaForm\$|DirectMethodHandle\$|\$\$Lambda[/$]|^jdk\.internal\.reflect\.|^sun\.reflect\./;
/** `lambda$validate$2` -> `lambda$validate`, `$anonfun$run$1` -> `$anonfun$run`: compiler-assigned numbers. */
const SYNTHETIC_SUFFIX = /\$\d+$/;
const PYTHON_STDLIB = /\/lib\/python\d+(?:\.\d+)?\//;
const JS_POSITION = /(?::\d+){1,2}$/;
const MAX_TYPE_CHARS = 256;
const MAX_FRAME_LINE_CHARS = 2048;

interface ExceptionBuilder {
  type: string;
  readonly frames: string[];
  /** Library frames, used only when no in-app frame shows up. */
  readonly fallback: string[];
  /** Python prints the innermost frame last: keep the newest frames instead of the first ones. */
  readonly newestFirst: boolean;
}

const newException = (type: string, newestFirst: boolean): ExceptionBuilder => ({ type, frames: [], fallback: [], newestFirst });

/** What a frame line normalises to: the frame used in keys and whether it is in-app. */
interface FrameInfo {
  readonly frame: string;
  readonly inApp: boolean;
}

/** A frame that is never used: ignored by configuration, generated, or not a frame after all. */
const SKIPPED: FrameInfo = Object.freeze({ frame: '', inApp: false });

/**
 * Python and Node.js frame lines are normalised with a few regular
 * expressions and replacements (~1 us a frame), so their results are cached
 * per parser, keyed by the line after `File "` or `at `: the same lines repeat
 * in every occurrence of an error, and a lookup costs a hash of the line
 * (~2 ns a character). Java frames are not cached: found with indexOf and
 * startsWith, they cost about what that lookup would. Lines are cached up to
 * MAX_CACHED_FRAME_CHARS, so a cache holds at most 2 x FRAME_CACHE_ENTRIES
 * entries of that many characters (~2 MB; typically ~10% of it).
 */
const FRAME_CACHE_ENTRIES = 2048;
const MAX_CACHED_FRAME_CHARS = 256;

/**
 * Native `indexOf` for a character, remembered across calls: lines are read in
 * order, so each search resumes where the last one stopped and a whole event
 * costs one pass per character searched (a per-line `indexOf` that finds
 * nothing on its line would rescan the rest of the text every time).
 */
class NextIndex {
  private text = '';
  private found = -2;

  constructor(private readonly char: string) {}

  reset(text: string): void {
    this.text = text;
    this.found = -2;
  }

  /** First index >= from (from never decreases between resets), or -1. */
  from(from: number): number {
    if (this.found === -1 || this.found >= from) return this.found;
    this.found = this.text.indexOf(this.char, from);
    return this.found;
  }
}

export function compileStackParser(options: StackOptions): StackParser {
  const { inAppPrefixes, ignoreFramePrefixes, maxFramesPerException: maxFrames, maxChainedExceptions, maxTraceChars } = options;

  const ignored = (s: string, start: number): boolean => ignoreFramePrefixes.length > 0 && ignoreFramePrefixes.some((p) => s.startsWith(p, start));

  const isJavaInApp = (s: string, start: number, end: number): boolean => {
    if (inAppPrefixes.length > 0) return inAppPrefixes.some((p) => s.startsWith(p, start));
    return !JAVA_LIBRARIES.covers(s, start, end);
  };

  /** Adds a frame; in-app frames count towards the limit, library ones are kept in case none is in-app. */
  const addFrame = (target: ExceptionBuilder, frame: string, inApp: boolean): void => {
    const list = inApp ? target.frames : target.fallback;
    if (list[list.length - 1] === frame) return; // recursion and overloads print the same frame again
    if (target.newestFirst) {
      list.push(frame);
      if (list.length > maxFrames) list.shift();
    } else if (list.length < maxFrames) {
      list.push(frame);
    }
  };

  const wantsFrames = (target: ExceptionBuilder): boolean => target.newestFirst || target.frames.length < maxFrames;
  const nodeFrames = new GenerationalCache<FrameInfo>(FRAME_CACHE_ENTRIES);
  const pythonFrames = new GenerationalCache<FrameInfo>(FRAME_CACHE_ENTRIES);

  /** Adds the frame of line s[start, end) (after `at ` or `File "`), normalised by `parse` or found in `cache`. */
  const addCachedFrame = (
    target: ExceptionBuilder, s: string, start: number, end: number, cache: GenerationalCache<FrameInfo>, parse: (line: string) => FrameInfo,
  ): void => {
    const line = s.slice(start, end);
    let info = end - start > MAX_CACHED_FRAME_CHARS ? parse(line) : cache.get(line);
    if (info === undefined) {
      info = parse(line);
      if (info !== SKIPPED) info = { frame: detach(info.frame), inApp: info.inApp };
      cache.set(detach(line), info);
    }
    if (info !== SKIPPED) addFrame(target, info.frame, info.inApp);
  };
  const nextParen = new NextIndex('(');
  const nextSpace = new NextIndex(' ');
  const nextSlash = new NextIndex('/');
  const nextDollar = new NextIndex('$');

  return (text) => {
    const s = text.length > maxTraceChars ? text.slice(0, maxTraceChars) : text;
    if (s.indexOf('\n') < 0) return undefined;
    nextParen.reset(s);
    nextSpace.reset(s);
    nextSlash.reset(s);
    nextDollar.reset(s);
    const java: ExceptionBuilder[] = [];
    const python: ExceptionBuilder[] = [];
    let current: ExceptionBuilder | undefined; // Java exception that frames belong to
    let candidateType = ''; // last exception-looking line before the first frame
    let suppressedIndent = -1;
    let segment: ExceptionBuilder | undefined; // Python traceback being read
    let frameCount = 0;

    let lineStart = 0;
    while (lineStart < s.length) {
      let lineEnd = s.indexOf('\n', lineStart);
      const next = lineEnd < 0 ? s.length : lineEnd + 1;
      if (lineEnd < 0) lineEnd = s.length;
      if (lineEnd > lineStart && s.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
      let p = lineStart;
      while (p < lineEnd && (s.charCodeAt(p) === 0x20 || s.charCodeAt(p) === 0x09)) p++;
      const indent = p - lineStart;

      if (s.startsWith('at ', p) && lineEnd - p < MAX_FRAME_LINE_CHARS) {
        if (suppressedIndent >= 0 && indent > suppressedIndent) {
          lineStart = next;
          continue;
        }
        suppressedIndent = -1;
        if (!current) {
          current = newException(candidateType, false);
          java.push(current);
        }
        frameCount++;
        if (wantsFrames(current)) parseAtFrame(s, p + 3, lineEnd, current);
      } else if (segment && s.startsWith('File "', p) && lineEnd - p < MAX_FRAME_LINE_CHARS) {
        frameCount++;
        addCachedFrame(segment, s, p + 6, lineEnd, pythonFrames, parsePythonFrame);
      } else if (s.startsWith('Caused by: ', p)) {
        if (suppressedIndent < 0 || indent <= suppressedIndent) {
          suppressedIndent = -1;
          current = newException(readType(s, p + 11, lineEnd, true), false);
          java.push(current);
        }
      } else if (s.startsWith('Suppressed: ', p)) {
        suppressedIndent = indent;
      } else if (indent === 0 && s.startsWith('Traceback (most recent call last):', p)) {
        segment = newException('', true);
        python.push(segment);
      } else if (segment && segment.type === '' && indent === 0 && p < lineEnd) {
        segment.type = readType(s, p, lineEnd, true);
      } else if (!current && !segment) {
        const type = readType(s, p, lineEnd, false);
        if (type) candidateType = type;
      }
      lineStart = next;
    }
    if (frameCount === 0) return undefined;

    const chain = [...java, ...python.reverse()];
    const kept = chain.length > maxChainedExceptions
      ? [...chain.slice(0, maxChainedExceptions - 1), chain[chain.length - 1]!]
      : chain;
    return kept.map((e) => ({ type: e.type, frames: orderFrames(e.frames.length > 0 ? e.frames : e.fallback, e.newestFirst) }));
  };

  /** `at pkg.Class.method(File.java:12)` (Java) or `at fn (file.js:1:2)` (Node.js): s[start, end) is after `at `. */
  function parseAtFrame(s: string, start: number, end: number, target: ExceptionBuilder): void {
    const paren = nextParen.from(start);
    // A space before the parenthesis (`at fn (file.js:1:2)`) or none at all (`at file.js:1:2`): Node.js.
    const space = nextSpace.from(start);
    if (paren < 0 || paren >= end || (space >= 0 && space < paren)) {
      addCachedFrame(target, s, start, end, nodeFrames, parseNodeFrame);
      return;
    }
    // Java: [module/]pkg.Class.method(File.java:12). `java.base/` and `app//` module prefixes are dropped;
    // lambda classes have slashes too (`Foo$$Lambda/0x...`), but a module name never contains `$`.
    const slash = nextSlash.from(start);
    const dollar = nextDollar.from(start);
    let nameStart = start;
    if (slash >= 0 && slash < paren && !(dollar >= 0 && dollar < slash)) nameStart = s.charCodeAt(slash + 1) === 0x2f ? slash + 2 : slash + 1;
    if (ignored(s, nameStart)) return;
    const inApp = isJavaInApp(s, nameStart, paren);
    if (!inApp && target.fallback.length >= maxFrames) return;
    const name = s.slice(nameStart, paren);
    if (((dollar >= 0 && dollar < paren) || mayBeInJdk(name)) && GENERATED_FRAME.test(name)) return;
    addFrame(target, isDigit(s.charCodeAt(paren - 1)) ? name.replace(SYNTHETIC_SUFFIX, '') : name, inApp);
  }

  /** Node.js: `at fn (/app/src/x.js:10:5)`, `at async fn (file:///app/x.mjs:1:2)`, `at /app/x.js:3:1`. */
  function parseNodeFrame(line: string): FrameInfo {
    const end = line.length;
    const open = line.lastIndexOf(' (');
    let fn = '<anonymous>';
    let location: string;
    if (open >= 0 && line.charCodeAt(end - 1) === 0x29) {
      fn = line.slice(0, open).replace(/^(?:async |new )/, '');
      location = line.slice(open + 2, end - 1);
    } else {
      location = line;
    }
    location = location.replace(JS_POSITION, '').replace(/^file:\/\//, '');
    if (ignoreFramePrefixes.some((p) => location.startsWith(p))) return SKIPPED;
    const modules = location.lastIndexOf('node_modules/');
    const library = modules >= 0 || location.startsWith('node:') || location.startsWith('internal/');
    const file = modules >= 0 ? location.slice(modules + 13) : location;
    const inApp = inAppPrefixes.length > 0 ? inAppPrefixes.some((p) => file.startsWith(p)) : !library;
    return { frame: `${file}:${fn}`, inApp };
  }

  /** `File "/app/inventory/services/reservation.py", line 211, in reserve` -> `app.inventory.services.reservation:reserve`, from after `File "`. */
  function parsePythonFrame(line: string): FrameInfo {
    const quote = line.indexOf('"');
    if (quote < 0) return SKIPPED;
    const inAt = line.lastIndexOf(', in ');
    const fn = inAt > quote ? line.slice(inAt + 5) : '<module>';
    let path = line.slice(0, quote).replaceAll('\\', '/');
    let library = path.startsWith('<');
    for (const marker of ['site-packages/', 'dist-packages/']) {
      const at = path.lastIndexOf(marker);
      if (at >= 0) {
        path = path.slice(at + marker.length);
        library = true;
      }
    }
    const stdlib = library ? null : PYTHON_STDLIB.exec(path);
    if (stdlib) {
      path = path.slice(stdlib.index + stdlib[0].length);
      library = true;
    }
    const module = path.replace(/^[/.]+/, '').replace(/\.pyw?$/, '').replace(/\/__init__$/, '').replaceAll('/', '.');
    if (ignoreFramePrefixes.some((p) => module.startsWith(p))) return SKIPPED;
    const inApp = inAppPrefixes.length > 0
      ? inAppPrefixes.some((p) => module.startsWith(p) || module.includes(`.${p}`))
      : !library;
    return { frame: `${module}:${fn}`, inApp };
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** With a `$` in the name, a cheap pre-check before GENERATED_FRAME: every generated name has a `$` or lives in a JDK package. */
function mayBeInJdk(name: string): boolean {
  return name.startsWith('jdk.') || name.startsWith('sun.') || name.startsWith('com.sun.');
}

/** Last index of `text` starting in s[from, to - text.length], or -1. */
function lastIndexWithin(s: string, text: string, from: number, to: number): number {
  for (let i = to - text.length; i >= from; i--) if (s.startsWith(text, i)) return i;
  return -1;
}

/** Frames in key order: the throwing frame first (Python prints it last). */
function orderFrames(frames: readonly string[], newestFirst: boolean): readonly string[] {
  return newestFirst ? [...frames].reverse() : frames;
}

/**
 * The exception class at `start`: a dotted name followed by `:` or the end of
 * the line. Unless `certain` (after `Caused by:` or where Python prints it),
 * it must look like an exception: qualified, or named ...Exception/...Error.
 */
function readType(s: string, start: number, end: number, certain: boolean): string {
  let p = start;
  if (s.startsWith('Exception in thread "', p)) {
    const close = lastIndexWithin(s, '" ', p + 21, end);
    if (close < 0) return '';
    p = close + 2;
  }
  const nameStart = p;
  let dots = 0;
  while (p < end && p - nameStart < MAX_TYPE_CHARS) {
    const c = s.charCodeAt(p);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 0x5f || c === 0x24) p++;
    else if (c === 0x2e) {
      dots++;
      p++;
    } else break;
  }
  if (p === nameStart || (p < end && s.charCodeAt(p) !== 0x3a)) return '';
  const first = s.charCodeAt(nameStart);
  if (!((first >= 65 && first <= 90) || (first >= 97 && first <= 122) || first === 0x5f)) return '';
  const name = s.slice(nameStart, p);
  if (certain) return name;
  return (dots > 0 && !name.endsWith('.')) || /(?:Exception|Error|Throwable)$/.test(name) ? name : '';
}
