import type { KinesisClient, PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { KinesisProducer, PUT_RECORDS_MAX_BYTES, putRecordsBatches, type ProducerEntry } from '../src/simulator/producer.js';

const entry = (bytes: number, key = 'k'): ProducerEntry => ({ data: new Uint8Array(bytes), partitionKey: key });

/** A Kinesis client whose PutRecords fails the entries chosen by `fail` (call number, entry index). */
function fakeClient(fail: (call: number, index: number) => boolean) {
  const calls: number[][] = [];
  const client = {
    send: async (command: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
      const records = command.input.Records ?? [];
      const call = calls.length;
      calls.push(records.map((r) => r.Data![0]!));
      const results = records.map((_, i) => (fail(call, i)
        ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard shardId-000000000001' }
        : { SequenceNumber: String(i), ShardId: 'shardId-000000000000' }));
      return { FailedRecordCount: results.filter((r) => 'ErrorCode' in r).length, Records: results, $metadata: {} };
    },
  } as unknown as Pick<KinesisClient, 'send'>;
  return { client, calls };
}

describe('PutRecords batching', () => {
  it('splits at 500 entries and at 5 MiB, keeping order', () => {
    const many = Array.from({ length: 1234 }, (_, i) => entry(10, String(i)));
    expect([...putRecordsBatches(many)].map((b) => b.length)).toEqual([500, 500, 234]);
    const big = Array.from({ length: 12 }, () => entry(1024 * 1024 - 1));
    const batches = [...putRecordsBatches(big)];
    expect(batches.map((b) => b.length)).toEqual([5, 5, 2]);
    expect([...putRecordsBatches([...big.slice(0, 5), entry(2)])].map((b) => b.length)).toEqual([5, 1]);
    for (const batch of batches) {
      expect(batch.reduce((n, e) => n + e.data.byteLength + e.partitionKey.length, 0)).toBeLessThanOrEqual(PUT_RECORDS_MAX_BYTES);
    }
  });
});

describe('KinesisProducer', () => {
  it('resends only the failed entries until they succeed', async () => {
    const { client, calls } = fakeClient((call, i) => call === 0 && i % 2 === 1);
    const producer = new KinesisProducer(client, { streamName: 's', baseBackoffMs: 1 });
    const entries = Array.from({ length: 6 }, (_, i) => ({ data: new Uint8Array([i]), partitionKey: 'p' }));
    const outcome = await producer.put(entries);
    expect(calls).toEqual([[0, 1, 2, 3, 4, 5], [1, 3, 5]]);
    expect(outcome).toEqual({ sent: 6, retried: 3 });
  });

  it('gives up with a typed error after maxAttempts', async () => {
    const { client, calls } = fakeClient((_, i) => i === 0);
    const producer = new KinesisProducer(client, { streamName: 's', maxAttempts: 3, baseBackoffMs: 1 });
    await expect(producer.put([entry(1), entry(1)])).rejects.toMatchObject({
      code: 'CALI_ERR_PUT_RECORDS',
      message: expect.stringContaining('ProvisionedThroughputExceededException'),
    });
    expect(calls.length).toBe(3);
  });
});
