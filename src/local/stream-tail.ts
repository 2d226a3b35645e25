/**
 * A read-only look at what arrives in the local stream, for `cali local`'s
 * status line: it follows every open shard from TRIM_HORIZON and counts the
 * records that parse as JSON. It checkpoints nothing and leases nothing; the
 * real consumer is the pipeline's.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

export interface TailCounts {
  records: number;
  json: number;
  bytes: number;
  millisBehindLatest: number;
}

const POLL_MS = 250;
const decoder = new TextDecoder();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parsesAsJson(data: Uint8Array): boolean {
  try {
    JSON.parse(decoder.decode(data));
    return true;
  } catch {
    return false;
  }
}

export class StreamTail {
  readonly counts: TailCounts = { records: 0, json: 0, bytes: 0, millisBehindLatest: 0 };
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly client: KinesisClient, private readonly streamName: string) {}

  async start(): Promise<void> {
    const { Shards = [] } = await this.client.send(new ListShardsCommand({ StreamName: this.streamName }));
    this.loops = Shards.map((shard) => this.follow(shard.ShardId!));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.loops);
  }

  private async follow(shardId: string): Promise<void> {
    let { ShardIterator: iterator } = await this.client.send(new GetShardIteratorCommand({
      StreamName: this.streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON',
    }));
    while (iterator && !this.stopped) {
      const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const record of page.Records ?? []) {
        this.counts.records++;
        this.counts.bytes += record.Data?.byteLength ?? 0;
        if (record.Data && parsesAsJson(record.Data)) this.counts.json++;
      }
      this.counts.millisBehindLatest = page.MillisBehindLatest ?? 0;
      iterator = page.NextShardIterator;
      if ((page.Records?.length ?? 0) === 0) await sleep(POLL_MS);
    }
  }
}
