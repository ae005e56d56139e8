;; Elementwise f32 kernels for the CPU backend, WebAssembly SIMD128.
;;
;; Source of truth for src/backends/cpu/elementwise-wasm.generated.ts (scripts/gen-wasm.mjs compiles it like gemm.wat:
;; once importing a shared memory, once an unshared one). The host (simd.ts) copies operands into this memory, calls
;; a kernel, and copies the result out; all addresses are byte offsets.
;;
;; Every result is bit-identical to the JavaScript kernels it replaces: f32 + − × ÷ are correctly rounded in both
;; (JavaScript computes in float64 and rounds once, which for one operation on f32 inputs is the same value), and
;; the dropout hash is integer arithmetic (i32x4.mul is Math.imul lane by lane).
(module
  (import "env" "memory" (memory 1 16384 shared))


  ;; out[0:n] = a[0:n] add b[0:n]
  (func $add_vv (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.add (v128.load offset=0 (local.get $a)) (v128.load offset=0 (local.get $b))))
          (v128.store offset=16 (local.get $out) (f32x4.add (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.add (f32.load (local.get $a)) (f32.load (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; out[0:n] = a[0:n] add b[0] (broadcast)
  (func $add_vs (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $ys (f32.load (local.get $b)))
    (local.set $y (f32x4.splat (local.get $ys)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.add (v128.load offset=0 (local.get $a)) (local.get $y)))
          (v128.store offset=16 (local.get $out) (f32x4.add (v128.load offset=16 (local.get $a)) (local.get $y)))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.add (f32.load (local.get $a)) (local.get $ys)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; out[0:n] = a[0:n] sub b[0:n]
  (func $sub_vv (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.sub (v128.load offset=0 (local.get $a)) (v128.load offset=0 (local.get $b))))
          (v128.store offset=16 (local.get $out) (f32x4.sub (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.sub (f32.load (local.get $a)) (f32.load (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; out[0:n] = a[0:n] sub b[0] (broadcast)
  (func $sub_vs (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $ys (f32.load (local.get $b)))
    (local.set $y (f32x4.splat (local.get $ys)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.sub (v128.load offset=0 (local.get $a)) (local.get $y)))
          (v128.store offset=16 (local.get $out) (f32x4.sub (v128.load offset=16 (local.get $a)) (local.get $y)))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.sub (f32.load (local.get $a)) (local.get $ys)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; out[0:n] = a[0:n] mul b[0:n]
  (func $mul_vv (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.mul (v128.load offset=0 (local.get $a)) (v128.load offset=0 (local.get $b))))
          (v128.store offset=16 (local.get $out) (f32x4.mul (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; out[0:n] = a[0:n] mul b[0] (broadcast)
  (func $mul_vs (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $ys (f32.load (local.get $b)))
    (local.set $y (f32x4.splat (local.get $ys)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.mul (v128.load offset=0 (local.get $a)) (local.get $y)))
          (v128.store offset=16 (local.get $out) (f32x4.mul (v128.load offset=16 (local.get $a)) (local.get $y)))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.mul (f32.load (local.get $a)) (local.get $ys)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; out[0:n] = a[0:n] div b[0:n]
  (func $div_vv (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.div (v128.load offset=0 (local.get $a)) (v128.load offset=0 (local.get $b))))
          (v128.store offset=16 (local.get $out) (f32x4.div (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.div (f32.load (local.get $a)) (f32.load (local.get $b))))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $b (i32.add (local.get $b) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; out[0:n] = a[0:n] div b[0] (broadcast)
  (func $div_vs (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32) (local $end4 i32) (local $y v128) (local $ys f32)
    (local.set $ys (f32.load (local.get $b)))
    (local.set $y (f32x4.splat (local.get $ys)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (if (i32.lt_u (local.get $out) (local.get $end4))
      (then
        (loop $L
          (v128.store offset=0 (local.get $out) (f32x4.div (v128.load offset=0 (local.get $a)) (local.get $y)))
          (v128.store offset=16 (local.get $out) (f32x4.div (v128.load offset=16 (local.get $a)) (local.get $y)))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $a (i32.add (local.get $a) (i32.const 32)))
          (br_if $L (i32.lt_u (local.get $out) (local.get $end4))))))
    (if (i32.lt_u (local.get $out) (local.get $end))
      (then
        (loop $T
          (f32.store (local.get $out) (f32.div (f32.load (local.get $a)) (local.get $ys)))
          (local.set $out (i32.add (local.get $out) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (br_if $T (i32.lt_u (local.get $out) (local.get $end))))))
  )

  ;; Rows of a binary op: for r < rows, out[r*n : r*n + n] = A_r op B_r, where A_r = a + r*ars is read contiguously
  ;; and B_r = b + r*brs is read contiguously (sb = 1) or broadcast from its first element (sb = 0). ars and brs are
  ;; byte strides. op: 0 add, 1 sub, 2 mul, 3 div.
  (func (export "binary") (param $op i32) (param $out i32) (param $a i32) (param $ars i32) (param $b i32)
    (param $brs i32) (param $sb i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $which i32) (local $rowBytes i32)
    (local.set $which (i32.or (i32.shl (local.get $op) (i32.const 1)) (i32.eqz (local.get $sb))))
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 2)))
    (if (i32.eqz (local.get $rows)) (then (return)))
    (loop $R
      (block $next
        (block $div_vs (block $div_vv (block $mul_vs (block $mul_vv
        (block $sub_vs (block $sub_vv (block $add_vs (block $add_vv
          (br_table $add_vv $add_vs $sub_vv $sub_vs $mul_vv $mul_vs $div_vv $div_vs $next (local.get $which)))
        (call $add_vv (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
        (call $add_vs (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
        (call $sub_vv (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
        (call $sub_vs (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
        (call $mul_vv (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
        (call $mul_vs (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
        (call $div_vv (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
        (call $div_vs (local.get $out) (local.get $a) (local.get $b) (local.get $n)) (br $next))
      ;; every case above ends by leaving $next
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $a (i32.add (local.get $a) (local.get $ars)))
      (local.set $b (i32.add (local.get $b) (local.get $brs)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $R (i32.lt_u (local.get $r) (local.get $rows))))
  )

;; Dropout, the counter-based generator of random.ts (uniformAt) inlined: element i draws
  ;; u = (mix32(mix32(mix32(lo_i ^ k0) + hi_i) ^ k1) >>> 8) · 2^-24 for the 64-bit counter (hi, lo) + i, and becomes
  ;; x[i] · scale where u ≥ p, else 0. The low word wraps into the high word: lane counters that wrapped past 2^32
  ;; are those below lo (i < n < 2^32, so at most one wrap), and they take hi + 1.
  (func (export "dropout") (param $x i32) (param $out i32) (param $n i32) (param $lo i32) (param $hi i32)
    (param $k0 i32) (param $k1 i32) (param $p f32) (param $scale f32)
    (local $i i32) (local $n4 i32) (local $c v128) (local $h v128) (local $carry v128)
    (local $vp v128) (local $vs v128) (local $lo0 v128) (local $vk0 v128) (local $vk1 v128) (local $vhi v128)
    (local $sc i32) (local $sh i32) (local $u f32)
    (local.set $vp (f32x4.splat (local.get $p)))
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $lo0 (i32x4.splat (local.get $lo)))
    (local.set $vk0 (i32x4.splat (local.get $k0)))
    (local.set $vk1 (i32x4.splat (local.get $k1)))
    (local.set $vhi (i32x4.splat (local.get $hi)))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (if (i32.lt_u (local.get $i) (local.get $n4))
      (then
        (loop $L
      (local.set $c (i32x4.add (i32x4.splat (i32.add (local.get $lo) (local.get $i)))
        (v128.const i32x4 0 1 2 3)))
      (local.set $carry (i32x4.lt_u (local.get $c) (local.get $lo0)))
      (local.set $h (v128.xor (local.get $c) (local.get $vk0)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
      (local.set $h (i32x4.mul (local.get $h) (v128.const i32x4 0x7feb352d 0x7feb352d 0x7feb352d 0x7feb352d)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
      (local.set $h (i32x4.mul (local.get $h) (v128.const i32x4 0x846ca68b 0x846ca68b 0x846ca68b 0x846ca68b)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
      ;; hi + carry: the carry mask is -1 where the low word wrapped
      (local.set $h (i32x4.add (local.get $h) (i32x4.sub (local.get $vhi) (local.get $carry))))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
      (local.set $h (i32x4.mul (local.get $h) (v128.const i32x4 0x7feb352d 0x7feb352d 0x7feb352d 0x7feb352d)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
      (local.set $h (i32x4.mul (local.get $h) (v128.const i32x4 0x846ca68b 0x846ca68b 0x846ca68b 0x846ca68b)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
      (local.set $h (v128.xor (local.get $h) (local.get $vk1)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
      (local.set $h (i32x4.mul (local.get $h) (v128.const i32x4 0x7feb352d 0x7feb352d 0x7feb352d 0x7feb352d)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
      (local.set $h (i32x4.mul (local.get $h) (v128.const i32x4 0x846ca68b 0x846ca68b 0x846ca68b 0x846ca68b)))
      (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
      (v128.store (local.get $out)
        (v128.and
          (f32x4.mul (v128.load (local.get $x)) (local.get $vs))
          (f32x4.ge
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (local.get $h) (i32.const 8)))
              (v128.const f32x4 5.9604644775390625e-8 5.9604644775390625e-8 5.9604644775390625e-8 5.9604644775390625e-8))
            (local.get $vp))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $L (i32.lt_u (local.get $i) (local.get $n4))))))
    (if (i32.lt_u (local.get $i) (local.get $n))
      (then
        (loop $T
        (local.set $sc (i32.add (local.get $lo) (local.get $i)))
        (local.set $sh (i32.xor (local.get $sc) (local.get $k0)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 16))))
        (local.set $sh (i32.mul (local.get $sh) (i32.const 0x7feb352d)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 15))))
        (local.set $sh (i32.mul (local.get $sh) (i32.const 0x846ca68b)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 16))))
        (local.set $sh (i32.add (local.get $sh)
          (i32.add (local.get $hi) (i32.lt_u (local.get $sc) (local.get $lo)))))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 16))))
        (local.set $sh (i32.mul (local.get $sh) (i32.const 0x7feb352d)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 15))))
        (local.set $sh (i32.mul (local.get $sh) (i32.const 0x846ca68b)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 16))))
        (local.set $sh (i32.xor (local.get $sh) (local.get $k1)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 16))))
        (local.set $sh (i32.mul (local.get $sh) (i32.const 0x7feb352d)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 15))))
        (local.set $sh (i32.mul (local.get $sh) (i32.const 0x846ca68b)))
        (local.set $sh (i32.xor (local.get $sh) (i32.shr_u (local.get $sh) (i32.const 16))))
        (local.set $u (f32.mul (f32.convert_i32_s (i32.shr_u (local.get $sh) (i32.const 8)))
          (f32.const 5.9604644775390625e-8)))
        (f32.store (local.get $out)
          (select (f32.mul (f32.load (local.get $x)) (local.get $scale)) (f32.const 0)
            (f32.ge (local.get $u) (local.get $p))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $T (i32.lt_u (local.get $i) (local.get $n))))))
  )
)
