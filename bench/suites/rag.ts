/**
 * The embedded vector store's search: top-10 by cosine over 100k stored
 * vectors (256 dimensions, the local embedder's default), the target
 * being well under 100 ms. Baseline: the naive way, every score into an
 * array, sorted, the first 10 kept; and the store's JavaScript fallback
 * loop without the heap. Vectors are random unit vectors (search
 * cost does not depend on what they encode); queries rotate over 16.
 */
import type { BenchSuite } from '../harness.js';
import { RAG_DEFAULTS } from '../../src/config/rag-config.js';
import { VectorArena } from '../../src/pipeline/rag/dot-kernel.js';
import { FlatCollection } from '../../src/pipeline/rag/flat-store.js';
import type { ItemKind } from '../../src/pipeline/rag/vector-store.js';

const K = 10;
const TARGET_MS = 100;

function unitVectors(count: number, dim: number, seed: number): Float32Array {
  const out = new Float32Array(count * dim);
  let x = seed >>> 0;
  for (let v = 0; v < count; v++) {
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
      const value = x / 2 ** 32 - 0.5;
      out[v * dim + i] = value;
      norm += value * value;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[v * dim + i]! *= scale;
  }
  return out;
}

export function ragSuite(options: { quick: boolean }): BenchSuite {
  const count = options.quick ? 5_000 : 100_000;
  const dim = RAG_DEFAULTS.localDimensions;
  const vectors = unitVectors(count, dim, 42);
  const collection = new FlatCollection('bench', `local-hash-v1:${dim}`, dim, undefined, count);
  const batch = 1000;
  for (let start = 0; start < count; start += batch) {
    collection.add(Array.from({ length: Math.min(batch, count - start) }, (_, j) => {
      const i = start + j;
      return {
        id: `incident:${i.toString(16).padStart(16, '0')}`,
        vector: vectors.subarray(i * dim, (i + 1) * dim),
        metadata: { kind: (i % 10 === 0 ? 'runbook' : 'incident') as ItemKind, service: `service-${i % 8}`, timeMs: i, source: String(i), payload: '{}' },
      };
    }));
  }
  const queries = Array.from({ length: 16 }, (_, q) => unitVectors(1, dim, 1000 + q));
  let next = 0;
  const query = (): Float32Array => queries[next++ % queries.length]!;
  const scalar = new VectorArena(dim, count, false);
  for (let i = 0; i < count; i++) scalar.set(i, vectors.subarray(i * dim, (i + 1) * dim));
  const scores = new Float64Array(count);
  const order = Array.from({ length: count }, (_, i) => i);

  return {
    name: 'rag',
    description: `embedded vector store: top-${K} cosine search over ${count.toLocaleString('en-US')} vectors of ${dim} dimensions`,
    unit: 'search',
    cases: [
      {
        name: 'naive: score all, sort, take 10',
        baseline: true,
        unitsPerOp: 1,
        fn: () => {
          const q = query();
          for (let row = 0; row < count; row++) {
            let s = 0;
            const base = row * dim;
            for (let i = 0; i < dim; i++) s += vectors[base + i]! * q[i]!;
            scores[row] = s;
          }
          return order.sort((a, b) => scores[b]! - scores[a]!).slice(0, K);
        },
      },
      { name: 'all scores, JavaScript loop (the fallback without SIMD)', unitsPerOp: 1, fn: () => scalar.scores(query(), count) },
      { name: `FlatCollection top-${K}`, unitsPerOp: 1, fn: () => collection.searchSync(query(), K) },
      { name: `FlatCollection top-${K}, kind=incident`, unitsPerOp: 1, fn: () => collection.searchSync(query(), K, { kind: 'incident' }) },
      { name: `FlatCollection top-${K}, service filter`, unitsPerOp: 1, fn: () => collection.searchSync(query(), K, { kind: 'incident', service: 'service-3' }) },
    ],
    notes: (result) => result.cases.filter((c) => c.name.startsWith('FlatCollection')).map((c) =>
      `${c.name}: median ${(c.medianUs / 1000).toFixed(1)} ms (target: well under ${TARGET_MS} ms${options.quick ? '; quick mode searches fewer vectors' : ''})`),
  };
}
