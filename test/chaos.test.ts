/**
 * The short chaos run inside `npm test` (the long one is `npm run chaos`): 8
 * shards, 3 consumer processes, every kind of action at least once, lease
 * table faults throughout. The verdict is bench/chaos/judge.ts's, the same as
 * `npm run chaos`; the figures are printed for docs/performance.md.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHAOS_OPTIONS, runChaos } from '../bench/chaos/chaos-run.js';
import { judgeChaos } from '../bench/chaos/judge.js';

describe('chaos (short)', () => {
  it('loses nothing through kills, thread kills, lease faults and resharding', async () => {
    const report = await runChaos({
      ...DEFAULT_CHAOS_OPTIONS,
      durationMs: 45_000,
      rate: 80,
      seed: 7,
      failoverMs: 3_000,
      actionIntervalMs: 6_000,
      actions: ['sigkill', 'thread_kill', 'split', 'sigterm', 'merge', 'thread_kill'],
      drainTimeoutMs: 60_000,
    });
    console.log(`chaos (short): ${JSON.stringify({ ...report, options: undefined })}`);
    expect(new Set(report.actions.map((a) => a.action))).toEqual(new Set(['sigkill', 'thread_kill', 'split', 'sigterm', 'merge']));
    expect(report.produced.invalid).toBeGreaterThan(0);
    expect(report.threadKills).toBeGreaterThan(0);
    expect(report.workerCrashesRetried).toBeGreaterThan(0);
    expect(report.leaseFaultsInjected.throttles).toBeGreaterThan(0);
    expect(judgeChaos(report)).toEqual([]);
  }, 240_000);
});
