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

  ;; $exp2 for two independent pairs at once, their steps interleaved (two dependency chains keep the core busy):
  ;; each result is exactly $exp2 of its argument.
  (func $exp4 (param $x0 v128) (param $x1 v128) (result v128 v128)
    (local $ax0 v128) (local $sgn0 v128) (local $mA0 v128) (local $mRed0 v128) (local $hi0 v128) (local $lo0 v128)
    (local $tk0 v128) (local $tB0 v128) (local $r0 v128) (local $t0 v128) (local $c0 v128) (local $rc0 v128)
    (local $res0 v128) (local $ax1 v128) (local $sgn1 v128) (local $mA1 v128) (local $mRed1 v128) (local $hi1 v128)
    (local $lo1 v128) (local $tk1 v128) (local $tB1 v128) (local $r1 v128) (local $t1 v128) (local $c1 v128)
    (local $rc1 v128) (local $res1 v128)
    (local.set $ax0 (f64x2.abs (local.get $x0)))
    (local.set $ax1 (f64x2.abs (local.get $x1)))
    (if (i32.or (v128.any_true (v128.or
          (v128.not (f64x2.lt (local.get $ax0) (v128.const f64x2 707 707)))
          (f64x2.eq (local.get $x0) (v128.const f64x2 1 1))))
          (v128.any_true (v128.or
          (v128.not (f64x2.lt (local.get $ax1) (v128.const f64x2 707 707)))
          (f64x2.eq (local.get $x1) (v128.const f64x2 1 1)))))
      (then (return (call $exp2 (local.get $x0)) (call $exp2 (local.get $x1)))))
    (local.set $sgn0 (i64x2.shr_s (local.get $x0) (i32.const 63)))
    (local.set $sgn1 (i64x2.shr_s (local.get $x1) (i32.const 63)))
    (local.set $mRed0 (f64x2.ge (local.get $ax0) (v128.const f64x2 0.3465735912322998 0.3465735912322998)))
    (local.set $mRed1 (f64x2.ge (local.get $ax1) (v128.const f64x2 0.3465735912322998 0.3465735912322998)))
    (local.set $mA0 (f64x2.lt (local.get $ax0) (v128.const f64x2 1.0397205352783203 1.0397205352783203)))
    (local.set $mA1 (f64x2.lt (local.get $ax1) (v128.const f64x2 1.0397205352783203 1.0397205352783203)))
    (local.set $tB0 (f64x2.trunc (f64x2.add (f64x2.mul (v128.const f64x2 1.44269504088896338700e+00 1.44269504088896338700e+00) (local.get $x0))
      (v128.bitselect (v128.const f64x2 -0.5 -0.5) (v128.const f64x2 0.5 0.5) (local.get $sgn0)))))
    (local.set $tB1 (f64x2.trunc (f64x2.add (f64x2.mul (v128.const f64x2 1.44269504088896338700e+00 1.44269504088896338700e+00) (local.get $x1))
      (v128.bitselect (v128.const f64x2 -0.5 -0.5) (v128.const f64x2 0.5 0.5) (local.get $sgn1)))))
    (local.set $hi0 (v128.bitselect
      (f64x2.sub (local.get $x0) (v128.bitselect (v128.const f64x2 -6.93147180369123816490e-01 -6.93147180369123816490e-01)
        (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01) (local.get $sgn0)))
      (f64x2.sub (local.get $x0) (f64x2.mul (local.get $tB0) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
      (local.get $mA0)))
    (local.set $hi1 (v128.bitselect
      (f64x2.sub (local.get $x1) (v128.bitselect (v128.const f64x2 -6.93147180369123816490e-01 -6.93147180369123816490e-01)
        (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01) (local.get $sgn1)))
      (f64x2.sub (local.get $x1) (f64x2.mul (local.get $tB1) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
      (local.get $mA1)))
    (local.set $lo0 (v128.bitselect
      (v128.bitselect (v128.const f64x2 -1.90821492927058770002e-10 -1.90821492927058770002e-10)
        (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10) (local.get $sgn0))
      (f64x2.mul (local.get $tB0) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))
      (local.get $mA0)))
    (local.set $lo1 (v128.bitselect
      (v128.bitselect (v128.const f64x2 -1.90821492927058770002e-10 -1.90821492927058770002e-10)
        (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10) (local.get $sgn1))
      (f64x2.mul (local.get $tB1) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))
      (local.get $mA1)))
    (local.set $tk0 (v128.and (local.get $mRed0)
      (v128.bitselect (v128.bitselect (v128.const f64x2 -1 -1) (v128.const f64x2 1 1) (local.get $sgn0)) (local.get $tB0) (local.get $mA0))))
    (local.set $tk1 (v128.and (local.get $mRed1)
      (v128.bitselect (v128.bitselect (v128.const f64x2 -1 -1) (v128.const f64x2 1 1) (local.get $sgn1)) (local.get $tB1) (local.get $mA1))))
    (local.set $r0 (v128.bitselect (f64x2.sub (local.get $hi0) (local.get $lo0)) (local.get $x0) (local.get $mRed0)))
    (local.set $r1 (v128.bitselect (f64x2.sub (local.get $hi1) (local.get $lo1)) (local.get $x1) (local.get $mRed1)))
    (local.set $t0 (f64x2.mul (local.get $r0) (local.get $r0)))
    (local.set $t1 (f64x2.mul (local.get $r1) (local.get $r1)))
    (local.set $c0 (f64x2.sub (local.get $r0) (f64x2.mul (local.get $t0)
      (f64x2.add (v128.const f64x2 1.66666666666666019037e-01 1.66666666666666019037e-01) (f64x2.mul (local.get $t0)
      (f64x2.add (v128.const f64x2 -2.77777777770155933842e-03 -2.77777777770155933842e-03) (f64x2.mul (local.get $t0)
      (f64x2.add (v128.const f64x2 6.61375632143793436117e-05 6.61375632143793436117e-05) (f64x2.mul (local.get $t0)
      (f64x2.add (v128.const f64x2 -1.65339022054652515390e-06 -1.65339022054652515390e-06)
        (f64x2.mul (local.get $t0) (v128.const f64x2 4.13813679705723846039e-08 4.13813679705723846039e-08))))))))))))
    (local.set $c1 (f64x2.sub (local.get $r1) (f64x2.mul (local.get $t1)
      (f64x2.add (v128.const f64x2 1.66666666666666019037e-01 1.66666666666666019037e-01) (f64x2.mul (local.get $t1)
      (f64x2.add (v128.const f64x2 -2.77777777770155933842e-03 -2.77777777770155933842e-03) (f64x2.mul (local.get $t1)
      (f64x2.add (v128.const f64x2 6.61375632143793436117e-05 6.61375632143793436117e-05) (f64x2.mul (local.get $t1)
      (f64x2.add (v128.const f64x2 -1.65339022054652515390e-06 -1.65339022054652515390e-06)
        (f64x2.mul (local.get $t1) (v128.const f64x2 4.13813679705723846039e-08 4.13813679705723846039e-08))))))))))))
    (local.set $rc0 (f64x2.div (f64x2.mul (local.get $r0) (local.get $c0)) (f64x2.sub (local.get $c0) (v128.const f64x2 2 2))))
    (local.set $rc1 (f64x2.div (f64x2.mul (local.get $r1) (local.get $c1)) (f64x2.sub (local.get $c1) (v128.const f64x2 2 2))))
    (local.set $res0 (v128.bitselect
      (f64x2.mul
        (f64x2.sub (v128.const f64x2 1 1) (f64x2.sub (f64x2.add (local.get $lo0) (local.get $rc0)) (local.get $hi0)))
        (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $tk0)))
          (v128.const i64x2 1023 1023)) (i32.const 52)))
      (f64x2.sub (v128.const f64x2 1 1) (f64x2.sub (local.get $rc0) (local.get $r0)))
      (local.get $mRed0)))
    (local.set $res1 (v128.bitselect
      (f64x2.mul
        (f64x2.sub (v128.const f64x2 1 1) (f64x2.sub (f64x2.add (local.get $lo1) (local.get $rc1)) (local.get $hi1)))
        (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $tk1)))
          (v128.const i64x2 1023 1023)) (i32.const 52)))
      (f64x2.sub (v128.const f64x2 1 1) (f64x2.sub (local.get $rc1) (local.get $r1)))
      (local.get $mRed1)))
    (v128.bitselect (f64x2.add (v128.const f64x2 1 1) (local.get $x0)) (local.get $res0)
      (f64x2.lt (local.get $ax0) (v128.const f64x2 3.725290298461914e-09 3.725290298461914e-09)))
    (v128.bitselect (f64x2.add (v128.const f64x2 1 1) (local.get $x1)) (local.get $res1)
      (f64x2.lt (local.get $ax1) (v128.const f64x2 3.725290298461914e-09 3.725290298461914e-09)))
  )


  ;; math.ts's sigmoid, two lanes: x ≥ 0 ? 1 / (1 + exp(−x)) : exp(x) / (1 + exp(x)), in float64
  ;; exp(x) for x ≤ 0, math.ts's expNeg operation for operation (so the same bits): k = floor(x·log2(e) + 1/2),
  ;; r = (x − k·ln2hi) − k·ln2lo, the Taylor series of exp(r) to r¹³ in Estrin's scheme, times 2^k built from its
  ;; bits; 0 below −708, NaN for NaN.
  (func $expneg2 (param $x v128) (result v128)
    (local $k v128) (local $r v128) (local $r2 v128) (local $r4 v128) (local $p v128)
    (local.set $k (f64x2.floor (f64x2.add (f64x2.mul (local.get $x) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
      (v128.const f64x2 0.5 0.5))))
    (local.set $r (f64x2.sub
      (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
      (f64x2.mul (local.get $k) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
    (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
    (local.set $r4 (f64x2.mul (local.get $r2) (local.get $r2)))
    ;; p = (s0 + s1·r⁴) + (s2 + s3·r⁴)·r⁸
    (local.set $p (f64x2.add
      (f64x2.add
        ;; s0 = (1 + r) + (c2 + c3·r)·r²
        (f64x2.add (f64x2.add (v128.const f64x2 1 1) (local.get $r)) (f64x2.mul (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $r))) (local.get $r2)))
        (f64x2.mul
          ;; s1 = (c4 + c5·r) + (c6 + c7·r)·r²
          (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2) (f64x2.mul (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3) (local.get $r))) (f64x2.mul (f64x2.add (v128.const f64x2 1.388888888888889e-3 1.388888888888889e-3) (f64x2.mul (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4) (local.get $r))) (local.get $r2)))
          (local.get $r4)))
      (f64x2.mul
        (f64x2.add
          ;; s2 = (c8 + c9·r) + (c10 + c11·r)·r²
          (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5) (f64x2.mul (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6) (local.get $r))) (f64x2.mul (f64x2.add (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7) (f64x2.mul (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8) (local.get $r))) (local.get $r2)))
          ;; s3·r⁴, s3 = c12 + c13·r
          (f64x2.mul (f64x2.add (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9) (f64x2.mul (v128.const f64x2 1.6059043836821613e-10 1.6059043836821613e-10) (local.get $r))) (local.get $r4)))
        (f64x2.mul (local.get $r4) (local.get $r4)))))
    (local.set $p (f64x2.mul (local.get $p)
      (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k)))
        (v128.const i64x2 1023 1023)) (i32.const 52))))
    (v128.bitselect (local.get $p)
      (v128.bitselect (local.get $x) (v128.const f64x2 0 0) (f64x2.ne (local.get $x) (local.get $x)))
      (f64x2.ge (local.get $x) (v128.const f64x2 -708 -708)))
  )

  (func $sigmoid2 (param $x v128) (result v128)
    (local $pos v128) (local $e v128) (local $d v128)
    (local.set $pos (f64x2.ge (local.get $x) (v128.const f64x2 0 0)))
    (local.set $e (call $expneg2 (v128.bitselect (f64x2.neg (local.get $x)) (local.get $x) (local.get $pos))))
    (local.set $d (f64x2.add (v128.const f64x2 1 1) (local.get $e)))
    (f64x2.div (v128.bitselect (v128.const f64x2 1 1) (local.get $e) (local.get $pos)) (local.get $d))
  )

;; $sigmoid2 of two independent pairs at once (the same operations on each pair, so the same bits).
  (func $sigmoid4 (param $x0 v128) (param $x1 v128) (result v128 v128)
    (local $p0 v128) (local $p1 v128) (local $e0 v128) (local $e1 v128)
    (local.set $p0 (f64x2.ge (local.get $x0) (v128.const f64x2 0 0)))
    (local.set $p1 (f64x2.ge (local.get $x1) (v128.const f64x2 0 0)))
    (local.set $e0 (call $expneg2 (v128.bitselect (f64x2.neg (local.get $x0)) (local.get $x0) (local.get $p0))))
    (local.set $e1 (call $expneg2 (v128.bitselect (f64x2.neg (local.get $x1)) (local.get $x1) (local.get $p1))))
    (f64x2.div (v128.bitselect (v128.const f64x2 1 1) (local.get $e0) (local.get $p0))
      (f64x2.add (v128.const f64x2 1 1) (local.get $e0)))
    (f64x2.div (v128.bitselect (v128.const f64x2 1 1) (local.get $e1) (local.get $p1))
      (f64x2.add (v128.const f64x2 1 1) (local.get $e1)))
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
    (local $v1 v128) (local $s1 v128)
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    ;; four at a time (two pairs through $sigmoid4), then pairs and a last single one below
    (block $done4
      (loop $L4
        (br_if $done4 (i32.gt_u (i32.add (local.get $g) (i32.const 16)) (local.get $end)))
        (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $g))))
        (local.set $v1 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $g))))
        (call $sigmoid4 (local.get $v) (local.get $v1))
        (local.set $s1)
        (local.set $s)
        (local.set $s (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $v) (local.get $s)))))
        (local.set $s1 (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $v1) (local.get $s1)))))
        (v128.store64_lane 0 (local.get $out) (f32x4.demote_f64x2_zero
          (f64x2.mul (local.get $s) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $up))))))
        (v128.store64_lane offset=8 0 (local.get $out) (f32x4.demote_f64x2_zero
          (f64x2.mul (local.get $s1) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $up))))))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $up (i32.add (local.get $up) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $L4)))
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
    (local $v1 v128) (local $u1 v128) (local $d1 v128) (local $s1 v128)
    (local.set $one (v128.const f64x2 1 1))
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    ;; four at a time (two pairs through $sigmoid4; every input is loaded before an output is stored), then pairs
    ;; and a last single one below
    (block $done4
      (loop $L4
        (br_if $done4 (i32.gt_u (i32.add (local.get $g) (i32.const 16)) (local.get $end)))
        (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $g))))
        (local.set $v1 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $g))))
        (local.set $u (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $up))))
        (local.set $u1 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $up))))
        (local.set $d (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $dy))))
        (local.set $d1 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $dy))))
        (call $sigmoid4 (local.get $v) (local.get $v1))
        (local.set $s1)
        (local.set $s)
        (v128.store64_lane 0 (local.get $dgate) (f32x4.demote_f64x2_zero (f64x2.mul
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $d) (local.get $u))))
          (f64x2.mul (local.get $s) (f64x2.add (local.get $one)
            (f64x2.mul (local.get $v) (f64x2.sub (local.get $one) (local.get $s))))))))
        (v128.store64_lane offset=8 0 (local.get $dgate) (f32x4.demote_f64x2_zero (f64x2.mul
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $d1) (local.get $u1))))
          (f64x2.mul (local.get $s1) (f64x2.add (local.get $one)
            (f64x2.mul (local.get $v1) (f64x2.sub (local.get $one) (local.get $s1))))))))
        (v128.store64_lane 0 (local.get $dup) (f32x4.demote_f64x2_zero (f64x2.mul (local.get $d)
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $v) (local.get $s)))))))
        (v128.store64_lane offset=8 0 (local.get $dup) (f32x4.demote_f64x2_zero (f64x2.mul (local.get $d1)
          (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.mul (local.get $v1) (local.get $s1)))))))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $up (i32.add (local.get $up) (i32.const 16)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $dgate (i32.add (local.get $dgate) (i32.const 16)))
        (local.set $dup (i32.add (local.get $dup) (i32.const 16)))
        (br $L4)))
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
            ;; four at a time through $exp4, then pairs
            (block $d34 (loop $L34
              (br_if $d34 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
              (call $exp4
                (f64x2.sub
                  (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))))
                  (local.get $m64))
                (f64x2.sub
                  (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))))
                  (local.get $m64)))
              (local.set $v)
              (local.set $vmx) ;; (the maximum's vector is no longer needed)
              (v128.store (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3))) (local.get $vmx))
              (v128.store offset=16 (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3))) (local.get $v))
              (local.set $j (i32.add (local.get $j) (i32.const 4)))
              (br $L34)))
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

  ;; ---- Row kernels of simd-rows.ts: RMS norm and its gradient, rotary embedding, cross-entropy ----------------------
  ;; Each is bit for bit its JavaScript loop in kernels/: an f32 op of f32 operands (f32x4 lane by lane) is the float64
  ;; op rounded once, the float64 sums stay sequential in the loops' order, and every other scalar step is the same
  ;; float64 operation followed by the same rounding to f32.

  ;; kernels/rmsNorm.ts's rmsRstd: fround(1 / √(fround(fround(fround(Σ fround(v·v)) / D) + eps))), the sum in float64
  ;; in order (the squares four at a time, added lane by lane).
  (func $rms_rstd (param $xr i32) (param $d i32) (param $eps f32) (result f32)
    (local $j i32) (local $n i32) (local $s f64) (local $v v128) (local $e f32)
    (local.set $n (i32.shl (local.get $d) (i32.const 2)))
    (block $d1 (loop $L1
      (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
      (local.set $v (v128.load (i32.add (local.get $xr) (local.get $j))))
      (local.set $v (f32x4.mul (local.get $v) (local.get $v)))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $L1)))
    (block $d2 (loop $L2
      (br_if $d2 (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $e (f32.load (i32.add (local.get $xr) (local.get $j))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.mul (local.get $e) (local.get $e)))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $L2)))
    (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.promote_f32 (f32.demote_f64 (f64.add
      (f64.promote_f32 (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (local.get $s)))
        (f64.convert_i32_u (local.get $d)))))
      (f64.promote_f32 (local.get $eps))))))))
  )

  ;; rmsNorm rows [r, r + rows) of x [·, d]: out = x·rs, or fround(x·rs)·w with a weight ($hasW ≠ 0). out may alias x.
  (func $rms_norm_rows (param $x i32) (param $w i32) (param $hasW i32) (param $out i32) (param $r i32) (param $rows i32)
      (param $d i32) (param $eps f32)
    (local $end i32) (local $rowBytes i32) (local $xr i32) (local $or i32) (local $j i32) (local $rs f32) (local $vr v128)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $or (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $rs (call $rms_rstd (local.get $xr) (local.get $d) (local.get $eps)))
        (local.set $vr (f32x4.splat (local.get $rs)))
        (local.set $j (i32.const 0))
        (if (local.get $hasW)
          (then
            (block $w1 (loop $W1
              (br_if $w1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
              (v128.store (i32.add (local.get $or) (local.get $j))
                (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $xr) (local.get $j))) (local.get $vr))
                  (v128.load (i32.add (local.get $w) (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 16)))
              (br $W1)))
            (block $w2 (loop $W2
              (br_if $w2 (i32.ge_s (local.get $j) (local.get $rowBytes)))
              (f32.store (i32.add (local.get $or) (local.get $j))
                (f32.mul (f32.mul (f32.load (i32.add (local.get $xr) (local.get $j))) (local.get $rs))
                  (f32.load (i32.add (local.get $w) (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 4)))
              (br $W2))))
          (else
            (block $p1 (loop $P1
              (br_if $p1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
              (v128.store (i32.add (local.get $or) (local.get $j))
                (f32x4.mul (v128.load (i32.add (local.get $xr) (local.get $j))) (local.get $vr)))
              (local.set $j (i32.add (local.get $j) (i32.const 16)))
              (br $P1)))
            (block $p2 (loop $P2
              (br_if $p2 (i32.ge_s (local.get $j) (local.get $rowBytes)))
              (f32.store (i32.add (local.get $or) (local.get $j))
                (f32.mul (f32.load (i32.add (local.get $xr) (local.get $j))) (local.get $rs)))
              (local.set $j (i32.add (local.get $j) (i32.const 4)))
              (br $P2)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; rmsNormGrad rows, kernels/rmsNormGrad.ts's loop: a = dy·w (or dy), dr = Σ fround(a·x) in order (float64),
  ;; dv = fround(fround(dr) · fround(fround(rs³) · −½)), ds = fround(dv / D), dx = fround(a·rs) + fround(ds·fround(2x)).
  ;; rs³ is taken as (rs·rs)·rs in float64 (rs·rs is exact): rounded to f32 it is what fround(rs ** 3) gives for every
  ;; normal f32 result (simd-rows.ts checks the few cubes where that could depend on the engine's pow); a row whose
  ;; cube is below 2^-125 (f32 subnormals) stores 1 at $flag and the caller redoes the job in JavaScript. out may
  ;; alias dy (each element is read before it is written).
  (func $rms_norm_grad_rows (param $x i32) (param $dy i32) (param $w i32) (param $hasW i32) (param $out i32)
      (param $r i32) (param $rows i32) (param $d i32) (param $eps f32) (param $flag i32)
    (local $end i32) (local $rowBytes i32) (local $off i32) (local $xr i32) (local $gr i32) (local $or i32) (local $j i32)
    (local $rs f32) (local $rs64 f64) (local $q f64) (local $dr f64) (local $ds f32) (local $a v128) (local $v v128)
    (local $as f32) (local $vr v128) (local $vds v128)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $off (i32.mul (local.get $r) (local.get $rowBytes)))
        (local.set $xr (i32.add (local.get $x) (local.get $off)))
        (local.set $gr (i32.add (local.get $dy) (local.get $off)))
        (local.set $or (i32.add (local.get $out) (local.get $off)))
        (local.set $rs (call $rms_rstd (local.get $xr) (local.get $d) (local.get $eps)))
        ;; dr, four products at a time, added lane by lane
        (local.set $dr (f64.const 0))
        (local.set $j (i32.const 0))
        (block $d1 (loop $L1
          (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
          (local.set $a (v128.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $a (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $w) (local.get $j)))))))
          (local.set $v (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $xr) (local.get $j)))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v)))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v)))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v)))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $L1)))
        (block $d2 (loop $L2
          (br_if $d2 (i32.ge_s (local.get $j) (local.get $rowBytes)))
          (local.set $as (f32.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $as (f32.mul (local.get $as) (f32.load (i32.add (local.get $w) (local.get $j)))))))
          (local.set $dr (f64.add (local.get $dr)
            (f64.promote_f32 (f32.mul (local.get $as) (f32.load (i32.add (local.get $xr) (local.get $j)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L2)))
        (local.set $rs64 (f64.promote_f32 (local.get $rs)))
        (local.set $q (f64.mul (f64.mul (local.get $rs64) (local.get $rs64)) (local.get $rs64)))
        (if (i32.and (f64.gt (local.get $q) (f64.const 0)) (f64.lt (local.get $q) (f64.const 0x1p-125)))
          (then (i32.store (local.get $flag) (i32.const 1))))
        (local.set $ds (f32.demote_f64 (f64.div
          (f64.promote_f32 (f32.demote_f64 (f64.mul
            (f64.promote_f32 (f32.demote_f64 (local.get $dr)))
            (f64.promote_f32 (f32.demote_f64 (f64.mul
              (f64.promote_f32 (f32.demote_f64 (local.get $q))) (f64.const -0.5)))))))
          (f64.convert_i32_u (local.get $d)))))
        ;; dx
        (local.set $vr (f32x4.splat (local.get $rs)))
        (local.set $vds (f32x4.splat (local.get $ds)))
        (local.set $j (i32.const 0))
        (block $d3 (loop $L3
          (br_if $d3 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
          (local.set $a (v128.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $a (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $w) (local.get $j)))))))
          (local.set $v (v128.load (i32.add (local.get $xr) (local.get $j))))
          (v128.store (i32.add (local.get $or) (local.get $j))
            (f32x4.add (f32x4.mul (local.get $a) (local.get $vr))
              (f32x4.mul (local.get $vds) (f32x4.add (local.get $v) (local.get $v)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $L3)))
        (block $d4 (loop $L4
          (br_if $d4 (i32.ge_s (local.get $j) (local.get $rowBytes)))
          (local.set $as (f32.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $as (f32.mul (local.get $as) (f32.load (i32.add (local.get $w) (local.get $j)))))))
          (f32.store (i32.add (local.get $or) (local.get $j))
            (f32.add (f32.mul (local.get $as) (local.get $rs))
              (f32.mul (local.get $ds) (f32.mul (f32.load (i32.add (local.get $xr) (local.get $j))) (f32.const 2)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; o[0:n] = fround(xa·ca) − fround(xb·sb) ($sub ≠ 0) or + (f32, n elements from each pointer).
  (func $rot_half (param $o i32) (param $xa i32) (param $ca i32) (param $xb i32) (param $sb i32) (param $n i32)
      (param $sub i32)
    (local $j i32) (local $bytes i32) (local $p v128) (local $q v128) (local $ps f32) (local $qs f32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (block $d1 (loop $L1
      (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $bytes)))
      (local.set $p (f32x4.mul (v128.load (i32.add (local.get $xa) (local.get $j))) (v128.load (i32.add (local.get $ca) (local.get $j)))))
      (local.set $q (f32x4.mul (v128.load (i32.add (local.get $xb) (local.get $j))) (v128.load (i32.add (local.get $sb) (local.get $j)))))
      (v128.store (i32.add (local.get $o) (local.get $j))
        (if (result v128) (local.get $sub)
          (then (f32x4.sub (local.get $p) (local.get $q)))
          (else (f32x4.add (local.get $p) (local.get $q)))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $L1)))
    (block $d2 (loop $L2
      (br_if $d2 (i32.ge_s (local.get $j) (local.get $bytes)))
      (local.set $ps (f32.mul (f32.load (i32.add (local.get $xa) (local.get $j))) (f32.load (i32.add (local.get $ca) (local.get $j)))))
      (local.set $qs (f32.mul (f32.load (i32.add (local.get $xb) (local.get $j))) (f32.load (i32.add (local.get $sb) (local.get $j)))))
      (f32.store (i32.add (local.get $o) (local.get $j))
        (if (result f32) (local.get $sub)
          (then (f32.sub (local.get $ps) (local.get $qs)))
          (else (f32.add (local.get $ps) (local.get $qs)))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $L2)))
  )

  ;; Rotary rows [r, r + rows) of x [·, d] (d even, h = d/2), kernels/rotary.ts's loop. Forward: out = x·cos +
  ;; (−x₂, x₁)·sin; inverse: out = x·cos + (x₂·sin₂, −x₁·sin₁). heads = 0: row r stays in place and reads the tables
  ;; at (r·d) mod period; heads ≠ 0: x is [B, a, b, d], row (n, i, j) goes to (n, j, i) and reads table row i (forward)
  ;; or j (inverse). out must not alias x.
  (func $rotary_rows (param $x i32) (param $cos i32) (param $sin i32) (param $out i32) (param $r i32) (param $rows i32)
      (param $d i32) (param $period i32) (param $inverse i32) (param $heads i32) (param $a i32) (param $b i32)
    (local $end i32) (local $h i32) (local $hb i32) (local $src i32) (local $dst i32) (local $t i32) (local $i i32)
    (local $jj i32) (local $n i32)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $h (i32.shr_u (local.get $d) (i32.const 1)))
    (local.set $hb (i32.shl (local.get $h) (i32.const 2)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $src (i32.mul (local.get $r) (local.get $d)))
        (if (local.get $heads)
          (then
            (local.set $jj (i32.rem_u (local.get $r) (local.get $b)))
            (local.set $i (i32.rem_u (i32.div_u (local.get $r) (local.get $b)) (local.get $a)))
            (local.set $n (i32.div_u (local.get $r) (i32.mul (local.get $a) (local.get $b))))
            (local.set $dst (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $b)) (local.get $jj))
              (local.get $a)) (local.get $i)) (local.get $d)))
            (local.set $t (i32.mul (select (local.get $jj) (local.get $i) (local.get $inverse)) (local.get $d))))
          (else
            (local.set $dst (local.get $src))
            (local.set $t (i32.rem_u (local.get $src) (local.get $period)))))
        (local.set $src (i32.add (local.get $x) (i32.shl (local.get $src) (i32.const 2))))
        (local.set $dst (i32.add (local.get $out) (i32.shl (local.get $dst) (i32.const 2))))
        (local.set $t (i32.shl (local.get $t) (i32.const 2)))
        ;; first half: x₁·c₁ ∓ x₂·s (forward: s₁, minus; inverse: s₂, plus)
        (call $rot_half (local.get $dst) (local.get $src) (i32.add (local.get $cos) (local.get $t))
          (i32.add (local.get $src) (local.get $hb))
          (i32.add (i32.add (local.get $sin) (local.get $t)) (select (local.get $hb) (i32.const 0) (local.get $inverse)))
          (local.get $h) (i32.eqz (local.get $inverse)))
        ;; second half: x₂·c₂ ± x₁·s (forward: s₂, plus; inverse: s₁, minus)
        (call $rot_half (i32.add (local.get $dst) (local.get $hb)) (i32.add (local.get $src) (local.get $hb))
          (i32.add (i32.add (local.get $cos) (local.get $t)) (local.get $hb))
          (local.get $src)
          (i32.add (i32.add (local.get $sin) (local.get $t)) (select (i32.const 0) (local.get $hb) (local.get $inverse)))
          (local.get $h) (local.get $inverse))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; Cross-entropy rows [r, r + rows) of logits [·, c] (c ≥ 1) with i32 labels (in [0, c) unless $ignore), as
  ;; kernels/crossEntropy.ts and crossEntropyGrad.ts loop: mx = the row's maximum, s = Σ exp(l − mx) in order
  ;; (float64). Forward ($grad = 0): out holds two float64 a row, [s, mx] (the caller adds the log), ignored rows are
  ;; skipped. Gradient: out [·, c] = fround((g·exp(l − mx)) / s) with g = dloss[r], then out[y] = fround(out[y] − g);
  ;; ignored rows get zeros. The exponentials are kept in $scratch (8·(c + 1) bytes) where $keep ≠ 0, else computed
  ;; again. The last odd logit is read with the next one (the caller leaves 8 readable bytes past the logits).
  (func $cross_entropy_rows (param $logits i32) (param $labels i32) (param $dloss i32) (param $out i32) (param $r i32)
      (param $rows i32) (param $c i32) (param $ignore i32) (param $grad i32) (param $keep i32) (param $scratch i32)
    (local $end i32) (local $rowBytes i32) (local $lr i32) (local $or i32) (local $j i32) (local $y i32)
    (local $vmx v128) (local $mx f32) (local $m64 v128) (local $e v128) (local $s f64) (local $vs v128) (local $vg v128)
    (local $g f32) (local $pa i32) (local $e1 v128)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $y (i32.load (i32.add (local.get $labels) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $lr (i32.add (local.get $logits) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $or (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowBytes))))
        (block $next
          (if (i32.eq (local.get $y) (local.get $ignore))
            (then
              (if (local.get $grad) (then (memory.fill (local.get $or) (i32.const 0) (local.get $rowBytes))))
              (br $next)))
          ;; the maximum (max is exact, so its order is free; NaN and ±0 behave as Math.max)
          (local.set $vmx (v128.const f32x4 -inf -inf -inf -inf))
          (local.set $j (i32.const 0))
          (block $d1 (loop $L1
            (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
            (local.set $vmx (f32x4.max (local.get $vmx) (v128.load (i32.add (local.get $lr) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $L1)))
          (local.set $mx (f32.max
            (f32.max (f32x4.extract_lane 0 (local.get $vmx)) (f32x4.extract_lane 1 (local.get $vmx)))
            (f32.max (f32x4.extract_lane 2 (local.get $vmx)) (f32x4.extract_lane 3 (local.get $vmx)))))
          (block $d2 (loop $L2
            (br_if $d2 (i32.ge_s (local.get $j) (local.get $rowBytes)))
            (local.set $mx (f32.max (local.get $mx) (f32.load (i32.add (local.get $lr) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $L2)))
          (local.set $m64 (f64x2.splat (f64.promote_f32 (local.get $mx))))
          ;; exponentials four at a time (two pairs), then two at a time, summed in order ($j counts logits)
          (local.set $s (f64.const 0))
          (local.set $j (i32.const 0))
          (block $d5 (loop $L5
            (br_if $d5 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $c)))
            (local.set $pa (i32.add (local.get $lr) (i32.shl (local.get $j) (i32.const 2))))
            (call $exp4
              (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa))) (local.get $m64))
              (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa))) (local.get $m64)))
            (local.set $e1)
            (local.set $e)
            (if (local.get $keep)
              (then
                (local.set $pa (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3))))
                (v128.store (local.get $pa) (local.get $e))
                (v128.store offset=16 (local.get $pa) (local.get $e1))))
            (local.set $s (f64.add (local.get $s) (f64x2.extract_lane 0 (local.get $e))))
            (local.set $s (f64.add (local.get $s) (f64x2.extract_lane 1 (local.get $e))))
            (local.set $s (f64.add (local.get $s) (f64x2.extract_lane 0 (local.get $e1))))
            (local.set $s (f64.add (local.get $s) (f64x2.extract_lane 1 (local.get $e1))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $L5)))
          (block $d3 (loop $L3
            (br_if $d3 (i32.ge_s (local.get $j) (local.get $c)))
            (local.set $e (call $exp2 (f64x2.sub
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $lr) (i32.shl (local.get $j) (i32.const 2)))))
              (local.get $m64))))
            (if (local.get $keep)
              (then (v128.store (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3))) (local.get $e))))
            (local.set $s (f64.add (local.get $s) (f64x2.extract_lane 0 (local.get $e))))
            (if (i32.lt_s (i32.add (local.get $j) (i32.const 1)) (local.get $c))
              (then (local.set $s (f64.add (local.get $s) (f64x2.extract_lane 1 (local.get $e))))))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $L3)))
          (if (i32.eqz (local.get $grad))
            (then
              (f64.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 4))) (local.get $s))
              (f64.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 4)))
                (f64.promote_f32 (local.get $mx)))
              (br $next)))
          (local.set $g (f32.load (i32.add (local.get $dloss) (i32.shl (local.get $r) (i32.const 2)))))
          (local.set $vg (f64x2.splat (f64.promote_f32 (local.get $g))))
          (local.set $vs (f64x2.splat (local.get $s)))
          (local.set $j (i32.const 0))
          (block $d6 (loop $L6
            (br_if $d6 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $c)))
            (local.set $pa (i32.add (local.get $lr) (i32.shl (local.get $j) (i32.const 2))))
            (if (local.get $keep)
              (then
                (local.set $e (v128.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3)))))
                (local.set $e1 (v128.load offset=16 (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3))))))
              (else
                (call $exp4
                  (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa))) (local.get $m64))
                  (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa))) (local.get $m64)))
                (local.set $e1)
                (local.set $e)))
            (v128.store64_lane 0 (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2)))
              (f32x4.demote_f64x2_zero (f64x2.div (f64x2.mul (local.get $vg) (local.get $e)) (local.get $vs))))
            (v128.store64_lane 0 (i32.add (local.get $or) (i32.add (i32.shl (local.get $j) (i32.const 2)) (i32.const 8)))
              (f32x4.demote_f64x2_zero (f64x2.div (f64x2.mul (local.get $vg) (local.get $e1)) (local.get $vs))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $L6)))
          (block $d4 (loop $L4
            (br_if $d4 (i32.ge_s (local.get $j) (local.get $c)))
            (local.set $e (if (result v128) (local.get $keep)
              (then (v128.load (i32.add (local.get $scratch) (i32.shl (local.get $j) (i32.const 3)))))
              (else (call $exp2 (f64x2.sub
                (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $lr) (i32.shl (local.get $j) (i32.const 2)))))
                (local.get $m64))))))
            (local.set $e (f32x4.demote_f64x2_zero (f64x2.div (f64x2.mul (local.get $vg) (local.get $e)) (local.get $vs))))
            (if (i32.lt_s (i32.add (local.get $j) (i32.const 1)) (local.get $c))
              (then (v128.store64_lane 0 (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2))) (local.get $e)))
              (else (v128.store32_lane 0 (i32.add (local.get $or) (i32.shl (local.get $j) (i32.const 2))) (local.get $e))))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $L4)))
          (local.set $y (i32.add (local.get $or) (i32.shl (local.get $y) (i32.const 2))))
          (f32.store (local.get $y) (f32.sub (f32.load (local.get $y)) (local.get $g))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; kernels/layerNorm.ts's layerNormRow: μ = fround(fround(Σ x) / D) and rs = fround(1 / √(fround(fround(
  ;; fround(Σ fround(c·c)) / D) + eps))) with c = fround(x − μ), both sums in float64 in order. Returns μ, rs.
  (func $ln_stats (param $xr i32) (param $d i32) (param $eps f32) (result f32 f32)
    (local $j i32) (local $n i32) (local $s f64) (local $v v128) (local $vm v128) (local $e f32) (local $mu f32)
    (local.set $n (i32.shl (local.get $d) (i32.const 2)))
    (block $d1 (loop $L1
      (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
      (local.set $v (v128.load (i32.add (local.get $xr) (local.get $j))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $L1)))
    (block $d2 (loop $L2
      (br_if $d2 (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (i32.add (local.get $xr) (local.get $j))))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $L2)))
    (local.set $mu (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (local.get $s)))
      (f64.convert_i32_u (local.get $d)))))
    (local.set $vm (f32x4.splat (local.get $mu)))
    (local.set $s (f64.const 0))
    (local.set $j (i32.const 0))
    (block $d3 (loop $L3
      (br_if $d3 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
      (local.set $v (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $j))) (local.get $vm)))
      (local.set $v (f32x4.mul (local.get $v) (local.get $v)))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v)))))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $L3)))
    (block $d4 (loop $L4
      (br_if $d4 (i32.ge_s (local.get $j) (local.get $n)))
      (local.set $e (f32.sub (f32.load (i32.add (local.get $xr) (local.get $j))) (local.get $mu)))
      (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.mul (local.get $e) (local.get $e)))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $L4)))
    (local.get $mu)
    (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.promote_f32 (f32.demote_f64 (f64.add
      (f64.promote_f32 (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (local.get $s)))
        (f64.convert_i32_u (local.get $d)))))
      (f64.promote_f32 (local.get $eps))))))))
  )

  ;; layerNorm rows [r, r + rows) of x [·, d], kernels/layerNorm.ts's loop: y = fround(c·rs), then fround(y·w) with a
  ;; weight (bit 0 of $flags) and fround(y + b) with a bias (bit 1). out may alias x.
  (func $layer_norm_rows (param $x i32) (param $w i32) (param $b i32) (param $flags i32) (param $out i32) (param $r i32)
      (param $rows i32) (param $d i32) (param $eps f32)
    (local $end i32) (local $rowBytes i32) (local $xr i32) (local $or i32) (local $j i32) (local $mu f32) (local $rs f32)
    (local $vm v128) (local $vr v128) (local $v v128) (local $e f32) (local $hasW i32) (local $hasB i32)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $hasW (i32.and (local.get $flags) (i32.const 1)))
    (local.set $hasB (i32.and (local.get $flags) (i32.const 2)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $or (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowBytes))))
        (call $ln_stats (local.get $xr) (local.get $d) (local.get $eps))
        (local.set $rs)
        (local.set $mu)
        (local.set $vm (f32x4.splat (local.get $mu)))
        (local.set $vr (f32x4.splat (local.get $rs)))
        (local.set $j (i32.const 0))
        (block $d1 (loop $L1
          (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
          (local.set $v (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $j))) (local.get $vm))
            (local.get $vr)))
          (if (local.get $hasW)
            (then (local.set $v (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $w) (local.get $j)))))))
          (if (local.get $hasB)
            (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $b) (local.get $j)))))))
          (v128.store (i32.add (local.get $or) (local.get $j)) (local.get $v))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $L1)))
        (block $d2 (loop $L2
          (br_if $d2 (i32.ge_s (local.get $j) (local.get $rowBytes)))
          (local.set $e (f32.mul (f32.sub (f32.load (i32.add (local.get $xr) (local.get $j))) (local.get $mu))
            (local.get $rs)))
          (if (local.get $hasW)
            (then (local.set $e (f32.mul (local.get $e) (f32.load (i32.add (local.get $w) (local.get $j)))))))
          (if (local.get $hasB)
            (then (local.set $e (f32.add (local.get $e) (f32.load (i32.add (local.get $b) (local.get $j)))))))
          (f32.store (i32.add (local.get $or) (local.get $j)) (local.get $e))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L2)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; layerNormGrad rows, kernels/layerNormGrad.ts's loop: with c = fround(x − μ) and g = dy·w (or dy), dr = Σ fround(g·c),
  ;; ds2 = fround(fround(fround(dr) · fround(fround(rs³) · −½)) / D), dc = fround(g·rs) + fround(ds2·fround(2c)),
  ;; sdc = −Σ dc (float64, in order), ds1 = fround(fround(sdc) / D), dx = dc + ds1. rs³ as in $rms_norm_grad_rows
  ;; (the same $flag for cubes below the f32 normals). dc goes to out first, then dx over it; out may alias dy.
  (func $layer_norm_grad_rows (param $x i32) (param $dy i32) (param $w i32) (param $hasW i32) (param $out i32)
      (param $r i32) (param $rows i32) (param $d i32) (param $eps f32) (param $flag i32)
    (local $end i32) (local $rowBytes i32) (local $off i32) (local $xr i32) (local $gr i32) (local $or i32) (local $j i32)
    (local $mu f32) (local $rs f32) (local $rs64 f64) (local $q f64) (local $dr f64) (local $sdc f64) (local $ds f32)
    (local $ds1 f32) (local $g v128) (local $c v128) (local $v v128) (local $gs f32) (local $cs f32) (local $vm v128)
    (local $vr v128) (local $vds v128)
    (local.set $end (i32.add (local.get $r) (local.get $rows)))
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (block $rowsDone
      (loop $R
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $off (i32.mul (local.get $r) (local.get $rowBytes)))
        (local.set $xr (i32.add (local.get $x) (local.get $off)))
        (local.set $gr (i32.add (local.get $dy) (local.get $off)))
        (local.set $or (i32.add (local.get $out) (local.get $off)))
        (call $ln_stats (local.get $xr) (local.get $d) (local.get $eps))
        (local.set $rs)
        (local.set $mu)
        (local.set $vm (f32x4.splat (local.get $mu)))
        ;; dr
        (local.set $dr (f64.const 0))
        (local.set $j (i32.const 0))
        (block $d1 (loop $L1
          (br_if $d1 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
          (local.set $g (v128.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $g (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $w) (local.get $j)))))))
          (local.set $v (f32x4.mul (local.get $g)
            (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $j))) (local.get $vm))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v)))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v)))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v)))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $L1)))
        (block $d2 (loop $L2
          (br_if $d2 (i32.ge_s (local.get $j) (local.get $rowBytes)))
          (local.set $gs (f32.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $gs (f32.mul (local.get $gs) (f32.load (i32.add (local.get $w) (local.get $j)))))))
          (local.set $dr (f64.add (local.get $dr) (f64.promote_f32 (f32.mul (local.get $gs)
            (f32.sub (f32.load (i32.add (local.get $xr) (local.get $j))) (local.get $mu))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L2)))
        (local.set $rs64 (f64.promote_f32 (local.get $rs)))
        (local.set $q (f64.mul (f64.mul (local.get $rs64) (local.get $rs64)) (local.get $rs64)))
        (if (i32.and (f64.gt (local.get $q) (f64.const 0)) (f64.lt (local.get $q) (f64.const 0x1p-125)))
          (then (i32.store (local.get $flag) (i32.const 1))))
        (local.set $ds (f32.demote_f64 (f64.div
          (f64.promote_f32 (f32.demote_f64 (f64.mul
            (f64.promote_f32 (f32.demote_f64 (local.get $dr)))
            (f64.promote_f32 (f32.demote_f64 (f64.mul
              (f64.promote_f32 (f32.demote_f64 (local.get $q))) (f64.const -0.5)))))))
          (f64.convert_i32_u (local.get $d)))))
        ;; dc into out, and sdc = −Σ dc
        (local.set $vr (f32x4.splat (local.get $rs)))
        (local.set $vds (f32x4.splat (local.get $ds)))
        (local.set $sdc (f64.const 0))
        (local.set $j (i32.const 0))
        (block $d3 (loop $L3
          (br_if $d3 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
          (local.set $g (v128.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $g (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $w) (local.get $j)))))))
          (local.set $c (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $j))) (local.get $vm)))
          (local.set $v (f32x4.add (f32x4.mul (local.get $g) (local.get $vr))
            (f32x4.mul (local.get $vds) (f32x4.add (local.get $c) (local.get $c)))))
          (v128.store (i32.add (local.get $or) (local.get $j)) (local.get $v))
          (local.set $sdc (f64.sub (local.get $sdc) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v)))))
          (local.set $sdc (f64.sub (local.get $sdc) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v)))))
          (local.set $sdc (f64.sub (local.get $sdc) (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v)))))
          (local.set $sdc (f64.sub (local.get $sdc) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $L3)))
        (block $d4 (loop $L4
          (br_if $d4 (i32.ge_s (local.get $j) (local.get $rowBytes)))
          (local.set $gs (f32.load (i32.add (local.get $gr) (local.get $j))))
          (if (local.get $hasW)
            (then (local.set $gs (f32.mul (local.get $gs) (f32.load (i32.add (local.get $w) (local.get $j)))))))
          (local.set $cs (f32.sub (f32.load (i32.add (local.get $xr) (local.get $j))) (local.get $mu)))
          (local.set $cs (f32.add (f32.mul (local.get $gs) (local.get $rs))
            (f32.mul (local.get $ds) (f32.mul (local.get $cs) (f32.const 2)))))
          (f32.store (i32.add (local.get $or) (local.get $j)) (local.get $cs))
          (local.set $sdc (f64.sub (local.get $sdc) (f64.promote_f32 (local.get $cs))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L4)))
        (local.set $ds1 (f32.demote_f64 (f64.div (f64.promote_f32 (f32.demote_f64 (local.get $sdc)))
          (f64.convert_i32_u (local.get $d)))))
        (local.set $vds (f32x4.splat (local.get $ds1)))
        (local.set $j (i32.const 0))
        (block $d5 (loop $L5
          (br_if $d5 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $rowBytes)))
          (v128.store (i32.add (local.get $or) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $or) (local.get $j))) (local.get $vds)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $L5)))
        (block $d6 (loop $L6
          (br_if $d6 (i32.ge_s (local.get $j) (local.get $rowBytes)))
          (f32.store (i32.add (local.get $or) (local.get $j))
            (f32.add (f32.load (i32.add (local.get $or) (local.get $j))) (local.get $ds1)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $L6)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $R)))
  )

  ;; Sum over the middle axis of x [outer, n, inner] for row o and columns [i0, i1), kernels/reduce.ts's loop bit for
  ;; bit: out[o][i] = fround(Σ_k x[o][k][i]) with the sum in float64, in k order (each lane is one column's sum, so
  ;; vectorising across columns keeps every column's order).
  (func $sum_middle (param $x i32) (param $out i32) (param $o i32) (param $n i32) (param $inner i32) (param $i i32)
      (param $i1 i32)
    (local $k i32) (local $p i32) (local $rowBytes i32) (local $q i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s f64)
    (local.set $rowBytes (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $q (i32.add (local.get $x) (i32.mul (i32.mul (local.get $o) (local.get $n)) (local.get $rowBytes))))
    ;; eight columns at a time
    (block $d8 (loop $L8
      (br_if $d8 (i32.gt_s (i32.add (local.get $i) (i32.const 8)) (local.get $i1)))
      (local.set $a0 (v128.const f64x2 0 0))
      (local.set $a1 (v128.const f64x2 0 0))
      (local.set $a2 (v128.const f64x2 0 0))
      (local.set $a3 (v128.const f64x2 0 0))
      (local.set $p (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $k (i32.const 0))
      (block $kd (loop $K
        (br_if $kd (i32.ge_s (local.get $k) (local.get $n)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p)))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p)))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $K)))
      (local.set $p (i32.add (local.get $out)
        (i32.shl (i32.add (i32.mul (local.get $o) (local.get $inner)) (local.get $i)) (i32.const 2))))
      (v128.store64_lane 0 (local.get $p) (f32x4.demote_f64x2_zero (local.get $a0)))
      (v128.store64_lane offset=8 0 (local.get $p) (f32x4.demote_f64x2_zero (local.get $a1)))
      (v128.store64_lane offset=16 0 (local.get $p) (f32x4.demote_f64x2_zero (local.get $a2)))
      (v128.store64_lane offset=24 0 (local.get $p) (f32x4.demote_f64x2_zero (local.get $a3)))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $L8)))
    ;; the remaining columns one at a time
    (block $d1 (loop $L1
      (br_if $d1 (i32.ge_s (local.get $i) (local.get $i1)))
      (local.set $s (f64.const 0))
      (local.set $p (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $k (i32.const 0))
      (block $kd1 (loop $K1
        (br_if $kd1 (i32.ge_s (local.get $k) (local.get $n)))
        (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $K1)))
      (f32.store (i32.add (local.get $out)
          (i32.shl (i32.add (i32.mul (local.get $o) (local.get $inner)) (local.get $i)) (i32.const 2)))
        (f32.demote_f64 (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $L1)))
  )

  ;; Rows [q, q + len) of x [B, A, C, D] to out [B, C, A, D] (swap the middle axes; rows of D floats move whole).
  (func $swap_middle (param $x i32) (param $out i32) (param $q i32) (param $len i32) (param $a i32) (param $c i32)
      (param $d i32)
    (local $end i32) (local $src i32) (local $dst i32) (local $j i32) (local $bytes i32) (local $ai i32) (local $ci i32)
    (local $bi i32)
    (local.set $end (i32.add (local.get $q) (local.get $len)))
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (block $done (loop $R
      (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
      ;; row q = (b·A + ai)·C + ci of x goes to row (b·C + ci)·A + ai of out
      (local.set $ci (i32.rem_u (local.get $q) (local.get $c)))
      (local.set $ai (i32.rem_u (i32.div_u (local.get $q) (local.get $c)) (local.get $a)))
      (local.set $bi (i32.div_u (local.get $q) (i32.mul (local.get $a) (local.get $c))))
      (local.set $src (i32.add (local.get $x) (i32.mul (local.get $q) (local.get $bytes))))
      (local.set $dst (i32.add (local.get $out) (i32.mul
        (i32.add (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $c)) (local.get $ci)) (local.get $a)) (local.get $ai))
        (local.get $bytes))))
      (local.set $j (i32.const 0))
      (block $dv (loop $V
        (br_if $dv (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $bytes)))
        (v128.store (i32.add (local.get $dst) (local.get $j)) (v128.load (i32.add (local.get $src) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $V)))
      (block $ds (loop $S
        (br_if $ds (i32.ge_s (local.get $j) (local.get $bytes)))
        (f32.store (i32.add (local.get $dst) (local.get $j)) (f32.load (i32.add (local.get $src) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $S)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $R)))
  )

  ;; ---- DoRA's combine (kernels/doraCombine.ts, doraCombineGrad.ts), each f32 op rounded as the composed ops -------

  ;; Rows [r, r + rows) of [·, c]: out = res + (fround(fround(sc − 1)·base) + fround(fround(sc·lora)·s)), sc the
  ;; column's scale[j], four columns at a time, the last c mod 4 one at a time. out may alias res, base or lora.
  (func $dora_rows (param $res i32) (param $base i32) (param $lora i32) (param $scale i32) (param $out i32)
      (param $r i32) (param $rows i32) (param $c i32) (param $s f32)
    (local $off i32) (local $end i32) (local $end4 i32) (local $sc i32) (local $s4 v128) (local $one v128)
    (local $v v128) (local $x f32)
    (local.set $s4 (f32x4.splat (local.get $s)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $off (i32.shl (i32.mul (local.get $r) (local.get $c)) (i32.const 2)))
    (local.set $rows (i32.add (local.get $r) (local.get $rows)))
    (block $done (loop $R
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $end (i32.add (local.get $off) (i32.shl (local.get $c) (i32.const 2))))
      (local.set $end4 (i32.add (local.get $off) (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2))))
      (local.set $sc (local.get $scale))
      (block $d4 (loop $L4
        (br_if $d4 (i32.ge_u (local.get $off) (local.get $end4)))
        (local.set $v (v128.load (local.get $sc)))
        (v128.store (i32.add (local.get $out) (local.get $off))
          (f32x4.add (v128.load (i32.add (local.get $res) (local.get $off)))
            (f32x4.add
              (f32x4.mul (f32x4.sub (local.get $v) (local.get $one))
                (v128.load (i32.add (local.get $base) (local.get $off))))
              (f32x4.mul (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $lora) (local.get $off))))
                (local.get $s4)))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (local.set $sc (i32.add (local.get $sc) (i32.const 16)))
        (br $L4)))
      (block $d1 (loop $L1
        (br_if $d1 (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $x (f32.load (local.get $sc)))
        (f32.store (i32.add (local.get $out) (local.get $off))
          (f32.add (f32.load (i32.add (local.get $res) (local.get $off)))
            (f32.add
              (f32.mul (f32.sub (local.get $x) (f32.const 1)) (f32.load (i32.add (local.get $base) (local.get $off))))
              (f32.mul (f32.mul (local.get $x) (f32.load (i32.add (local.get $lora) (local.get $off))))
                (local.get $s)))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (local.set $sc (i32.add (local.get $sc) (i32.const 4)))
        (br $L1)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $R)))
  )

  ;; DoRA's gradients (kernels/doraCombineGrad.ts's loop), one row's columns from byte offset $off to $end, of which
  ;; [$off, $end4) four at a time; $sc and $a point at the first column's scale and float64 accumulators (those of p3
  ;; $w8 bytes further). With d3 = fround(dy·s): flags bit 0: dbase = fround(dy · fround(sc − 1)); bit 1:
  ;; dlora = fround(d3 · sc); bit 2: the sums acc1 += fround(dy·base), acc3 += fround(d3·lora) (float64).
  (func $dora_grad_row (param $dy i32) (param $base i32) (param $lora i32) (param $dbase i32) (param $dlora i32)
      (param $off i32) (param $end4 i32) (param $end i32) (param $sc i32) (param $a i32) (param $w8 i32) (param $s f32)
      (param $flags i32)
    (local $s4 v128) (local $one v128) (local $v v128) (local $g v128) (local $d3 v128) (local $t v128) (local $th v128)
    (local $x f32) (local $gs f32) (local $ds f32) (local $a3 i32)
    (local.set $s4 (f32x4.splat (local.get $s)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (block $d4 (loop $L4
      (br_if $d4 (i32.ge_u (local.get $off) (local.get $end4)))
      (local.set $a3 (i32.add (local.get $a) (local.get $w8)))
      (local.set $v (v128.load (local.get $sc)))
      (local.set $g (v128.load (i32.add (local.get $dy) (local.get $off))))
      (local.set $d3 (f32x4.mul (local.get $g) (local.get $s4)))
      (if (i32.and (local.get $flags) (i32.const 1)) (then
        (v128.store (i32.add (local.get $dbase) (local.get $off))
          (f32x4.mul (local.get $g) (f32x4.sub (local.get $v) (local.get $one))))))
      (if (i32.and (local.get $flags) (i32.const 2)) (then
        (v128.store (i32.add (local.get $dlora) (local.get $off)) (f32x4.mul (local.get $d3) (local.get $v)))))
      (if (i32.and (local.get $flags) (i32.const 4)) (then
        (local.set $t (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $base) (local.get $off)))))
        (local.set $th (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $t) (local.get $t)))
        (v128.store (local.get $a)
          (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $t))))
        (v128.store offset=16 (local.get $a)
          (f64x2.add (v128.load offset=16 (local.get $a)) (f64x2.promote_low_f32x4 (local.get $th))))
        (local.set $t (f32x4.mul (local.get $d3) (v128.load (i32.add (local.get $lora) (local.get $off)))))
        (local.set $th (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $t) (local.get $t)))
        (v128.store (local.get $a3)
          (f64x2.add (v128.load (local.get $a3)) (f64x2.promote_low_f32x4 (local.get $t))))
        (v128.store offset=16 (local.get $a3)
          (f64x2.add (v128.load offset=16 (local.get $a3)) (f64x2.promote_low_f32x4 (local.get $th))))
      ))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (local.set $sc (i32.add (local.get $sc) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 32)))
      (br $L4)))
    ;; the last columns one at a time
    (block $d1 (loop $L1
      (br_if $d1 (i32.ge_u (local.get $off) (local.get $end)))
      (local.set $x (f32.load (local.get $sc)))
      (local.set $gs (f32.load (i32.add (local.get $dy) (local.get $off))))
      (local.set $ds (f32.mul (local.get $gs) (local.get $s)))
      (if (i32.and (local.get $flags) (i32.const 1)) (then
        (f32.store (i32.add (local.get $dbase) (local.get $off))
          (f32.mul (local.get $gs) (f32.sub (local.get $x) (f32.const 1))))))
      (if (i32.and (local.get $flags) (i32.const 2)) (then
        (f32.store (i32.add (local.get $dlora) (local.get $off)) (f32.mul (local.get $ds) (local.get $x)))))
      (if (i32.and (local.get $flags) (i32.const 4)) (then
        (f64.store (local.get $a) (f64.add (f64.load (local.get $a))
          (f64.promote_f32 (f32.mul (local.get $gs) (f32.load (i32.add (local.get $base) (local.get $off)))))))
        (f64.store (i32.add (local.get $a) (local.get $w8)) (f64.add (f64.load (i32.add (local.get $a) (local.get $w8)))
          (f64.promote_f32 (f32.mul (local.get $ds) (f32.load (i32.add (local.get $lora) (local.get $off)))))))))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (local.set $sc (i32.add (local.get $sc) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 8)))
      (br $L1)))
  )

  ;; $dora_grad_row with every part (flags 7) for two consecutive rows at once ($rb bytes apart): each column's
  ;; accumulators take the first row's products, then the second's (their order), loaded and stored once for both.
  (func $dora_grad_row2 (param $dy i32) (param $base i32) (param $lora i32) (param $dbase i32) (param $dlora i32)
      (param $off i32) (param $rb i32) (param $end4 i32) (param $end i32) (param $sc i32) (param $a i32) (param $w8 i32)
      (param $s f32)
    (local $s4 v128) (local $one v128) (local $v v128) (local $t1 v128) (local $g0 v128) (local $g1 v128)
    (local $e0 v128) (local $e1 v128) (local $p0 v128) (local $p1 v128) (local $p0h v128) (local $p1h v128)
    (local $o1 i32) (local $a3 i32)
    (local.set $s4 (f32x4.splat (local.get $s)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (block $d4 (loop $L4
      (br_if $d4 (i32.ge_u (local.get $off) (local.get $end4)))
      (local.set $o1 (i32.add (local.get $off) (local.get $rb)))
      (local.set $a3 (i32.add (local.get $a) (local.get $w8)))
      (local.set $v (v128.load (local.get $sc)))
      (local.set $t1 (f32x4.sub (local.get $v) (local.get $one)))
      (local.set $g0 (v128.load (i32.add (local.get $dy) (local.get $off))))
      (local.set $g1 (v128.load (i32.add (local.get $dy) (local.get $o1))))
      (local.set $e0 (f32x4.mul (local.get $g0) (local.get $s4)))
      (local.set $e1 (f32x4.mul (local.get $g1) (local.get $s4)))
      (v128.store (i32.add (local.get $dbase) (local.get $off)) (f32x4.mul (local.get $g0) (local.get $t1)))
      (v128.store (i32.add (local.get $dbase) (local.get $o1)) (f32x4.mul (local.get $g1) (local.get $t1)))
      (v128.store (i32.add (local.get $dlora) (local.get $off)) (f32x4.mul (local.get $e0) (local.get $v)))
      (v128.store (i32.add (local.get $dlora) (local.get $o1)) (f32x4.mul (local.get $e1) (local.get $v)))
      (local.set $p0 (f32x4.mul (local.get $g0) (v128.load (i32.add (local.get $base) (local.get $off)))))
      (local.set $p1 (f32x4.mul (local.get $g1) (v128.load (i32.add (local.get $base) (local.get $o1)))))
      (local.set $p0h (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p0) (local.get $p0)))
      (local.set $p1h (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p1) (local.get $p1)))
      (v128.store (local.get $a)
        (f64x2.add (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $p0)))
          (f64x2.promote_low_f32x4 (local.get $p1))))
      (v128.store offset=16 (local.get $a)
        (f64x2.add (f64x2.add (v128.load offset=16 (local.get $a)) (f64x2.promote_low_f32x4 (local.get $p0h)))
          (f64x2.promote_low_f32x4 (local.get $p1h))))
      (local.set $p0 (f32x4.mul (local.get $e0) (v128.load (i32.add (local.get $lora) (local.get $off)))))
      (local.set $p1 (f32x4.mul (local.get $e1) (v128.load (i32.add (local.get $lora) (local.get $o1)))))
      (local.set $p0h (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p0) (local.get $p0)))
      (local.set $p1h (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p1) (local.get $p1)))
      (v128.store (local.get $a3)
        (f64x2.add (f64x2.add (v128.load (local.get $a3)) (f64x2.promote_low_f32x4 (local.get $p0)))
          (f64x2.promote_low_f32x4 (local.get $p1))))
      (v128.store offset=16 (local.get $a3)
        (f64x2.add (f64x2.add (v128.load offset=16 (local.get $a3)) (f64x2.promote_low_f32x4 (local.get $p0h)))
          (f64x2.promote_low_f32x4 (local.get $p1h))))
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (local.set $sc (i32.add (local.get $sc) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 32)))
      (br $L4)))
    ;; the last columns, the first row then the second
    (call $dora_grad_row (local.get $dy) (local.get $base) (local.get $lora) (local.get $dbase) (local.get $dlora)
      (local.get $off) (local.get $off) (local.get $end) (local.get $sc) (local.get $a) (local.get $w8) (local.get $s)
      (i32.const 7))
    (call $dora_grad_row (local.get $dy) (local.get $base) (local.get $lora) (local.get $dbase) (local.get $dlora)
      (i32.add (local.get $off) (local.get $rb)) (i32.add (local.get $off) (local.get $rb))
      (i32.add (local.get $end) (local.get $rb)) (local.get $sc) (local.get $a) (local.get $w8) (local.get $s)
      (i32.const 7))
  )

  ;; DoRA's gradients for columns [c0, c1) of the rows o·n … o·n + n − 1 of [·, c], the parts that $dora_grad_row's
  ;; flags name, with the column sums p1[o][j] = fround(Σ_k fround(dy·base)) and p3[o][j] = fround(Σ_k fround(d3·lora))
  ;; each in float64 in k order (kernels/reduce.ts's loop), accumulated in $acc (16·(c1 − c0) bytes of the thread's
  ;; scratch). Rows are taken in order (two at a time with every part), so every column's sum keeps its order.
  (func $dora_grad_block (param $dy i32) (param $base i32) (param $lora i32) (param $scale i32) (param $dbase i32)
      (param $dlora i32) (param $p1 i32) (param $p3 i32) (param $o i32) (param $n i32) (param $c i32) (param $c0 i32)
      (param $c1 i32) (param $s f32) (param $flags i32) (param $acc i32)
    (local $k i32) (local $off i32) (local $end i32) (local $w4 i32) (local $a i32) (local $w8 i32) (local $sc i32)
    (local $rb i32)
    (local.set $w8 (i32.shl (i32.sub (local.get $c1) (local.get $c0)) (i32.const 3)))
    ;; bytes of a row's columns, and of those taken four at a time
    (local.set $w4 (i32.and (i32.shr_u (local.get $w8) (i32.const 1)) (i32.const -16)))
    (local.set $rb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $sc (i32.add (local.get $scale) (i32.shl (local.get $c0) (i32.const 2))))
    ;; zero both accumulators (2·w float64)
    (local.set $a (local.get $acc))
    (local.set $end (i32.add (local.get $acc) (i32.shl (local.get $w8) (i32.const 1))))
    (block $zd (loop $Z
      (br_if $zd (i32.ge_u (local.get $a) (local.get $end)))
      (i64.store (local.get $a) (i64.const 0))
      (local.set $a (i32.add (local.get $a) (i32.const 8)))
      (br $Z)))
    ;; byte offset of row o·n, column c0
    (local.set $off (i32.shl
      (i32.add (i32.mul (i32.mul (local.get $o) (local.get $n)) (local.get $c)) (local.get $c0))
      (i32.const 2)))
    (local.set $k (i32.const 0))
    (block $done (loop $K
      (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
      (if (i32.and (i32.eq (local.get $flags) (i32.const 7))
            (i32.lt_u (i32.add (local.get $k) (i32.const 1)) (local.get $n)))
        (then
          (call $dora_grad_row2 (local.get $dy) (local.get $base) (local.get $lora) (local.get $dbase)
            (local.get $dlora) (local.get $off) (local.get $rb) (i32.add (local.get $off) (local.get $w4))
            (i32.add (local.get $off) (i32.shr_u (local.get $w8) (i32.const 1))) (local.get $sc) (local.get $acc)
            (local.get $w8) (local.get $s))
          (local.set $off (i32.add (local.get $off) (i32.shl (local.get $rb) (i32.const 1))))
          (local.set $k (i32.add (local.get $k) (i32.const 2))))
        (else
          (call $dora_grad_row (local.get $dy) (local.get $base) (local.get $lora) (local.get $dbase) (local.get $dlora)
            (local.get $off) (i32.add (local.get $off) (local.get $w4))
            (i32.add (local.get $off) (i32.shr_u (local.get $w8) (i32.const 1))) (local.get $sc) (local.get $acc)
            (local.get $w8) (local.get $s) (local.get $flags))
          (local.set $off (i32.add (local.get $off) (local.get $rb)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))))
      (br $K)))
    ;; the sums, rounded once to f32
    (if (i32.eqz (i32.and (local.get $flags) (i32.const 4))) (then (return)))
    (local.set $off (i32.shl (i32.add (i32.mul (local.get $o) (local.get $c)) (local.get $c0)) (i32.const 2)))
    (local.set $a (local.get $acc))
    (local.set $end (i32.add (local.get $acc) (local.get $w8)))
    (block $sd (loop $S
      (br_if $sd (i32.ge_u (local.get $a) (local.get $end)))
      (f32.store (i32.add (local.get $p1) (local.get $off)) (f32.demote_f64 (f64.load (local.get $a))))
      (f32.store (i32.add (local.get $p3) (local.get $off))
        (f32.demote_f64 (f64.load (i32.add (local.get $a) (local.get $w8)))))
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (local.set $a (i32.add (local.get $a) (i32.const 8)))
      (br $S)))
  )

  ;; One task of a threaded elementwise job. gemm-wasm.ts runs tasks [0, ntasks) on the calling thread and its helper
  ;; threads; the job block at $job holds [op, count, chunk, args…] (i32 words; p and scale as f32 bits) and task t
  ;; covers items [t·chunk, min((t+1)·chunk, count)) — rows for binary (0), softmax and the row kernels (9…14),
  ;; elements for the others. Every item is computed exactly as one call over all of them computes it, so the split
  ;; never changes a bit.
  (func (export "run_task") (param $job i32) (param $t i32) (param $scratch i32)
    (local $s i32) (local $len i32) (local $chunk i32) (local $lo i32) (local $b4 i32)
    (local.set $chunk (i32.load offset=8 (local.get $job)))
    (local.set $s (i32.mul (local.get $t) (local.get $chunk)))
    (local.set $len (i32.sub (i32.load offset=4 (local.get $job)) (local.get $s)))
    (if (i32.le_s (local.get $len) (i32.const 0)) (then (return)))
    (if (i32.gt_u (local.get $len) (local.get $chunk)) (then (local.set $len (local.get $chunk))))
    (local.set $b4 (i32.shl (local.get $s) (i32.const 2)))
    (block $done
      (block $dgrad (block $dora (block $swap (block $sum (block $lng (block $ln (block $ce (block $rot (block $rng (block $rn
      (block $sgrad (block $flat (block $softmax (block $smg (block $sm (block $sg (block $sig (block $drop (block $bin
        (br_table $bin $drop $sig $sg $sm $smg $softmax $flat $sgrad $rn $rng $rot $ce $ln $lng $sum $swap $dora $dgrad $done (i32.load (local.get $job))))
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
      (br $done))
      ;; 9 rmsNorm rows: x, w, hasW, out, d, eps
      (call $rms_norm_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=28 (local.get $job))
        (f32.load offset=32 (local.get $job)))
      (br $done))
      ;; 10 rmsNormGrad rows: x, dy, w, hasW, out, d, eps, flag
      (call $rms_norm_grad_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (i32.load offset=28 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=32 (local.get $job))
        (f32.load offset=36 (local.get $job))
        (i32.add (local.get $job) (i32.const 124)))
      (br $done))
      ;; 11 rotary rows: x, cos, sin, out, d, period, inverse, heads, a, b
      (call $rotary_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=28 (local.get $job))
        (i32.load offset=32 (local.get $job))
        (i32.load offset=36 (local.get $job))
        (i32.load offset=40 (local.get $job))
        (i32.load offset=44 (local.get $job))
        (i32.load offset=48 (local.get $job)))
      (br $done))
      ;; 12 cross-entropy rows: logits, labels, dloss, out, c, ignore, grad, keep
      (call $cross_entropy_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=28 (local.get $job))
        (i32.load offset=32 (local.get $job))
        (i32.load offset=36 (local.get $job))
        (i32.load offset=40 (local.get $job))
        (local.get $scratch))
      (br $done))
      ;; 13 layerNorm rows: x, w, b, flags, out, d, eps
      (call $layer_norm_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (i32.load offset=28 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=32 (local.get $job))
        (f32.load offset=36 (local.get $job)))
      (br $done))
      ;; 14 layerNormGrad rows: x, dy, w, hasW, out, d, eps, flag
      (call $layer_norm_grad_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (i32.load offset=28 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=32 (local.get $job))
        (f32.load offset=36 (local.get $job))
        (i32.add (local.get $job) (i32.const 124)))
      (br $done))
      ;; 15 sum over the middle axis: x, out, n, inner, column blocks per outer row; item q is outer row q div
      ;; blocks, columns [64·(q mod blocks), + 64)
      (local.set $len (i32.add (local.get $s) (local.get $len)))
      (block $qd (loop $Q
        (br_if $qd (i32.ge_u (local.get $s) (local.get $len)))
        (local.set $lo (i32.shl (i32.rem_u (local.get $s) (i32.load offset=28 (local.get $job))) (i32.const 6)))
        (call $sum_middle
          (i32.load offset=12 (local.get $job))
          (i32.load offset=16 (local.get $job))
          (i32.div_u (local.get $s) (i32.load offset=28 (local.get $job)))
          (i32.load offset=20 (local.get $job))
          (i32.load offset=24 (local.get $job))
          (local.get $lo)
          (select (i32.load offset=24 (local.get $job)) (i32.add (local.get $lo) (i32.const 64))
            (i32.gt_u (i32.add (local.get $lo) (i32.const 64)) (i32.load offset=24 (local.get $job)))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $Q)))
      (br $done))
      ;; 16 swap the middle axes of [B, A, C, D]: x, out, A, C, D (items are rows of D)
      (call $swap_middle
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (i32.load offset=28 (local.get $job)))
      (br $done))
      ;; 17 DoRA combine rows: res, base, lora, scale, out, c, s
      (call $dora_rows
        (i32.load offset=12 (local.get $job))
        (i32.load offset=16 (local.get $job))
        (i32.load offset=20 (local.get $job))
        (i32.load offset=24 (local.get $job))
        (i32.load offset=28 (local.get $job))
        (local.get $s)
        (local.get $len)
        (i32.load offset=32 (local.get $job))
        (f32.load offset=36 (local.get $job)))
      (br $done))
      ;; 18 DoRA gradients: dy, base, lora, scale, dbase, dlora, p1, p3, n, c, blocks, width, flags, s; item q is
      ;; outer row q div blocks, columns [width·(q mod blocks), + width) (the last block may be narrower)
      (local.set $len (i32.add (local.get $s) (local.get $len)))
      (block $gd (loop $G
        (br_if $gd (i32.ge_u (local.get $s) (local.get $len)))
        (local.set $lo (i32.mul (i32.rem_u (local.get $s) (i32.load offset=52 (local.get $job)))
          (i32.load offset=56 (local.get $job))))
        (call $dora_grad_block
          (i32.load offset=12 (local.get $job))
          (i32.load offset=16 (local.get $job))
          (i32.load offset=20 (local.get $job))
          (i32.load offset=24 (local.get $job))
          (i32.load offset=28 (local.get $job))
          (i32.load offset=32 (local.get $job))
          (i32.load offset=36 (local.get $job))
          (i32.load offset=40 (local.get $job))
          (i32.div_u (local.get $s) (i32.load offset=52 (local.get $job)))
          (i32.load offset=44 (local.get $job))
          (i32.load offset=48 (local.get $job))
          (local.get $lo)
          (select (i32.load offset=48 (local.get $job)) (i32.add (local.get $lo) (i32.load offset=56 (local.get $job)))
            (i32.gt_u (i32.add (local.get $lo) (i32.load offset=56 (local.get $job))) (i32.load offset=48 (local.get $job))))
          (f32.load offset=64 (local.get $job))
          (i32.load offset=60 (local.get $job))
          (local.get $scratch))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $G)))
    )
  )
)
