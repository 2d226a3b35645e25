/**
 * A stand-in for Milvus at the transport level: a @grpc/grpc-js server that
 * loads the proto definitions the SDK ships (its proto-json), so the SDK
 * talks real gRPC to it. Every call is recorded (service, method, decoded
 * request); it keeps collections in memory and answers the calls the adapter
 * makes: exact COSINE search, the simple `field == "x" && time_ms >= n`
 * expressions the adapter writes, upsert, query by id, count, delete.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import milvusProto from '@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus.js';
import protobuf from 'protobufjs';

export interface RecordedCall {
  readonly service: string;
  readonly method: string;
  readonly request: Record<string, unknown>;
}

interface Field {
  readonly name: string;
  readonly data_type: string;
  readonly is_primary_key?: boolean;
  readonly type_params?: { key: string; value: string }[];
}

interface Collection {
  readonly schema: { name: string; description: string; fields: Field[] } & Record<string, unknown>;
  readonly rows: Map<string, Record<string, unknown>>;
  loaded: boolean;
}

type Row = Record<string, unknown>;

const OK = { error_code: 'Success', code: 0, reason: '' };
const root = protobuf.Root.fromJSON(milvusProto as protobuf.INamespace);
const CollectionSchema = root.lookupType('milvus.proto.schema.CollectionSchema');
const PlaceholderGroup = root.lookupType('milvus.proto.common.PlaceholderGroup');

function fail(reason: string, code = 100): { status: typeof OK } {
  return { status: { error_code: 'UnexpectedError', code, reason } };
}

/** `a == "x" && b >= 3`: the subset the adapter writes. */
export function evaluate(expression: string, row: Row): boolean {
  if (!expression.trim()) return true;
  return expression.split('&&').every((term) => {
    const m = /^\s*(\w+)\s*(==|!=|>=|<=)\s*(".*"|-?\d+)\s*$/.exec(term);
    if (!m) throw new Error(`stand-in cannot evaluate "${term}"`);
    const value = m[3]!.startsWith('"') ? (JSON.parse(m[3]!) as string) : Number(m[3]);
    const actual = typeof value === 'number' ? Number(row[m[1]!]) : row[m[1]!];
    switch (m[2]) {
      case '==': return actual === value;
      case '!=': return actual !== value;
      case '>=': return (actual as number) >= (value as number);
      default: return (actual as number) <= (value as number);
    }
  });
}

function columnsToRows(fieldsData: Record<string, unknown>[]): Row[] {
  const rows: Row[] = [];
  for (const field of fieldsData) {
    const name = field.field_name as string;
    let values: unknown[];
    const scalars = field.scalars as Record<string, { data: unknown[] } | undefined> | undefined;
    const vectors = field.vectors as { dim: number; float_vector?: { data: number[] } } | undefined;
    if (vectors?.float_vector) {
      const dim = Number(vectors.dim);
      const flat = vectors.float_vector.data;
      values = Array.from({ length: flat.length / dim }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
    } else {
      values = scalars?.string_data?.data ?? scalars?.long_data?.data?.map(Number) ?? [];
    }
    values.forEach((value, i) => {
      rows[i] ??= {};
      rows[i]![name] = value;
    });
  }
  return rows;
}

function rowsToColumns(collection: Collection, rows: Row[], names: readonly string[]): Record<string, unknown>[] {
  return names.map((name) => {
    const field = collection.schema.fields.find((f) => f.name === name);
    if (!field) throw new Error(`no field ${name}`);
    if (field.data_type === 'FloatVector') {
      const dim = Number(field.type_params?.find((p) => p.key === 'dim')?.value);
      return { field_name: name, type: 'FloatVector', vectors: { dim, float_vector: { data: rows.flatMap((r) => r[name] as number[]) } } };
    }
    if (field.data_type === 'Int64') return { field_name: name, type: 'Int64', scalars: { long_data: { data: rows.map((r) => r[name]) } } };
    return { field_name: name, type: 'VarChar', scalars: { string_data: { data: rows.map((r) => r[name]) } } };
  });
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function kv(pairs: unknown): Record<string, string> {
  return Object.fromEntries(((pairs ?? []) as { key: string; value: string }[]).map((p) => [p.key, p.value]));
}

export class MilvusStandIn {
  readonly calls: RecordedCall[] = [];
  readonly collections = new Map<string, Collection>();
  /** Methods that answer with this status instead (e.g. to test error handling). */
  readonly failures = new Map<string, string>();
  #server: grpc.Server | undefined;

  methods(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async start(): Promise<string> {
    const definition = fromJSON(milvusProto as protobuf.INamespace, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      milvus: { proto: { milvus: Record<string, { service: grpc.ServiceDefinition }> } };
    };
    const server = new grpc.Server();
    for (const serviceName of ['MilvusService', 'ClientTelemetryService']) {
      const service = loaded.milvus.proto.milvus[serviceName]!.service;
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const method of Object.keys(service)) {
        handlers[method] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          this.calls.push({ service: serviceName, method, request: call.request });
          const failure = this.failures.get(method);
          try {
            callback(null, failure ? fail(failure) : this.#answer(method, call.request));
          } catch (error) {
            callback({ code: grpc.status.INTERNAL, details: (error as Error).message });
          }
        };
      }
      server.addService(service, handlers);
    }
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    this.#server = server;
    return `127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.tryShutdown(() => resolve()) : resolve()));
    this.#server?.forceShutdown();
  }

  #collection(request: Record<string, unknown>): Collection {
    const collection = this.collections.get(request.collection_name as string);
    if (!collection) throw new Error(`collection not found: ${String(request.collection_name)}`);
    return collection;
  }

  #answer(method: string, request: Record<string, unknown>): unknown {
    switch (method) {
      case 'Connect':
        return { status: OK, server_info: { build_tags: 'stand-in', deploy_mode: 'STANDALONE', reserved: {} }, identifier: 1 };
      case 'HasCollection':
        return { status: OK, value: this.collections.has(request.collection_name as string) };
      case 'CreateCollection': {
        const schema = CollectionSchema.toObject(CollectionSchema.decode(request.schema as Uint8Array), { enums: String, longs: Number, defaults: true }) as Collection['schema'];
        this.collections.set(request.collection_name as string, { schema, rows: new Map(), loaded: false });
        return OK;
      }
      case 'DescribeCollection': {
        const collection = this.collections.get(request.collection_name as string);
        if (!collection) return fail(`collection not found[collection=${String(request.collection_name)}]`);
        return {
          status: OK, schema: collection.schema, collectionID: 1, collection_name: request.collection_name, consistency_level: 'Strong',
          properties: [], aliases: [], virtual_channel_names: [], physical_channel_names: [], start_positions: [], shards_num: 1, db_name: 'default',
        };
      }
      case 'LoadCollection':
        this.#collection(request).loaded = true;
        return OK;
      case 'GetLoadingProgress':
        return { status: OK, progress: this.#collection(request).loaded ? 100 : 0, refresh_progress: 100 };
      case 'GetLoadState':
        return { status: OK, state: this.#collection(request).loaded ? 'LoadStateLoaded' : 'LoadStateNotLoad' };
      case 'Upsert':
      case 'Insert': {
        const collection = this.#collection(request);
        const primary = collection.schema.fields.find((f) => f.is_primary_key)!.name;
        const rows = columnsToRows(request.fields_data as Record<string, unknown>[]);
        for (const row of rows) collection.rows.set(row[primary] as string, row);
        return { status: OK, IDs: { str_id: { data: rows.map((r) => r[primary]) } }, upsert_cnt: rows.length, insert_cnt: rows.length, succ_index: rows.map((_, i) => i), err_index: [] };
      }
      case 'Delete': {
        const collection = this.#collection(request);
        let count = 0;
        for (const [id, row] of collection.rows) if (evaluate(request.expr as string, row)) { collection.rows.delete(id); count++; }
        return { status: OK, delete_cnt: count, IDs: { str_id: { data: [] } } };
      }
      case 'Query': {
        const collection = this.#collection(request);
        const fields = request.output_fields as string[];
        const rows = [...collection.rows.values()].filter((row) => evaluate(request.expr as string, row));
        if (fields.includes('count(*)')) {
          return { status: OK, output_fields: ['count(*)'], fields_data: [{ field_name: 'count(*)', type: 'Int64', scalars: { long_data: { data: [rows.length] } } }], collection_name: request.collection_name };
        }
        const limit = Number(kv(request.query_params).limit ?? rows.length);
        return { status: OK, output_fields: fields, fields_data: rowsToColumns(collection, rows.slice(0, limit), fields), collection_name: request.collection_name };
      }
      case 'Search': {
        const collection = this.#collection(request);
        if (!collection.loaded) return fail('collection not loaded', 101);
        const params = kv(request.search_params);
        const group = PlaceholderGroup.toObject(PlaceholderGroup.decode(request.placeholder_group as Uint8Array)) as { placeholders: { values: Uint8Array[] }[] };
        const bytes = group.placeholders[0]!.values[0]!;
        const query = Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
        const vectorField = params.anns_field ?? 'vector';
        const topk = Number(params.topk ?? params.limit);
        const hits = [...collection.rows.values()]
          .filter((row) => evaluate((request.dsl as string) ?? '', row))
          .map((row) => ({ row, score: cosine(query, row[vectorField] as number[]) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, topk);
        const fields = request.output_fields as string[];
        const primary = collection.schema.fields.find((f) => f.is_primary_key)!.name;
        return {
          status: OK,
          collection_name: request.collection_name,
          results: {
            num_queries: 1, top_k: topk, topks: [hits.length], scores: hits.map((h) => h.score),
            ids: { str_id: { data: hits.map((h) => h.row[primary]) } },
            fields_data: rowsToColumns(collection, hits.map((h) => h.row), fields), output_fields: fields,
          },
        };
      }
      default:
        return { status: OK };
    }
  }
}
