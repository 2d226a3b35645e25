/**
 * The batching object writer shared by the DLQ and archive sinks: batching
 * by size, lines and age; acks only after the object exists; retries, give-up
 * and health; backpressure at the memory limit; flush/close; key scheme.
 * Runs against in-memory stores: deterministic, no timing assertions beyond
 * "eventually".
 */
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchingObjectWriter, type BatchingObjectWriterOptions, type NdjsonFragment } from '../src/pipeline/sinks/batching-writer.js';
import { hourPrefix, keySafeWorkerId, objectStartMs } from '../src/pipeline/sinks/object-key.js';
import { ObjectStoreError, type ObjectStore, type PutObjectOptions } from '../src/pipeline/sinks/object-store/object-store.js';
import { compileObjectWriterConfig, type ObjectWriterConfigInput } from '../src/pipeline/sinks/object-writer-config.js';
import { backoffDelayMs, compileRetryPolicy } from '../src/pipeline/sinks/retry-policy.js';
import { SinkError } from '../src/pipeline/sinks/sink.js';
import { FaultyObjectStore, GatedObjectStore, MemoryObjectStore, promiseState } from './support/object-stores.js';

const BIG = { maxObjectBytes: 1024 * 1024, maxObjectLines: 100_000, maxObjectAgeMs: 60_000 };
const FAST_RETRY = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 };

const writers: BatchingObjectWriter[] = [];

afterEach(async () => {
  // Close whatever a test left open so no age timer outlives it; failures were asserted in the test.
  await Promise.allSettled(writers.splice(0).map((writer) => writer.close()));
});

function writer(store: ObjectStore, input: ObjectWriterConfigInput = {}, options: Partial<BatchingObjectWriterOptions> = {}): BatchingObjectWriter {
  const config = compileObjectWriterConfig({ ...BIG, compression: 'none', retry: FAST_RETRY, ...input }, { maxObjectLines: 1000, compression: 'none' }, 'test sink');
  const created = new BatchingObjectWriter({ sinkName: 'test', store, config, workerId: 'worker-1', ...options });
  writers.push(created);
  return created;
}

/** `count` lines of `width` bytes each (newline included), as one fragment per line. */
function lines(count: number, width = 10, tag = 'x'): NdjsonFragment[] {
  return Array.from({ length: count }, (_, index) => {
    const body = `${tag}${index}`.padEnd(width - 1, '.');
    return { bytes: Buffer.from(`${body}\n`), lines: 1 };
  });
}

/** The write's objects are written once flushed (the age limit is a minute here), so await both. */
async function writeAndFlush(sink: BatchingObjectWriter, fragments: readonly NdjsonFragment[]): Promise<void> {
  await Promise.all([sink.write(fragments), sink.flush()]);
}

const text = (fragments: readonly NdjsonFragment[]): string => fragments.map((fragment) => Buffer.from(fragment.bytes).toString('utf8')).join('');

const throttled = (): ObjectStoreError => new ObjectStoreError('unavailable', 'SlowDown', 'Please reduce your request rate');

describe('batching', () => {
  it('closes an object when the next fragment would pass maxObjectBytes', async () => {
    const store = new MemoryObjectStore();
    const sink = writer(store, { maxObjectBytes: 100 });
    const fragments = lines(25, 10); // 250 bytes
    await writeAndFlush(sink, fragments);
    expect(store.texts().join('')).toBe(text(fragments));
    expect(store.puts.map((put) => put.bytes)).toEqual([100, 100, 50]);
  });

  it('closes an object at maxObjectLines, counting a multi-line fragment as its lines', async () => {
    const store = new MemoryObjectStore();
    const sink = writer(store, { maxObjectLines: 4 });
    const chunk = { bytes: Buffer.from('a\nb\nc\n'), lines: 3 };
    await writeAndFlush(sink, [chunk, chunk, chunk]);
    // 3 fits, 3 + 3 > 4 starts a new object; fragments are never split.
    expect(store.texts()).toEqual(['a\nb\nc\n', 'a\nb\nc\n', 'a\nb\nc\n']);
  });

  it('closes an object after maxObjectAgeMs, with fragments of several writes in it', async () => {
    const store = new MemoryObjectStore();
    const sink = writer(store, { maxObjectAgeMs: 30 });
    const first = lines(2, 10, 'a');
    const second = lines(3, 10, 'b');
    await Promise.all([sink.write(first), sink.write(second)]);
    expect(store.texts()).toEqual([text(first) + text(second)]);
  });

  it('writes a fragment larger than maxObjectBytes as an object of its own', async () => {
    const store = new MemoryObjectStore();
    const sink = writer(store, { maxObjectBytes: 16 });
    const big = { bytes: Buffer.from(`${'z'.repeat(40)}\n`), lines: 1 };
    await writeAndFlush(sink, [...lines(1, 8), big, ...lines(1, 8)]);
    expect(store.puts.map((put) => put.bytes)).toEqual([8, 41, 8]);
  });

  it('ignores empty writes and empty fragments', async () => {
    const store = new MemoryObjectStore();
    const sink = writer(store);
    await sink.write([]);
    await writeAndFlush(sink, [{ bytes: new Uint8Array(0), lines: 0 }]);
    expect(store.puts).toEqual([]);
  });

  it('gzips objects when configured, with NDJSON content type and gzip content encoding', async () => {
    const store = new MemoryObjectStore();
    const sink = writer(store, { compression: 'gzip' });
    const fragments = lines(50, 40);
    await writeAndFlush(sink, fragments);
    const [put] = store.puts;
    expect(put).toMatchObject({ contentType: 'application/x-ndjson', contentEncoding: 'gzip' });
    expect(put?.key.endsWith('.ndjson.gz')).toBe(true);
    const body = store.objects.get(put?.key ?? '');
    expect(body?.[0]).toBe(0x1f);
    expect(gunzipSync(body ?? new Uint8Array()).toString('utf8')).toBe(text(fragments));
  });

  it('writes plain NDJSON without content encoding when compression is none', async () => {
    const store = new MemoryObjectStore();
    const sink = writer(store, { compression: 'none' });
    await writeAndFlush(sink, lines(2));
    expect(store.puts[0]).toMatchObject({ contentType: 'application/x-ndjson', contentEncoding: undefined });
    expect(store.puts[0]?.key.endsWith('.ndjson')).toBe(true);
  });

  it('keeps at most maxInFlightObjects puts in flight', async () => {
    const gate = new GatedObjectStore(new MemoryObjectStore());
    const sink = writer(gate, { maxObjectBytes: 10, maxInFlightObjects: 2 });
    const written = sink.write(lines(5, 10));
    await gate.waitForHeld(2);
    expect(sink.backlog().inFlightObjects).toBe(2);
    expect(gate.heldKeys).toHaveLength(2);
    for (let released = 0; released < 5; released++) {
      await gate.waitForHeld(1);
      expect(gate.heldKeys.length).toBeLessThanOrEqual(2);
      gate.releaseOne();
    }
    await written;
  });
});

describe('acks', () => {
  it('resolves a write only after its object exists in the store', async () => {
    const memory = new MemoryObjectStore();
    const gate = new GatedObjectStore(memory);
    const sink = writer(gate);
    const written = sink.write(lines(3));
    const flushed = sink.flush();
    await gate.waitForHeld(1);
    expect(await promiseState(written)).toBe('pending');
    expect(memory.objects.size).toBe(0);
    let objectsWhenAcked = -1;
    const acked = written.then(() => (objectsWhenAcked = memory.objects.size));
    gate.releaseOne();
    await Promise.all([acked, flushed]);
    expect(objectsWhenAcked).toBe(1);
  });

  it('resolves a write spread over several objects only when the last of them is written', async () => {
    const memory = new MemoryObjectStore();
    const gate = new GatedObjectStore(memory);
    const sink = writer(gate, { maxObjectBytes: 20, maxInFlightObjects: 3 });
    const written = sink.write(lines(6, 10)); // three objects
    await gate.waitForHeld(3);
    gate.releaseOne();
    gate.releaseOne();
    await expect.poll(() => memory.objects.size).toBe(2);
    expect(await promiseState(written)).toBe('pending');
    gate.releaseOne();
    await written;
    expect(memory.objects.size).toBe(3);
  });

  it('resolves two writes that share one object', async () => {
    const memory = new MemoryObjectStore();
    const sink = writer(memory);
    const first = sink.write(lines(2, 10, 'a'));
    const second = sink.write(lines(2, 10, 'b'));
    await sink.flush();
    await expect(Promise.all([first, second])).resolves.toBeDefined();
    expect(memory.objects.size).toBe(1);
  });
});

describe('retries and health', () => {
  it('retries retriable failures under the same key, then acks', async () => {
    const memory = new MemoryObjectStore();
    const faulty = new FaultyObjectStore(memory, (attempt) => (attempt <= 2 ? throttled() : undefined));
    const sink = writer(faulty, { retry: { ...FAST_RETRY, maxAttempts: 3 } });
    const written = sink.write(lines(4));
    await sink.flush();
    await written;
    expect(faulty.attempts).toBe(3);
    expect(memory.puts).toHaveLength(1);
    expect(sink.health()).toMatchObject({ healthy: true, consecutiveFailures: 0, detail: undefined });
    expect(sink.health().lastSuccessMs).toBeTypeOf('number');
  });

  it('gives up after maxAttempts: the write rejects with a retriable SinkError and nothing is written', async () => {
    const memory = new MemoryObjectStore();
    const keys = new Set<string>();
    const faulty = new FaultyObjectStore(memory, (_attempt, key) => {
      keys.add(key);
      return throttled();
    });
    const sink = writer(faulty, { retry: { ...FAST_RETRY, maxAttempts: 4 } });
    const written = sink.write(lines(3));
    await expect(sink.flush()).rejects.toBeInstanceOf(SinkError);
    const error = await written.catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ code: 'sink_unavailable', retriable: true, sink: 'test' });
    expect((error as SinkError).message).toContain('after 4 attempts');
    expect(faulty.attempts).toBe(4);
    expect(keys.size).toBe(1);
    expect(memory.objects.size).toBe(0);
    const health = sink.health();
    expect(health).toMatchObject({ healthy: false, consecutiveFailures: 4, lastSuccessMs: undefined });
    expect(health.detail).toContain('SlowDown');
  });

  it('does not retry a refusal: sink_rejected, not retriable, unhealthy at once', async () => {
    const faulty = new FaultyObjectStore(new MemoryObjectStore(), () => new ObjectStoreError('rejected', 'AccessDenied', 'Access Denied'));
    const sink = writer(faulty, { maxObjectAgeMs: 1 });
    const error = await sink.write(lines(1)).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'sink_rejected', retriable: false });
    expect(faulty.attempts).toBe(1);
    expect(sink.health()).toMatchObject({ healthy: false, consecutiveFailures: 1 });
    expect(sink.health().detail).toContain('AccessDenied');
  });

  it('treats a programmer error from the store as a refusal and anything else unknown as retriable', async () => {
    const bug = new FaultyObjectStore(new MemoryObjectStore(), () => new TypeError('undefined is not a function'));
    await expect(writer(bug, { maxObjectAgeMs: 1 }).write(lines(1))).rejects.toMatchObject({ code: 'sink_rejected' });
    expect(bug.attempts).toBe(1);
    const flaky = new FaultyObjectStore(new MemoryObjectStore(), (attempt) => (attempt === 1 ? new Error('socket hang up') : undefined));
    await writer(flaky, { maxObjectAgeMs: 1 }).write(lines(1));
    expect(flaky.attempts).toBe(2);
  });

  it('rejects every write with items in a failed object, also one whose other objects were written', async () => {
    const memory = new MemoryObjectStore();
    let failingKey: string | undefined;
    const faulty = new FaultyObjectStore(memory, (_attempt, key) => {
      failingKey ??= key;
      return key === failingKey ? throttled() : undefined;
    });
    const sink = writer(faulty, { maxObjectBytes: 20 });
    const spanning = sink.write(lines(4, 10)); // two objects; the first fails
    await expect(spanning).rejects.toMatchObject({ code: 'sink_unavailable' });
    await expect(sink.flush()).resolves.toBeUndefined();
    expect(memory.objects.size).toBe(1);
    // The next success makes the sink healthy again.
    await writeAndFlush(sink, lines(1));
    expect(sink.health().healthy).toBe(true);
  });

  it('aborts an attempt after attemptTimeoutMs and counts it as retriable', async () => {
    const signals: AbortSignal[] = [];
    class HangingStore extends MemoryObjectStore {
      /** Never completes on its own; honours the abort signal, as the real stores do. */
      override put(_key: string, _body: Uint8Array, options: PutObjectOptions): Promise<void> {
        return new Promise<void>((_resolve, reject) => {
          if (options.signal) signals.push(options.signal);
          options.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
      }
    }
    const sink = writer(new HangingStore(), { maxObjectAgeMs: 1, retry: { ...FAST_RETRY, maxAttempts: 2, attemptTimeoutMs: 20 } });
    const error = await sink.write(lines(1)).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'sink_unavailable', retriable: true });
    expect((error as SinkError).message).toContain('AttemptTimeout');
    expect(signals).toHaveLength(2);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });

  it('backs off with full jitter, doubling up to maxBackoffMs', () => {
    const policy = compileRetryPolicy('test', { initialBackoffMs: 100, maxBackoffMs: 1_000 });
    expect([1, 2, 3, 4, 5, 9].map((failed) => backoffDelayMs(policy, failed, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(0);
  });
});

describe('backpressure', () => {
  it('holds write() while the buffered bytes are at the limit, and takes it once objects are written', async () => {
    const memory = new MemoryObjectStore();
    const gate = new GatedObjectStore(memory);
    // 100-byte objects, one in flight, room for 200 bytes.
    const sink = writer(gate, { maxObjectBytes: 100, maxBufferedBytes: 200, maxInFlightObjects: 1 });
    const first = sink.write(lines(10, 10, 'a'));
    const second = sink.write(lines(10, 10, 'b'));
    const third = sink.write(lines(10, 10, 'c'));
    const fourth = sink.write(lines(1, 10, 'd'));
    await gate.waitForHeld(1);
    expect(sink.backlog()).toEqual({ bufferedBytes: 200, queuedWrites: 2, inFlightObjects: 1 });
    expect(await promiseState(third)).toBe('pending');

    gate.releaseOne(); // 'a' written: room for 'c', not yet for 'd'
    await first;
    await gate.waitForHeld(1);
    expect(sink.backlog()).toEqual({ bufferedBytes: 200, queuedWrites: 1, inFlightObjects: 1 });
    expect(await promiseState(fourth)).toBe('pending');

    const draining = (async () => {
      for (let released = 0; released < 2; released++) {
        await gate.waitForHeld(1);
        gate.releaseOne();
      }
    })();
    await sink.flush();
    await Promise.all([second, third, draining]);
    // 'd' sits in the open object now; flush writes it.
    const flushed = sink.flush();
    await gate.waitForHeld(1);
    gate.releaseOne();
    await Promise.all([flushed, fourth]);
    expect(memory.texts().join('')).toBe([...'abcd'].map((tag) => text(lines(tag === 'd' ? 1 : 10, 10, tag))).join(''));
    expect(sink.backlog()).toEqual({ bufferedBytes: 0, queuedWrites: 0, inFlightObjects: 0 });
  });

  it('never holds much more than maxBufferedBytes under a burst against a slow destination', async () => {
    const gate = new GatedObjectStore(new MemoryObjectStore());
    const sink = writer(gate, { maxObjectBytes: 1_000, maxBufferedBytes: 4_000, maxInFlightObjects: 2 });
    const writes = Array.from({ length: 100 }, (_, index) => sink.write(lines(10, 50, `w${index}-`))); // 500 bytes each
    let peak = 0;
    for (let released = 0; released < 50; released++) {
      await gate.waitForHeld(1);
      peak = Math.max(peak, sink.backlog().bufferedBytes);
      gate.releaseOne();
    }
    // The limit, plus at most one admitted call that found the writer just below it.
    expect(peak).toBeLessThanOrEqual(4_000 + 500);
    await Promise.all(writes);
  });
});

describe('flush and close', () => {
  it('close() writes the open object without waiting for its age, then refuses writes', async () => {
    const memory = new MemoryObjectStore();
    const sink = writer(memory);
    const written = sink.write(lines(3));
    await sink.close();
    await written;
    expect(memory.objects.size).toBe(1);
    await expect(sink.write(lines(1))).rejects.toMatchObject({ code: 'sink_closed', retriable: false });
  });

  it('close() also writes calls that were waiting for room', async () => {
    const memory = new MemoryObjectStore();
    const gate = new GatedObjectStore(memory);
    const sink = writer(gate, { maxObjectBytes: 100, maxBufferedBytes: 100, maxInFlightObjects: 1 });
    const writes = [sink.write(lines(10, 10, 'a')), sink.write(lines(5, 10, 'b')), sink.write(lines(5, 10, 'c'))];
    const closed = sink.close();
    // 'a' fills an object; closing, 'b' and 'c' each become one as room frees up.
    for (let released = 0; released < 3; released++) {
      await gate.waitForHeld(1);
      gate.releaseOne();
    }
    await Promise.all([closed, ...writes]);
    expect(memory.texts().join('')).toBe(text([...lines(10, 10, 'a'), ...lines(5, 10, 'b'), ...lines(5, 10, 'c')]));
  });

  it('close() rejects with the failure of an object it waited for, after everything settled', async () => {
    const sink = writer(new FaultyObjectStore(new MemoryObjectStore(), () => throttled()));
    const written = sink.write(lines(1));
    await expect(sink.close()).rejects.toMatchObject({ code: 'sink_unavailable' });
    await expect(written).rejects.toMatchObject({ code: 'sink_unavailable' });
  });
});

describe('object keys', () => {
  it('partitions by the UTC hour of the object start and names the worker', async () => {
    const memory = new MemoryObjectStore();
    const startMs = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const sink = writer(memory, {}, { workerId: 'ip-10-0-1-2.ec2.internal/7', now: () => startMs });
    await writeAndFlush(sink, lines(1));
    const [key] = [...memory.objects.keys()];
    expect(key).toMatch(/^2025\/01\/02\/03\/1735787045678-ip_10_0_1_2\.ec2\.internal_7-[0-9a-f]{8}-000000\.ndjson$/);
    expect(objectStartMs(key ?? '')).toBe(startMs);
    expect(hourPrefix(startMs)).toBe('2025/01/02/03/');
    expect(keySafeWorkerId('a-b/c d')).toBe('a_b_c_d');
  });

  it('never repeats a key: two writers with one worker id and one clock (a restart), many objects each', async () => {
    const memory = new MemoryObjectStore();
    const now = (): number => Date.UTC(2025, 5, 1);
    const sinks = [writer(memory, { maxObjectLines: 1 }, { now }), writer(memory, { maxObjectLines: 1 }, { now })];
    await Promise.all(sinks.map((sink) => sink.write(lines(50))));
    await Promise.all(sinks.map((sink) => sink.flush()));
    expect(memory.puts).toHaveLength(100);
    expect(memory.objects.size).toBe(100);
  });
});
