/**
 * Where the flat store keeps its vectors: one WebAssembly memory holding the
 * query, the score of every row, then the rows themselves (stride = dimension
 * rounded up to 4, zero-padded). A search copies the query in and runs the
 * SIMD kernel (dot-kernel.wat) over every row: about 5x the plain JavaScript
 * loop, which remains as the fallback where WebAssembly SIMD is unavailable.
 */
import { DOT_KERNEL_WASM_BASE64 } from './dot-kernel-wasm.js';

type ScoresFn = (vectors: number, query: number, rows: number, stride: number, out: number) => void;

/** The part of the WebAssembly JS API used here (the project's lib settings do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  readonly Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65_536;

let compiled: object | null | undefined;

function kernelModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new wasm.Module(Buffer.from(DOT_KERNEL_WASM_BASE64, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled ?? null;
}

export class VectorArena {
  readonly stride: number;
  #capacity = 0;
  readonly #memory = new wasm.Memory({ initial: 1 });
  readonly #kernel: ScoresFn | undefined;
  #floats!: Float32Array;

  constructor(readonly dimension: number, capacity: number, useSimd = true) {
    this.stride = Math.ceil(dimension / 4) * 4;
    const module = useSimd ? kernelModule() : null;
    this.#kernel = module ? (new wasm.Instance(module, { env: { memory: this.#memory } }).exports.scores as ScoresFn) : undefined;
    this.grow(Math.max(1, capacity));
  }

  get simd(): boolean {
    return this.#kernel !== undefined;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Float offsets: [query: stride][scores: capacity][rows: capacity * stride]. */
  #scoresAt(): number {
    return this.stride;
  }

  #rowsAt(capacity = this.#capacity): number {
    return this.stride + capacity;
  }

  grow(capacity: number): void {
    if (capacity <= this.#capacity) return;
    const oldRowsAt = this.#rowsAt();
    const oldFloats = this.#capacity * this.stride;
    const bytes = (this.#rowsAt(capacity) + capacity * this.stride) * 4;
    const pages = Math.ceil(bytes / PAGE) - this.#memory.buffer.byteLength / PAGE;
    if (pages > 0) this.#memory.grow(pages);
    const floats = new Float32Array(this.#memory.buffer);
    // Rows move up as the scores region grows (memmove semantics).
    floats.copyWithin(this.#rowsAt(capacity), oldRowsAt, oldRowsAt + oldFloats);
    floats.fill(0, this.#scoresAt(), this.#rowsAt(capacity));
    this.#capacity = capacity;
    this.#floats = floats;
  }

  set(row: number, vector: Float32Array): void {
    const at = this.#rowsAt() + row * this.stride;
    this.#floats.set(vector, at);
    if (this.stride !== this.dimension) this.#floats.fill(0, at + this.dimension, at + this.stride);
  }

  get(row: number): Float32Array {
    const at = this.#rowsAt() + row * this.stride;
    return this.#floats.slice(at, at + this.dimension);
  }

  copyRow(from: number, to: number): void {
    const base = this.#rowsAt();
    this.#floats.copyWithin(base + to * this.stride, base + from * this.stride, base + (from + 1) * this.stride);
  }

  /** The rows, contiguous, `stride` floats each (a view: valid until the next grow). */
  rows(count: number): Float32Array {
    const at = this.#rowsAt();
    return this.#floats.subarray(at, at + count * this.stride);
  }

  /** Scores of rows [0, count) against the query (a view: valid until the next call or grow). */
  scores(query: Float32Array, count: number): Float32Array {
    const floats = this.#floats;
    const queryAt = 0;
    floats.set(query, queryAt);
    floats.fill(0, queryAt + query.length, queryAt + this.stride);
    const scoresAt = this.#scoresAt();
    const rowsAt = this.#rowsAt();
    if (this.#kernel) {
      this.#kernel(rowsAt * 4, queryAt * 4, count, this.stride, scoresAt * 4);
    } else {
      const stride = this.stride;
      for (let row = 0; row < count; row++) {
        let base = rowsAt + row * stride;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let i = 0; i < stride; i += 4, base += 4) {
          s0 += floats[base]! * floats[i]!;
          s1 += floats[base + 1]! * floats[i + 1]!;
          s2 += floats[base + 2]! * floats[i + 2]!;
          s3 += floats[base + 3]! * floats[i + 3]!;
        }
        floats[scoresAt + row] = s0 + s1 + s2 + s3;
      }
    }
    return floats.subarray(scoresAt, scoresAt + count);
  }
}
