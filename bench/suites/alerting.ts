/**
 * The throttle-window lookup alerting does per incident candidate on the main
 * thread: find the fingerprint's window in the bounded LRU (lru-cache, max
 * entries plus a TTL per window, as src/pipeline/alerting/engine.ts configures
 * it) and count into it, or open one. Baseline: an unbounded Map, which is
 * what the LRU's bound and expiry cost against. Fingerprints are drawn from a
 * skewed distribution over twice as many as the LRU holds, so it evicts.
 */
import { LRUCache } from 'lru-cache';
import type { BenchSuite, RunOptions } from '../harness.js';
import { seededRandom } from '../../src/lease/faulty-lease-store.js';

const LOOKUPS = 1000;
const MAX_WINDOWS = 10_000;
const WINDOW_MS = 300_000;

interface Window {
  count: number;
  readonly openedAtMs: number;
}

export function alertingSuite(options: RunOptions): BenchSuite {
  const random = seededRandom(11);
  const distinct = MAX_WINDOWS * 2;
  const fingerprints = Array.from({ length: distinct }, (_, i) => (0x1000_0000_0000 + i * 7919).toString(16).padStart(16, '0'));
  // Skewed: a few fingerprints storm, most are rare (cube of a uniform draw).
  const draws = Array.from({ length: options.quick ? 20_000 : 200_000 }, () => fingerprints[Math.floor(random() ** 3 * distinct)]!);
  let cursor = 0;
  const next = (): string => {
    const fp = draws[cursor]!;
    cursor = cursor + 1 === draws.length ? 0 : cursor + 1;
    return fp;
  };
  const map = new Map<string, Window>();
  const lru = new LRUCache<string, Window>({ max: MAX_WINDOWS, ttlAutopurge: true });
  const lruNoTtl = new LRUCache<string, Window>({ max: MAX_WINDOWS });
  const count = (get: (fp: string) => Window | undefined, open: (fp: string, w: Window) => void) => () => {
    const now = Date.now();
    for (let i = 0; i < LOOKUPS; i++) {
      const fp = next();
      const window = get(fp);
      if (window !== undefined) window.count++;
      else open(fp, { count: 1, openedAtMs: now });
    }
  };
  return {
    name: 'alerting',
    description: `throttle-window lookups, ${LOOKUPS} candidates per op over ${distinct} fingerprints (the LRU holds ${MAX_WINDOWS})`,
    unit: 'candidate',
    cases: [
      { name: 'Map get/set (unbounded)', baseline: true, unitsPerOp: LOOKUPS, fn: count((fp) => map.get(fp), (fp, w) => map.set(fp, w)) },
      { name: 'lru-cache, max + TTL per window (the engine)', unitsPerOp: LOOKUPS, fn: count((fp) => lru.get(fp), (fp, w) => lru.set(fp, w, { ttl: WINDOW_MS })) },
      { name: 'lru-cache, max only', unitsPerOp: LOOKUPS, fn: count((fp) => lruNoTtl.get(fp), (fp, w) => lruNoTtl.set(fp, w)) },
    ],
  };
}
