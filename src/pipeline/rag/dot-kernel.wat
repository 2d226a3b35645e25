;; The flat store's search kernel: scores[r] = dot(vectors[r], query) for every
;; stored row, four float32 lanes at a time (WebAssembly SIMD). Rows are
;; `stride` floats long, stride a multiple of 4 (zero-padded). Compiled by
;; scripts/build-dot-kernel.mjs into dot-kernel-wasm.ts; a test recompiles it
;; and compares the bytes.
(module
  (import "env" "memory" (memory 1))
  (func (export "scores") (param $vectors i32) (param $query i32) (param $rows i32) (param $stride i32) (param $out i32)
    (local $r i32) (local $i i32) (local $acc v128) (local $row i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $row (local.get $vectors))
    (block $done
      (loop $rowsLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $rowDone
          (loop $lanes
            (br_if $rowDone (i32.ge_u (local.get $i) (local.get $bytes)))
            (local.set $acc (f32x4.add (local.get $acc)
              (f32x4.mul (v128.load (i32.add (local.get $row) (local.get $i)))
                         (v128.load (i32.add (local.get $query) (local.get $i))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $lanes)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                   (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (local.set $row (i32.add (local.get $row) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowsLoop)))))
