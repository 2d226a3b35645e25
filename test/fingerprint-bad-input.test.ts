/**
 * Bad input never crashes the fingerprinter and costs bounded time. The time
 * bounds are loose (this machine is shared and noisy): they catch exponential
 * backtracking or quadratic scans, which take seconds to hours, not slowness.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compileFingerprinter, type FingerprintInput } from '../src/workers/fingerprint/fingerprint.js';

const fingerprint = compileFingerprinter();
const HEX16 = /^[0-9a-f]{16}$/;

function timed(event: FingerprintInput): { ms: number; fp: string } {
  const start = performance.now();
  const fp = fingerprint(event).fingerprint;
  return { ms: performance.now() - start, fp };
}

/** Short frames, so that 10,000 of them fit in the record schema's 256 KiB of log_content (and maxTraceChars). */
const javaTrace = (frames: number): string => [
  'java.lang.StackOverflowError: null',
  ...Array.from({ length: frames }, (_, i) => `\tat a.R.s${i % 3}(R.java:${i % 100})`),
  'Caused by: java.lang.IllegalStateException: deep',
  '\tat com.acme.Recursive.start(Recursive.java:1)',
].join('\n');

const pythonTrace = (frames: number): string => [
  'Traceback (most recent call last):',
  ...Array.from({ length: frames }, (_, i) => [`  File "/app/rec/walk.py", line ${i}, in step${i % 4}`, '    step()']).flat(),
  'RecursionError: maximum recursion depth exceeded',
].join('\n');

const cases: [string, FingerprintInput][] = [
  ['empty', {}],
  ['empty strings', { message: '', log_content: '' }],
  ['1 MB message', { message: 'x'.repeat(1024 * 1024) }],
  ['1 MB of words', { message: 'word '.repeat(210_000) }],
  ['1 MB log_content on one line', { log_content: 'y'.repeat(1024 * 1024) }],
  ['1 MB of newlines', { log_content: '\n'.repeat(1024 * 1024) }],
  ['binary garbage', { message: randomBytes(65536).toString('latin1'), log_content: randomBytes(300_000).toString('latin1') }],
  ['invalid UTF-8 decoded', { message: new TextDecoder().decode(randomBytes(100_000)) }],
  ['lone surrogates', { message: '\ud800\udc00\ud800 \udfff'.repeat(5000) }],
  ['10,000-frame Java trace', { message: 'overflow', log_content: `header\n${javaTrace(10_000)}` }],
  ['10,000-frame Python trace', { message: 'recursion', log_content: `header\n${pythonTrace(10_000)}` }],
  ['unclosed quotes', { message: '"a '.repeat(100_000) }],
  ['apostrophes', { message: "it's 'a 'b' c' ".repeat(50_000) }],
  ['parentheses', { message: 'x ('.repeat(200_000) }],
  ['key=value chains', { message: 'a=b=c='.repeat(100_000) }],
  ['colons', { message: 'ab:'.repeat(200_000) }],
  ['dots and digits', { message: '1.'.repeat(300_000) }],
  ['slashes', { message: '/a'.repeat(300_000) }],
  ['URL-like', { message: `http://${'a'.repeat(500_000)}` }],
  ['at-lines without frames', { log_content: 'h\n' + 'at '.repeat(300_000) }],
  ['frame lines without parentheses', { log_content: 'h\n' + '\tat x.y\n'.repeat(100_000) }],
  ['unclosed thread names', { log_content: 'h\n' + 'Exception in thread "main\n'.repeat(50_000) }],
  ['Caused by flood', { log_content: 'h\n' + 'Caused by: a.B: c\n\tat a.B.c(B.java:1)\n'.repeat(20_000) }],
  ['File lines outside a traceback', { log_content: 'h\n' + '  File "x.py", line 1, in f\n'.repeat(50_000) }],
  ['10,000 Node.js frames, each line new', { log_content: 'Error: x\n' + Array.from({ length: 10_000 }, (_, i) => `    at f${i} (/app/src/m${i}.js:${i}:1)`).join('\n') }],
  ['a 1 MB route', { message: `GET /${'a1/'.repeat(350_000)}` }],
  ['a 1 MB mixed-case word', { message: 'qR'.repeat(500_000) }],
  ['a 1 MB prefixed id', { message: `txn_${'aB'.repeat(500_000)}` }],
  ['non-string fields', { message: 42, log_content: { a: 1 }, service: ['x'], level: null } as unknown as FingerprintInput],
];

describe('fingerprints of bad input', () => {
  it.each(cases)('%s: a fingerprint in bounded time', (_, event) => {
    const { ms, fp } = timed(event);
    expect(fp).toMatch(HEX16);
    expect(ms).toBeLessThan(1000);
  });

  it('a 10,000-frame trace keeps the root cause and only the top frames', () => {
    const result = fingerprint({ message: 'overflow', log_content: `header\n${javaTrace(10_000)}` });
    expect(result.exceptions.map((e) => e.type)).toEqual(['java.lang.StackOverflowError', 'java.lang.IllegalStateException']);
    expect(result.exceptions[0]!.frames).toEqual(['a.R.s0', 'a.R.s1', 'a.R.s2', 'a.R.s0', 'a.R.s1']);
    expect(result.exceptions[1]!.frames).toEqual(['com.acme.Recursive.start']);
  });

  it('extra masks run on the bounded message only', () => {
    const configured = compileFingerprinter({ extraMasks: [{ name: 'run', pattern: 'a+b' }] });
    const start = performance.now();
    expect(configured({ message: 'a'.repeat(1024 * 1024) }).fingerprint).toMatch(HEX16);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('fingerprinter caches', () => {
  it('keep no event text alive: frames and field values are cached as copies', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const fresh = compileFingerprinter();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 64; i++) {
      // New frame lines and a new service each time, in events of 1 MB: a cached slice would keep each alive.
      const frames = Array.from({ length: 20 }, (_, k) => `  File "/app/svc${i}/m${k}.py", line ${k}, in f${k}\n    f()`).join('\n');
      const content = `Traceback (most recent call last):\n${frames}\nValueError: ${'y'.repeat(1 << 20)}`;
      fresh({ message: 'boom', log_content: content, service: `service-${i}-${'z'.repeat(100)}`, level: 'ERROR' });
    }
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 2 ** 20);
  });
});
