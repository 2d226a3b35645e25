/**
 * The embedded vector store: an exact (flat) index, one file per collection
 * in a local directory. Vectors sit contiguously in one WebAssembly memory,
 * so a search is one SIMD scan of dot products (dot-kernel.ts; the vectors
 * are unit length: dot product = cosine) and a k-sized min-heap over the
 * scores; 100k vectors of 256 dimensions is ~26M multiply-adds. Exact search needs
 * no tuning and no index build; past a few hundred thousand items, use Milvus.
 *
 * File: `CALIKB1\n`, a uint32 header length, the JSON header (model,
 * dimension, ids and metadata), padding to 4 bytes, then the vectors. Every
 * change rewrites the file to a temporary name, fsyncs it and renames it over
 * the old one: a crash leaves the old or the new collection, never half of one.
 * Writes are serialised; the knowledge base changes rarely (one incident per
 * new fingerprint window, runbook ingests).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CaliError } from '../../errors.js';
import { VectorArena } from './dot-kernel.js';
import { matches, modelMismatch, type CollectionSpec, type ItemKind, type ItemMetadata, type SearchFilter, type SearchHit, type VectorCollection, type VectorItem, type VectorStore } from './vector-store.js';

const MAGIC = Buffer.from('CALIKB1\n', 'ascii');
const KIND_CODE: Record<ItemKind, number> = { incident: 1, runbook: 2 };
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

interface FileHeader {
  readonly modelId: string;
  readonly dimension: number;
  readonly items: readonly { readonly id: string; readonly metadata: ItemMetadata }[];
}

export function checkCollectionName(name: string): void {
  if (!NAME.test(name)) {
    throw new CaliError('CALI_ERR_CONFIG', `CALI_RAG_COLLECTION is "${name}": use a letter or "_" then up to 254 letters, digits or "_" (Milvus' rule, kept for both stores)`);
  }
}

export class FlatCollection implements VectorCollection {
  readonly #arena: VectorArena;
  #count = 0;
  #ids: string[] = [];
  #metadata: ItemMetadata[] = [];
  #kinds: Uint8Array;
  readonly #positions = new Map<string, number>();
  #writes: Promise<void> = Promise.resolve();

  constructor(readonly name: string, readonly modelId: string, readonly dimension: number, private readonly file: string | undefined, capacity = 64) {
    this.#arena = new VectorArena(dimension, capacity);
    this.#kinds = new Uint8Array(capacity);
  }

  static async load(name: string, file: string, spec: CollectionSpec): Promise<FlatCollection> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new FlatCollection(name, spec.modelId, spec.dimension, file);
      throw new CaliError('CALI_ERR_VECTOR_STORE', `cannot read the knowledge base file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): check CALI_RAG_DIR and its permissions`, { cause: error });
    }
    const corrupt = (why: string): CaliError =>
      new CaliError('CALI_ERR_VECTOR_STORE', `knowledge base file ${file} is damaged (${why}): restore it from a backup, or move it away and re-ingest the runbooks`);
    if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) throw corrupt('not a CALI knowledge base');
    const headerLength = bytes.readUInt32LE(8);
    let header: FileHeader;
    try {
      header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as FileHeader;
    } catch {
      throw corrupt('header is not JSON');
    }
    if (header.modelId !== spec.modelId || header.dimension !== spec.dimension) throw modelMismatch(name, header, spec);
    const start = align4(12 + headerLength);
    const floats = header.items.length * header.dimension;
    if (bytes.length !== start + floats * 4) throw corrupt(`expected ${start + floats * 4} bytes, found ${bytes.length}`);
    const collection = new FlatCollection(name, header.modelId, header.dimension, file, Math.max(64, header.items.length));
    const vectors = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + floats * 4));
    header.items.forEach((item, i) => {
      collection.#arena.set(i, vectors.subarray(i * header.dimension, (i + 1) * header.dimension));
      collection.#place(i, item.id, item.metadata);
    });
    collection.#count = header.items.length;
    return collection;
  }

  #place(position: number, id: string, metadata: ItemMetadata): void {
    this.#ids[position] = id;
    this.#metadata[position] = metadata;
    this.#kinds[position] = KIND_CODE[metadata.kind];
    this.#positions.set(id, position);
  }

  #grow(needed: number): void {
    const capacity = this.#kinds.length;
    if (needed <= capacity) return;
    const next = Math.max(needed, capacity * 2);
    this.#arena.grow(next);
    const kinds = new Uint8Array(next);
    kinds.set(this.#kinds.subarray(0, this.#count));
    this.#kinds = kinds;
  }

  /** Adds items without persisting (bulk loads, the bench); `upsert` persists. */
  add(items: readonly VectorItem[]): void {
    this.#grow(this.#count + items.length);
    for (const item of items) {
      if (item.vector.length !== this.dimension) {
        throw new RangeError(`vector of ${item.id} has ${item.vector.length} dimensions; collection ${this.name} has ${this.dimension}`);
      }
      let position = this.#positions.get(item.id);
      if (position === undefined) position = this.#count++;
      this.#arena.set(position, item.vector);
      this.#place(position, item.id, item.metadata);
    }
  }

  async upsert(items: readonly VectorItem[]): Promise<void> {
    this.add(items);
    await this.#persist();
  }

  search(vector: Float32Array, k: number, filter?: SearchFilter): Promise<SearchHit[]> {
    return Promise.resolve(this.searchSync(vector, k, filter));
  }

  searchSync(query: Float32Array, k: number, filter?: SearchFilter): SearchHit[] {
    if (query.length !== this.dimension) throw new RangeError(`query has ${query.length} dimensions; collection ${this.name} has ${this.dimension}`);
    if (k <= 0 || this.#count === 0) return [];
    const heapScores = new Float64Array(k);
    const heapRows = new Int32Array(k);
    let size = 0;
    const scores = this.#arena.scores(query, this.#count);
    const kinds = this.#kinds;
    const kindCode = filter?.kind !== undefined ? KIND_CODE[filter.kind] : 0;
    const slowFilter = filter && (filter.service !== undefined || filter.source !== undefined || filter.sinceMs !== undefined || filter.untilMs !== undefined);
    for (let row = 0; row < this.#count; row++) {
      if (kindCode !== 0 && kinds[row] !== kindCode) continue;
      if (slowFilter && !matches(this.#metadata[row]!, filter)) continue;
      const score = scores[row]!;
      if (size < k) {
        // Sift up into the min-heap.
        let at = size++;
        while (at > 0) {
          const parent = (at - 1) >> 1;
          if (heapScores[parent]! <= score) break;
          heapScores[at] = heapScores[parent]!;
          heapRows[at] = heapRows[parent]!;
          at = parent;
        }
        heapScores[at] = score;
        heapRows[at] = row;
      } else if (score > heapScores[0]!) {
        // Replace the worst and sift down.
        let at = 0;
        for (;;) {
          const left = 2 * at + 1;
          if (left >= size) break;
          const right = left + 1;
          const child = right < size && heapScores[right]! < heapScores[left]! ? right : left;
          if (heapScores[child]! >= score) break;
          heapScores[at] = heapScores[child]!;
          heapRows[at] = heapRows[child]!;
          at = child;
        }
        heapScores[at] = score;
        heapRows[at] = row;
      }
    }
    const hits: SearchHit[] = [];
    for (let i = 0; i < size; i++) hits.push({ id: this.#ids[heapRows[i]!]!, score: heapScores[i]!, metadata: this.#metadata[heapRows[i]!]! });
    return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }

  get(id: string): Promise<VectorItem | undefined> {
    const position = this.#positions.get(id);
    if (position === undefined) return Promise.resolve(undefined);
    return Promise.resolve({ id, vector: this.#arena.get(position), metadata: this.#metadata[position]! });
  }

  async delete(filter: SearchFilter): Promise<number> {
    let kept = 0;
    for (let row = 0; row < this.#count; row++) {
      const metadata = this.#metadata[row]!;
      const id = this.#ids[row]!;
      if (matches(metadata, filter)) {
        this.#positions.delete(id);
        continue;
      }
      if (kept !== row) this.#arena.copyRow(row, kept);
      this.#place(kept, id, metadata);
      kept++;
    }
    const removed = this.#count - kept;
    this.#count = kept;
    this.#ids.length = kept;
    this.#metadata.length = kept;
    if (removed > 0) await this.#persist();
    return removed;
  }

  count(): Promise<number> {
    return Promise.resolve(this.#count);
  }

  #persist(): Promise<void> {
    const file = this.file;
    if (file === undefined) return Promise.resolve();
    // Snapshot now, write in order: the file always holds a state that existed.
    const header: FileHeader = {
      modelId: this.modelId,
      dimension: this.dimension,
      items: this.#ids.slice(0, this.#count).map((id, i) => ({ id, metadata: this.#metadata[i]! })),
    };
    const compact = new Float32Array(this.#count * this.dimension);
    const rows = this.#arena.rows(this.#count);
    const stride = this.#arena.stride;
    for (let row = 0; row < this.#count; row++) compact.set(rows.subarray(row * stride, row * stride + this.dimension), row * this.dimension);
    const vectors = Buffer.from(compact.buffer);
    const write = this.#writes.then(() => writeAtomically(file, header, vectors));
    this.#writes = write.catch(() => {});
    return write;
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

async function writeAtomically(file: string, header: FileHeader, vectors: Buffer): Promise<void> {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(align4(12 + json.length));
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writev([prefix, vectors]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CaliError('CALI_ERR_VECTOR_STORE', `cannot write the knowledge base file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): check free space and the permissions of CALI_RAG_DIR`, { cause: error });
  }
}

export class FlatVectorStore implements VectorStore {
  readonly #open = new Map<string, Promise<FlatCollection>>();

  /** `directory` undefined: in memory only (tests, benchmarks). */
  constructor(private readonly directory: string | undefined) {}

  async open(name: string, spec: CollectionSpec): Promise<FlatCollection> {
    checkCollectionName(name);
    let collection = this.#open.get(name);
    if (!collection) {
      collection = this.#load(name, spec);
      this.#open.set(name, collection);
      collection.catch(() => this.#open.delete(name));
    }
    const opened = await collection;
    if (opened.modelId !== spec.modelId || opened.dimension !== spec.dimension) throw modelMismatch(name, opened, spec);
    return opened;
  }

  async #load(name: string, spec: CollectionSpec): Promise<FlatCollection> {
    if (this.directory === undefined) return new FlatCollection(name, spec.modelId, spec.dimension, undefined);
    try {
      await mkdir(this.directory, { recursive: true });
    } catch (error) {
      throw new CaliError('CALI_ERR_VECTOR_STORE', `cannot create CALI_RAG_DIR ${this.directory} (${(error as NodeJS.ErrnoException).code ?? 'error'}): point it at a writable directory`, { cause: error });
    }
    return FlatCollection.load(name, join(this.directory, `${name}.kb`), spec);
  }

  close(): Promise<void> {
    this.#open.clear();
    return Promise.resolve();
  }
}
