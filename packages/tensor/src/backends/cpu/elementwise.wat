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
  (func $binary (export "binary") (param $op i32) (param $out i32) (param $a i32) (param $ars i32) (param $b i32)
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
  (func $dropout (export "dropout") (param $x i32) (param $out i32) (param $n i32) (param $lo i32) (param $hi i32)
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
  ;; exp(x) in float64 exactly as V8's Math.exp computes it (fdlibm's e_exp.c as ported in v8/src/base/ieee754.cc):
  ;; the same reduction x = k·ln2 + (hi − lo), the same rational approximation and the same operation order, so the
  ;; results are the same bits wherever that C code runs without contracted multiply-adds (x64). Scalar version.
  (func $exp1 (param $x f64) (result f64)
    (local $hx i32) (local $lx i32) (local $xsb i32) (local $k i32) (local $hi f64) (local $lo f64) (local $t f64)
    (local $c f64) (local $y f64)
    (local.set $hx (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $x)) (i64.const 32))))
    (local.set $lx (i32.wrap_i64 (i64.reinterpret_f64 (local.get $x))))
    (local.set $xsb (i32.shr_u (local.get $hx) (i32.const 31)))
    (local.set $hx (i32.and (local.get $hx) (i32.const 0x7fffffff)))
    (if (i32.ge_u (local.get $hx) (i32.const 0x40862E42))
      (then
        (if (i32.ge_u (local.get $hx) (i32.const 0x7FF00000))
          (then
            (if (i32.or (i32.and (local.get $hx) (i32.const 0xFFFFF)) (local.get $lx))
              (then (return (f64.add (local.get $x) (local.get $x)))))
            (return (select (local.get $x) (f64.const 0) (i32.eqz (local.get $xsb))))))
        (if (f64.gt (local.get $x) (f64.const 7.09782712893383973096e+02)) (then (return (f64.const inf))))
        (if (f64.lt (local.get $x) (f64.const -7.45133219101941108420e+02)) (then (return (f64.const 0))))))
    (if (i32.gt_u (local.get $hx) (i32.const 0x3FD62E42))
      (then
        (if (i32.lt_u (local.get $hx) (i32.const 0x3FF0A2B2))
          (then
            (if (f64.eq (local.get $x) (f64.const 1)) (then (return (f64.const 2.718281828459045))))
            (local.set $hi (f64.sub (local.get $x)
              (select (f64.const -6.93147180369123816490e-01) (f64.const 6.93147180369123816490e-01) (local.get $xsb))))
            (local.set $lo
              (select (f64.const -1.90821492927058770002e-10) (f64.const 1.90821492927058770002e-10) (local.get $xsb)))
            (local.set $k (i32.sub (i32.const 1) (i32.shl (local.get $xsb) (i32.const 1)))))
          (else
            (local.set $k (i32.trunc_f64_s (f64.add (f64.mul (f64.const 1.44269504088896338700e+00) (local.get $x))
              (select (f64.const -0.5) (f64.const 0.5) (local.get $xsb)))))
            (local.set $t (f64.convert_i32_s (local.get $k)))
            (local.set $hi (f64.sub (local.get $x) (f64.mul (local.get $t) (f64.const 6.93147180369123816490e-01))))
            (local.set $lo (f64.mul (local.get $t) (f64.const 1.90821492927058770002e-10)))))
        (local.set $x (f64.sub (local.get $hi) (local.get $lo))))
      (else
        (if (i32.lt_u (local.get $hx) (i32.const 0x3E300000)) (then (return (f64.add (f64.const 1) (local.get $x)))))))
    (local.set $t (f64.mul (local.get $x) (local.get $x)))
    (local.set $c (f64.sub (local.get $x) (f64.mul (local.get $t)
      (f64.add (f64.const 1.66666666666666019037e-01) (f64.mul (local.get $t)
      (f64.add (f64.const -2.77777777770155933842e-03) (f64.mul (local.get $t)
      (f64.add (f64.const 6.61375632143793436117e-05) (f64.mul (local.get $t)
      (f64.add (f64.const -1.65339022054652515390e-06) (f64.mul (local.get $t) (f64.const 4.13813679705723846039e-08))))))))))))
    (if (i32.eqz (local.get $k))
      (then (return (f64.sub (f64.const 1) (f64.sub (f64.div (f64.mul (local.get $x) (local.get $c))
        (f64.sub (local.get $c) (f64.const 2))) (local.get $x))))))
    (local.set $y (f64.sub (f64.const 1) (f64.sub (f64.sub (local.get $lo)
      (f64.div (f64.mul (local.get $x) (local.get $c)) (f64.sub (f64.const 2) (local.get $c)))) (local.get $hi))))
    (if (i32.ge_s (local.get $k) (i32.const -1021))
      (then
        (if (i32.eq (local.get $k) (i32.const 1024))
          (then (return (f64.mul (f64.mul (local.get $y) (f64.const 2)) (f64.const 8.988465674311579539e307)))))
        (return (f64.mul (local.get $y)
          (f64.reinterpret_i64 (i64.shl (i64.extend_i32_s (i32.add (local.get $k) (i32.const 1023))) (i64.const 52)))))))
    (f64.mul (f64.mul (local.get $y)
      (f64.reinterpret_i64 (i64.shl (i64.extend_i32_s (i32.add (local.get $k) (i32.const 2023))) (i64.const 52))))
      (f64.const 9.33263618503218878990e-302))
  )

  ;; The same exp for two lanes. Lanes with |x| ≥ 707 (near over/underflow), NaN or x = 1 take $exp1; the others
  ;; compute both reductions of $exp1 (|x| < 1.5·ln2: k = ±1; otherwise k = trunc(x/ln2 ± 0.5)) and both final
  ;; formulas (k = 0 and k ≠ 0) and select per lane.
  (func $exp2 (param $x v128) (result v128)
    (local $ax v128) (local $sgn v128) (local $mA v128) (local $mRed v128) (local $hi v128) (local $lo v128)
    (local $tk v128) (local $tB v128) (local $r v128) (local $t v128) (local $c v128) (local $rc v128)
    (local $res v128)
    (local.set $ax (f64x2.abs (local.get $x)))
    ;; ¬(|x| < 707) is also true for NaN
    (if (v128.any_true (v128.or
          (v128.not (f64x2.lt (local.get $ax) (v128.const f64x2 707 707)))
          (f64x2.eq (local.get $x) (v128.const f64x2 1 1))))
      (then
        (return (f64x2.replace_lane 1
          (f64x2.splat (call $exp1 (f64x2.extract_lane 0 (local.get $x))))
          (call $exp1 (f64x2.extract_lane 1 (local.get $x)))))))
    (local.set $sgn (i64x2.shr_s (local.get $x) (i32.const 63)))
    ;; high word of |x| > 0x3FD62E42, < 0x3FF0A2B2, < 0x3E300000, as comparisons of |x| (exact for non-negative doubles)
    (local.set $mRed (f64x2.ge (local.get $ax) (v128.const f64x2 0.3465735912322998 0.3465735912322998)))
    (local.set $mA (f64x2.lt (local.get $ax) (v128.const f64x2 1.0397205352783203 1.0397205352783203)))
    (local.set $tB (f64x2.trunc (f64x2.add (f64x2.mul (v128.const f64x2 1.44269504088896338700e+00 1.44269504088896338700e+00) (local.get $x))
      (v128.bitselect (v128.const f64x2 -0.5 -0.5) (v128.const f64x2 0.5 0.5) (local.get $sgn)))))
    (local.set $hi (v128.bitselect
      (f64x2.sub (local.get $x) (v128.bitselect (v128.const f64x2 -6.93147180369123816490e-01 -6.93147180369123816490e-01)
        (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01) (local.get $sgn)))
      (f64x2.sub (local.get $x) (f64x2.mul (local.get $tB) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
      (local.get $mA)))
    (local.set $lo (v128.bitselect
      (v128.bitselect (v128.const f64x2 -1.90821492927058770002e-10 -1.90821492927058770002e-10)
        (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10) (local.get $sgn))
      (f64x2.mul (local.get $tB) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))
      (local.get $mA)))
    (local.set $tk (v128.and (local.get $mRed)
      (v128.bitselect (v128.bitselect (v128.const f64x2 -1 -1) (v128.const f64x2 1 1) (local.get $sgn)) (local.get $tB) (local.get $mA))))
    (local.set $r (v128.bitselect (f64x2.sub (local.get $hi) (local.get $lo)) (local.get $x) (local.get $mRed)))
    (local.set $t (f64x2.mul (local.get $r) (local.get $r)))
    (local.set $c (f64x2.sub (local.get $r) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 1.66666666666666019037e-01 1.66666666666666019037e-01) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 -2.77777777770155933842e-03 -2.77777777770155933842e-03) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 6.61375632143793436117e-05 6.61375632143793436117e-05) (f64x2.mul (local.get $t)
      (f64x2.add (v128.const f64x2 -1.65339022054652515390e-06 -1.65339022054652515390e-06)
        (f64x2.mul (local.get $t) (v128.const f64x2 4.13813679705723846039e-08 4.13813679705723846039e-08))))))))))))
    ;; q = r·c/(c − 2); the k ≠ 0 formula's r·c/(2 − c) is exactly −q (rounding is symmetric), so one division serves both
    (local.set $rc (f64x2.div (f64x2.mul (local.get $r) (local.get $c)) (f64x2.sub (local.get $c) (v128.const f64x2 2 2))))
    (local.set $res (v128.bitselect
      ;; k ≠ 0: (1 − ((lo − r·c/(2 − c)) − hi)) · 2^k, with |k| ≤ 1020 here
      (f64x2.mul
        (f64x2.sub (v128.const f64x2 1 1) (f64x2.sub (f64x2.add (local.get $lo) (local.get $rc)) (local.get $hi)))
        (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $tk)))
          (v128.const i64x2 1023 1023)) (i32.const 52)))
      ;; k = 0: 1 − (r·c/(c − 2) − r)
      (f64x2.sub (v128.const f64x2 1 1) (f64x2.sub (local.get $rc) (local.get $r)))
      (local.get $mRed)))
    ;; |x| < 2^-28: 1 + x
    (v128.bitselect (f64x2.add (v128.const f64x2 1 1) (local.get $x)) (local.get $res)
      (f64x2.lt (local.get $ax) (v128.const f64x2 3.725290298461914e-09 3.725290298461914e-09)))
  )

  ;; math.ts's sigmoid, two lanes: x ≥ 0 ? 1 / (1 + exp(−x)) : exp(x) / (1 + exp(x)), in float64
  (func $sigmoid2 (param $x v128) (result v128)
    (local $pos v128) (local $e v128) (local $d v128)
    (local.set $pos (f64x2.ge (local.get $x) (v128.const f64x2 0 0)))
    (local.set $e (call $exp2 (v128.bitselect (f64x2.neg (local.get $x)) (local.get $x) (local.get $pos))))
    (local.set $d (f64x2.add (v128.const f64x2 1 1) (local.get $e)))
    (f64x2.div (v128.bitselect (v128.const f64x2 1 1) (local.get $e) (local.get $pos)) (local.get $d))
  )

  ;; out = sigmoid(x) (silu = 0) or x · sigmoid(x) (silu ≠ 0), f32 in and out, float64 inside: unary.ts's loops.
  (func $sigmoid (export "sigmoid") (param $x i32) (param $out i32) (param $n i32) (param $silu i32)
    (local $end i32) (local $v v128) (local $s v128) (local $xs f64)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2))))
    (if (i32.lt_u (local.get $x) (local.get $end))
      (then
        (loop $L
          (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))))
          (local.set $s (call $sigmoid2 (local.get $v)))
          (if (local.get $silu) (then (local.set $s (f64x2.mul (local.get $v) (local.get $s)))))
          (v128.store64_lane 0 (local.get $out) (f32x4.demote_f64x2_zero (local.get $s)))
          (local.set $x (i32.add (local.get $x) (i32.const 8)))
          (local.set $out (i32.add (local.get $out) (i32.const 8)))
          (br_if $L (i32.lt_u (local.get $x) (local.get $end))))))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $v (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $x))))
        (local.set $s (call $sigmoid2 (local.get $v)))
        (if (local.get $silu) (then (local.set $s (f64x2.mul (local.get $v) (local.get $s)))))
        (v128.store32_lane 0 (local.get $out) (f32x4.demote_f64x2_zero (local.get $s)))))
  )

  ;; out = dy · sigmoid'(x) (silu = 0: s·(1 − s)) or dy · silu'(x) (s·(1 + x·(1 − s))): unaryGrad.ts's loops.
  (func $sigmoid_grad (export "sigmoid_grad") (param $x i32) (param $dy i32) (param $out i32) (param $n i32) (param $silu i32)
    (local $end i32) (local $v v128) (local $s v128) (local $d v128) (local $one v128) (local $step i32)
    (local.set $one (v128.const f64x2 1 1))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $L
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        ;; two lanes, or the last one (its second lane reads zeros)
        (local.set $step (select (i32.const 8) (i32.const 4) (i32.ge_u (i32.sub (local.get $end) (local.get $x)) (i32.const 8))))
        (if (i32.eq (local.get $step) (i32.const 8))
          (then
            (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $x))))
            (local.set $d (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $dy)))))
          (else
            (local.set $v (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $x))))
            (local.set $d (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $dy))))))
        (local.set $s (call $sigmoid2 (local.get $v)))
        (local.set $s (if (result v128) (local.get $silu)
          (then (f64x2.mul (local.get $s) (f64x2.add (local.get $one)
            (f64x2.mul (local.get $v) (f64x2.sub (local.get $one) (local.get $s))))))
          (else (f64x2.mul (local.get $s) (f64x2.sub (local.get $one) (local.get $s))))))
        (local.set $s (f32x4.demote_f64x2_zero (f64x2.mul (local.get $d) (local.get $s))))
        (if (i32.eq (local.get $step) (i32.const 8))
          (then (v128.store64_lane 0 (local.get $out) (local.get $s)))
          (else (v128.store32_lane 0 (local.get $out) (local.get $s))))
        (local.set $x (i32.add (local.get $x) (local.get $step)))
        (local.set $dy (i32.add (local.get $dy) (local.get $step)))
        (local.set $out (i32.add (local.get $out) (local.get $step)))
        (br $L)))
  )
  ;; SwiGLU forward: out = fround(fround(g · sigmoid(g)) · up), kernels/siluMul.ts's loop (two lanes at a time).
  (func $silu_mul (export "silu_mul") (param $g i32) (param $up i32) (param $out i32) (param $n i32)
    (local $end i32) (local $v v128) (local $u v128) (local $s v128) (local $step i32)
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $L
        (br_if $done (i32.ge_u (local.get $g) (local.get $end)))
        (local.set $step (select (i32.const 8) (i32.const 4) (i32.ge_u (i32.sub (local.get $end) (local.get $g)) (i32.const 8))))
        (if (i32.eq (local.get $step) (i32.const 8))
          (then
            (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $g))))
            (local.set $u (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $up)))))
          (else
            (local.set $v (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $g))))
            (local.set $u (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $up))))))
        ;; silu rounded to f32, then the f32 product (exact in f64, rounded once to f32)
        (local.set $s (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero
          (f64x2.mul (local.get $v) (call $sigmoid2 (local.get $v))))))
        (local.set $s (f32x4.demote_f64x2_zero (f64x2.mul (local.get $s) (local.get $u))))
        (if (i32.eq (local.get $step) (i32.const 8))
          (then (v128.store64_lane 0 (local.get $out) (local.get $s)))
          (else (v128.store32_lane 0 (local.get $out) (local.get $s))))
        (local.set $g (i32.add (local.get $g) (local.get $step)))
        (local.set $up (i32.add (local.get $up) (local.get $step)))
        (local.set $out (i32.add (local.get $out) (local.get $step)))
        (br $L)))
  )

  ;; Both SwiGLU gradients with one sigmoid per element (kernels/siluMulGradPair.ts's loop): d gate =
  ;; fround(fround(dy·up) · s·(1 + g·(1 − s))) into $dgate, d up = fround(dy · fround(g·s)) into $dup. Each element's
  ;; inputs are read before its outputs are written, so the outputs may alias the dy and up inputs.
  (func $silu_mul_grad (export "silu_mul_grad") (param $g i32) (param $up i32) (param $dy i32) (param $dgate i32) (param $dup i32)
      (param $n i32)
    (local $end i32) (local $v v128) (local $u v128) (local $d v128) (local $s v128) (local $one v128)
    (local $a v128) (local $b v128) (local $step i32)
    (local.set $one (v128.const f64x2 1 1))
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $L
        (br_if $done (i32.ge_u (local.get $g) (local.get $end)))
        (local.set $step (select (i32.const 8) (i32.const 4) (i32.ge_u (i32.sub (local.get $end) (local.get $g)) (i32.const 8))))
        (if (i32.eq (local.get $step) (i32.const 8))
          (then
            (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $g))))
            (local.set $u (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $up))))
            (local.set $d (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $dy)))))
          (else
            (local.set $v (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $g))))
            (local.set $u (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $up))))
            (local.set $d (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $dy))))))
        (local.set $s (call $sigmoid2 (local.get $v)))
        ;; d gate: the f32 product dy·up, times silu'(g) in float64, rounded once
        (local.set $a (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $d) (local.get $u)))))
        (local.set $a (f32x4.demote_f64x2_zero (f64x2.mul (local.get $a) (f64x2.mul (local.get $s)
          (f64x2.add (local.get $one) (f64x2.mul (local.get $v) (f64x2.sub (local.get $one) (local.get $s))))))))
        ;; d up: dy times silu(g) rounded to f32
        (local.set $b (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $v) (local.get $s)))))
        (local.set $b (f32x4.demote_f64x2_zero (f64x2.mul (local.get $d) (local.get $b))))
        (if (i32.eq (local.get $step) (i32.const 8))
          (then
            (v128.store64_lane 0 (local.get $dgate) (local.get $a))
            (v128.store64_lane 0 (local.get $dup) (local.get $b)))
          (else
            (v128.store32_lane 0 (local.get $dgate) (local.get $a))
            (v128.store32_lane 0 (local.get $dup) (local.get $b))))
        (local.set $g (i32.add (local.get $g) (local.get $step)))
        (local.set $up (i32.add (local.get $up) (local.get $step)))
        (local.set $dy (i32.add (local.get $dy) (local.get $step)))
        (local.set $dgate (i32.add (local.get $dgate) (local.get $step)))
        (local.set $dup (i32.add (local.get $dup) (local.get $step)))
        (br $L)))
  )

  ;; Softmax rows of maskedSoftmax without a mask, bit for bit kernels/maskedSoftmax.ts's loop. Row r of x [rows, c]
  ;; is query r mod tq; with $causal ≠ 0 the keys past last = min(q + c − tq, c − 1) are hidden (the caller ensures
  ;; last ≥ 0). Scores are fround(x · scale); the maximum is over the visible ones (and the lowest f32 when some are
  ;; hidden); exp(score − max) in float64 goes to $scratch (8·c bytes), the sum is taken in order, then
  ;; out = fround(e / sum) and hidden keys get fround(0 / sum). A row with a NaN maximum stores 1 at $flag and is left
  ;; unfinished: the caller then redoes the whole job in JavaScript. out may alias x.
  (func $softmax_rows (param $x i32) (param $out i32) (param $r i32) (param $rows i32) (param $c i32) (param $tq i32)
      (param $causal i32) (param $scale f32) (param $scratch i32) (param $flag i32)
    (local $end i32) (local $n i32) (local $j i32) (local $xr i32) (local $or i32) (local $v v128) (local $vmx v128)
    (local $vsc v128) (local $mx f32) (local $m64 v128) (local $sum f64) (local $vs v128) (local $zero f32)
    (local $rowBytes i32)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $vsc (f32x4.splat (local.get $scale)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $n (local.get $c))
        (if (local.get $causal)
          (then
            (local.set $n (i32.add (i32.sub (i32.rem_u (local.get $r) (local.get $tq)) (local.get $tq)) (local.get $c)))
            (if (i32.ge_s (local.get $n) (local.get $c)) (then (local.set $n (i32.sub (local.get $c) (i32.const 1)))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $or (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowBytes))))
        ;; scores into the output row, and their maximum
        (local.set $vmx (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $j (i32.const 0))
        (block $d1 (loop $L1
          (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
          (local.set $v (f32x4.mul (v128.load (i32.add (local.get $xr) (i32.shl (local.get $j) (i32.const 2)))) (local.get $vsc)))
          (v128.store (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2))) (local.get $v))
          (local.set $vmx (f32x4.max (local.get $vmx) (local.get $v)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L1)))
        (local.set $mx (f32.max
          (f32.max (f32x4.extract_lane 0 (local.get $vmx)) (f32x4.extract_lane 1 (local.get $vmx)))
          (f32.max (f32x4.extract_lane 2 (local.get $vmx)) (f32x4.extract_lane 3 (local.get $vmx)))))
        (block $d2 (loop $L2
          (br_if $d2 (i32.ge_s (local.get $j) (local.get $n)))
          (f32.store (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))
            (f32.mul (f32.load (i32.add (local.get $xr) (i32.shl (local.get $j) (i32.const 2)))) (local.get $scale)))
          (local.set $mx (f32.max (local.get $mx) (f32.load (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $L2)))
        (if (i32.lt_s (local.get $n) (local.get $c))
          (then (local.set $mx (f32.max (local.get $mx) (f32.const -3.4028234663852886e38)))))
        (if (f32.ne (local.get $mx) (local.get $mx))
          (then (i32.store (local.get $flag) (i32.const 1)))
          (else
            ;; exponentials (float64) into scratch, two at a time; an odd last one computes a spare lane
            (local.set $m64 (f64x2.splat (f64.promote_f32 (local.get $mx))))
            (local.set $j (i32.const 0))
            (block $d3 (loop $L3
              (br_if $d3 (i32.ge_s (local.get $j) (local.get $n)))
              (v128.store (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3)))
                (call $exp2 (f64x2.sub
                  (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))))
                  (local.get $m64))))
              (local.set $j (i32.add (local.get $j) (i32.const 2)))
              (br $L3)))
            (local.set $sum (f64.const 0))
            (local.set $j (i32.const 0))
            (block $d4 (loop $L4
              (br_if $d4 (i32.ge_s (local.get $j) (local.get $n)))
              (local.set $sum (f64.add (local.get $sum) (f64.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3))))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $L4)))
            (local.set $vs (f64x2.splat (local.get $sum)))
            (local.set $j (i32.const 0))
            (block $d5 (loop $L5
              (br_if $d5 (i32.gt_s (i32.add (local.get $j) (i32.const 2)) (local.get $n)))
              (v128.store64_lane 0 (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))
                (f32x4.demote_f64x2_zero (f64x2.div
                  (v128.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3)))) (local.get $vs))))
              (local.set $j (i32.add (local.get $j) (i32.const 2)))
              (br $L5)))
            (if (i32.lt_s (local.get $j) (local.get $n))
              (then
                (f32.store (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))
                  (f32.demote_f64 (f64.div
                    (f64.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3)))) (local.get $sum))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))))
            (local.set $zero (f32.demote_f64 (f64.div (f64.const 0) (local.get $sum))))
            (block $d6 (loop $L6
              (br_if $d6 (i32.ge_s (local.get $j) (local.get $c)))
              (f32.store (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2))) (local.get $zero))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $L6)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; Gradient rows of maskedSoftmax without a mask, bit for bit kernels/maskedSoftmaxGrad.ts's loop: s = Σ y·dy over
  ;; the whole row in order (float64), then visible keys get fround(fround(y·(dy − s)) · scale) and hidden ones 0.
  ;; out may alias y or dy (each row is read before it is written).
  (func $softmax_grad_rows (param $y i32) (param $dy i32) (param $out i32) (param $r i32) (param $rows i32)
      (param $c i32) (param $tq i32) (param $causal i32) (param $scale f32)
    (local $end i32) (local $n i32) (local $j i32) (local $yr i32) (local $dr i32) (local $or i32) (local $s f64)
    (local $vs v128) (local $vsc v128) (local $rowBytes i32) (local $off i32)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $vsc (f32x4.splat (local.get $scale)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $n (local.get $c))
        (if (local.get $causal)
          (then
            (local.set $n (i32.add (i32.sub (i32.rem_u (local.get $r) (local.get $tq)) (local.get $tq)) (local.get $c)))
            (if (i32.ge_s (local.get $n) (local.get $c)) (then (local.set $n (i32.sub (local.get $c) (i32.const 1)))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $off (i32.mul (local.get $r) (local.get $rowBytes)))
        (local.set $yr (i32.add (local.get $y) (local.get $off)))
        (local.set $dr (i32.add (local.get $dy) (local.get $off)))
        (local.set $or (i32.add (local.get $out) (local.get $off)))
        (local.set $s (f64.const 0))
        (local.set $j (i32.const 0))
        (block $d1 (loop $L1
          (br_if $d1 (i32.ge_s (local.get $j) (local.get $rowBytes)))
          (local.set $s (f64.add (local.get $s) (f64.mul
            (f64.promote_f32 (f32.load (i32.add (local.get $yr) (local.get $j))))
            (f64.promote_f32 (f32.load (i32.add (local.get $dr) (local.get $j)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L1)))
        (local.set $vs (f64x2.splat (local.get $s)))
        (local.set $j (i32.const 0))
        (block $d2 (loop $L2
          (br_if $d2 (i32.gt_s (i32.add (local.get $j) (i32.const 2)) (local.get $n)))
          (v128.store64_lane 0 (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))
            (f32x4.mul (local.get $vsc) (f32x4.demote_f64x2_zero (f64x2.mul
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $yr) (i32.shl (local.get $j) (i32.const 2)))))
              (f64x2.sub
                (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $dr) (i32.shl (local.get $j) (i32.const 2)))))
                (local.get $vs))))))
          (local.set $j (i32.add (local.get $j) (i32.const 2)))
          (br $L2)))
        (if (i32.lt_s (local.get $j) (local.get $n))
          (then
            (f32.store (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))
              (f32.mul (local.get $scale) (f32.demote_f64 (f64.mul
                (f64.promote_f32 (f32.load (i32.add (local.get $yr) (i32.shl (local.get $j) (i32.const 2)))))
                (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $dr) (i32.shl (local.get $j) (i32.const 2)))))
                  (local.get $s))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))))
        (block $d3 (loop $L3
          (br_if $d3 (i32.ge_s (local.get $j) (local.get $c)))
          (f32.store (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $L3)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; One task of a threaded elementwise job. gemm-wasm.ts runs tasks [0, ntasks) on the calling thread and its helper
  ;; threads; the job block at $job holds [op, count, chunk, args…] (i32 words; p and scale as f32 bits) and task t
  ;; covers items [t·chunk, min((t+1)·chunk, count)) — rows for binary (0) and softmax, elements for the others. Every
  ;; item is computed exactly as one call over all of them computes it, so the split never changes a bit.
  (func (export "run_task") (param $job i32) (param $t i32) (param $scratch i32)
    (local $s i32) (local $len i32) (local $chunk i32) (local $lo i32) (local $b4 i32)
    (local.set $chunk (i32.load offset=8 (local.get $job)))
    (local.set $s (i32.mul (local.get $t) (local.get $chunk)))
    (local.set $len (i32.sub (i32.load offset=4 (local.get $job)) (local.get $s)))
    (if (i32.le_s (local.get $len) (i32.const 0)) (then (return)))
    (if (i32.gt_u (local.get $len) (local.get $chunk)) (then (local.set $len (local.get $chunk))))
    (local.set $b4 (i32.shl (local.get $s) (i32.const 2)))
    (block $done
      (block $sgrad (block $flat (block $softmax (block $smg (block $sm (block $sg (block $sig (block $drop (block $bin
        (br_table $bin $drop $sig $sg $sm $smg $softmax $flat $sgrad $done (i32.load (local.get $job))))
      ;; 0 binary: code, out, a, ars, b, brs, sb, ncols
      (call $binary (i32.load offset=12 (local.get $job))
        (i32.add (i32.load offset=16 (local.get $job))
          (i32.mul (local.get $b4) (i32.load offset=40 (local.get $job))))
        (i32.add (i32.load offset=20 (local.get $job)) (i32.mul (local.get $s) (i32.load offset=24 (local.get $job))))
        (i32.load offset=24 (local.get $job))
        (i32.add (i32.load offset=28 (local.get $job)) (i32.mul (local.get $s) (i32.load offset=32 (local.get $job))))
        (i32.load offset=32 (local.get $job))
        (i32.load offset=36 (local.get $job))
        (local.get $len)
        (i32.load offset=40 (local.get $job)))
      (br $done))
      ;; 1 dropout: x, out, lo, hi, k0, k1, p, scale — the counter of item s is (hi, lo) + s
      (local.set $lo (i32.add (i32.load offset=20 (local.get $job)) (local.get $s)))
      (call $dropout
        (i32.add (i32.load offset=12 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=16 (local.get $job)) (local.get $b4))
        (local.get $len)
        (local.get $lo)
        (i32.add (i32.load offset=24 (local.get $job)) (i32.lt_u (local.get $lo) (i32.load offset=20 (local.get $job))))
        (i32.load offset=28 (local.get $job))
        (i32.load offset=32 (local.get $job))
        (f32.load offset=36 (local.get $job))
        (f32.load offset=40 (local.get $job)))
      (br $done))
      ;; 2 sigmoid: x, out, silu
      (call $sigmoid
        (i32.add (i32.load offset=12 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=16 (local.get $job)) (local.get $b4))
        (local.get $len)
        (i32.load offset=20 (local.get $job)))
      (br $done))
      ;; 3 sigmoid_grad: x, dy, out, silu
      (call $sigmoid_grad
        (i32.add (i32.load offset=12 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=16 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=20 (local.get $job)) (local.get $b4))
        (local.get $len)
        (i32.load offset=24 (local.get $job)))
      (br $done))
      ;; 4 silu_mul: g, up, out
      (call $silu_mul
        (i32.add (i32.load offset=12 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=16 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=20 (local.get $job)) (local.get $b4))
        (local.get $len))
      (br $done))
      ;; 5 silu_mul_grad: g, up, dy, dgate, dup
      (call $silu_mul_grad
        (i32.add (i32.load offset=12 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=16 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=20 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=24 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=28 (local.get $job)) (local.get $b4))
        (local.get $len))
      (br $done))
      ;; 6 softmax rows: x, out, c, tq, causal, scale, flag (grad: 8)
      (call $softmax_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (i32.load offset=28 (local.get $job))
        (f32.load offset=32 (local.get $job))
        (local.get $scratch)
        (i32.add (local.get $job) (i32.const 124)))
      (br $done))
      ;; 7 binary over one flat row, split by elements: code, out, a, b, sb
      (call $binary (i32.load offset=12 (local.get $job))
        (i32.add (i32.load offset=16 (local.get $job)) (local.get $b4))
        (i32.add (i32.load offset=20 (local.get $job)) (local.get $b4))
        (i32.const 0)
        (i32.add (i32.load offset=24 (local.get $job))
          (select (local.get $b4) (i32.const 0) (i32.load offset=28 (local.get $job))))
        (i32.const 0)
        (i32.load offset=28 (local.get $job))
        (i32.const 1)
        (local.get $len))
      (br $done))
      ;; 8 softmax gradient rows: y, dy, out, c, tq, causal, scale
      (call $softmax_grad_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=24 (local.get $job))
        (i32.load offset=28 (local.get $job))
        (i32.load offset=32 (local.get $job))
        (f32.load offset=36 (local.get $job)))
    )
  )
)
