/**
 * Drives a LogSimulator at a target rate into a sink (the Kinesis producer or
 * stdout), in ticks, until a count, a duration or an abort. A slow sink slows
 * the run down (the loop awaits it) instead of queueing events in memory.
 */
import type { LogSimulator, SimulatedEvent } from './generator.js';
import { sleep } from '../sleep.js';

export interface SimulationRunOptions {
  /** Target events per second. */
  readonly rate: number;
  readonly count?: number | undefined;
  readonly durationMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly tickMs?: number;
  readonly onProgress?: ((stats: SimulationStats) => void) | undefined;
}

export interface SimulationStats {
  produced: number;
  valid: number;
  errors: number;
  invalid: number;
  elapsedMs: number;
  /** The scenario storming at the last tick, if any. */
  storm: string | undefined;
}

export type EventSink = (events: readonly SimulatedEvent[]) => Promise<void>;


export async function runSimulation(simulator: LogSimulator, sink: EventSink, options: SimulationRunOptions): Promise<SimulationStats> {
  const tickMs = options.tickMs ?? 100;
  const maxPerTick = Math.max(1, Math.ceil(options.rate));
  const started = performance.now();
  const stats: SimulationStats = { produced: 0, valid: 0, errors: 0, invalid: 0, elapsedMs: 0, storm: undefined };
  const limit = options.count ?? Number.POSITIVE_INFINITY;
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;

  while (stats.produced < limit && !options.signal?.aborted) {
    const now = performance.now();
    if (now >= deadline) break;
    const due = Math.min(limit, Math.floor(((now - started) / 1000) * options.rate) + 1);
    const n = Math.min(maxPerTick, due - stats.produced);
    if (n > 0) {
      const events: SimulatedEvent[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const event = simulator.next();
        events[i] = event;
        if (event.kind === 'invalid') stats.invalid++;
        else if (event.isError) { stats.valid++; stats.errors++; } else stats.valid++;
      }
      await sink(events);
      stats.produced += n;
      stats.storm = simulator.storm;
      stats.elapsedMs = performance.now() - started;
      options.onProgress?.(stats);
    }
    const caughtUp = stats.produced >= Math.floor(((performance.now() - started) / 1000) * options.rate);
    if (stats.produced < limit && caughtUp) await sleep(tickMs, options.signal);
  }
  stats.elapsedMs = performance.now() - started;
  return stats;
}
