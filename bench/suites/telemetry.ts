/**
 * What observability costs the main thread per record: turning archive lines
 * into bulk items for OpenSearch (only the `_cali` tail parsed) against a
 * full JSON.parse of each line, and feeding the metrics from one
 * batch.completed event per batch, amortised over the batch's records.
 */
import type { BenchSuite } from '../harness.js';
import { PipelineEventBus } from '../../src/pipeline/events.js';
import { packBatch } from '../../src/pipeline/pack.js';
import { bulkItemOf, linesOf } from '../../src/pipeline/sinks/opensearch/request.js';
import { LogSimulator } from '../../src/simulator/generator.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { compileFingerprinter } from '../../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../../src/workers/process-batch.js';
import { WORKER_SETTINGS } from '../../src/main.js';

const RECORDS = 1000;

export function telemetrySuite(): BenchSuite {
  const simulator = new LogSimulator({ seed: 12, errorRatio: 0.05, invalidRatio: 0 });
  const records = Array.from({ length: RECORDS }, (_, i) => ({ data: simulator.next().data, sequenceNumber: `4965${String(i).padStart(20, '0')}`, partitionKey: 'k', approximateArrivalMs: Date.now() }));
  const result = compileBatchProcessor(WORKER_SETTINGS, compileFingerprinter())(packBatch('shardId-000000000000', records).task);
  const chunk = { bytes: result.archive, lines: result.archiveLines };
  const lines = [...linesOf([chunk])];
  if (lines.length !== RECORDS) throw new Error('telemetry bench: the worker did not archive every record');

  const bus = new PipelineEventBus();
  new Telemetry({ workerId: 'bench' }).watchPipeline(bus);
  const event = {
    shardId: 'shardId-000000000000', records: RECORDS, subRecords: RECORDS, valid: RECORDS, invalid: 0, durationMs: 120, millisBehindLatest: 0,
    firstSequenceNumber: '1', lastSequenceNumber: '2', oldestArrivalAgeMs: 800, fingerprinted: 50, workerBusyMs: 40, deadLetterReasons: { schema_violation: 3 },
  };

  return {
    name: 'telemetry',
    description: `main-thread cost of metrics and search indexing, ${RECORDS} archive lines per op (avg ${Math.round(chunk.bytes.byteLength / RECORDS)} bytes)`,
    unit: 'record',
    cases: [
      {
        name: 'JSON.parse of each archive line',
        baseline: true,
        unitsPerOp: RECORDS,
        fn: () => {
          let n = 0;
          for (const line of lines) n += Object.keys(JSON.parse(line) as object).length;
          return n;
        },
      },
      {
        name: 'bulk items from the archive chunk (split, _cali tail, id, index)',
        unitsPerOp: RECORDS,
        fn: () => {
          let bytes = 0;
          for (const line of linesOf([chunk])) bytes += bulkItemOf(line, 'cali-logs', 0)!.bytes;
          return bytes;
        },
      },
      {
        name: 'metrics from one batch.completed per batch',
        unitsPerOp: RECORDS,
        fn: () => bus.emit('batch.completed', event),
      },
    ],
  };
}
