/** The flat store's SIMD kernel: the checked-in bytes are the .wat compiled, and it scores as the JavaScript loop does. */
import { readFile } from 'node:fs/promises';
import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { DOT_KERNEL_WASM_BASE64 } from '../src/pipeline/rag/dot-kernel-wasm.js';
import { VectorArena } from '../src/pipeline/rag/dot-kernel.js';

function vector(dim: number, seed: number): Float32Array {
  return Float32Array.from({ length: dim }, (_, i) => Math.sin(seed * 31 + i * 7.3));
}

describe('dot kernel', () => {
  it('dot-kernel-wasm.ts is dot-kernel.wat compiled (run scripts/build-dot-kernel.mjs after editing the .wat)', async () => {
    const wabt = await wabtInit();
    const module = wabt.parseWat('dot-kernel.wat', await readFile('src/pipeline/rag/dot-kernel.wat', 'utf8'), { simd: true });
    const bytes = Buffer.from(module.toBinary({}).buffer).toString('base64');
    module.destroy();
    expect(bytes).toBe(DOT_KERNEL_WASM_BASE64);
  });

  it('SIMD scores equal the JavaScript loop, with padding (dimension 37), growth and row moves', () => {
    const simd = new VectorArena(37, 2);
    const plain = new VectorArena(37, 2, false);
    expect(simd.simd).toBe(true);
    expect(plain.simd).toBe(false);
    expect(simd.stride).toBe(40);
    for (let row = 0; row < 300; row++) {
      // Grows past its capacity many times: the rows move up in memory.
      simd.grow(row + 1);
      plain.grow(row + 1);
      simd.set(row, vector(37, row));
      plain.set(row, vector(37, row));
    }
    simd.copyRow(299, 0);
    plain.copyRow(299, 0);
    const query = vector(37, 1000);
    const a = Array.from(simd.scores(query, 300));
    const b = Array.from(plain.scores(query, 300));
    const exact = Array.from({ length: 300 }, (_, row) => vector(37, row === 0 ? 299 : row).reduce((s, x, i) => s + x * query[i]!, 0));
    a.forEach((score, i) => {
      expect(score).toBeCloseTo(b[i]!, 4);
      expect(score).toBeCloseTo(exact[i]!, 4);
    });
    expect(Array.from(simd.get(5))).toEqual(Array.from(vector(37, 5)));
  });
});
