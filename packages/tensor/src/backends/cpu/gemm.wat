;; Single-precision GEMM for the CPU backend, WebAssembly SIMD128.
;;
;; Source of truth for src/backends/cpu/gemm-wasm.generated.ts: run `pnpm --filter @peftjs/tensor gen:wasm` after
;; editing (scripts/gen-wasm.mjs compiles this file with wabt twice: once as written, importing a *shared* memory for
;; the threaded path, and once with the `shared` keyword removed for environments without SharedArrayBuffer).
;;
;; C[m×n] = op(A)[m×k] · op(B)[k×n]. Operands are addressed through byte strides, so a transpose is just swapped
;; strides: element (i, p) of op(A) is at a + i*rsA + p*csA, element (p, j) of op(B) at b + p*rsB + j*csB, and element
;; (i, j) of C at c + i*ldc + 4*j.
;;
;; Blocking (GotoBLAS style): op(B) is packed once per call into NR-column strips for each KC-deep block of k
;; (`pack_b`); each compute task packs an MC×KC block of op(A) into MR-row strips (`pack_a`, per-thread scratch) and
;; runs the MR×NR register-blocked micro-kernel over all (A strip, B strip) pairs, with the B strip held in L1 while
;; the A strips stream from L2.
;;
;; Micro-kernel shape MR×NR = 4×8: eight f32x4 accumulators. V8 (TurboFan) schedules every load of a basic block
;; ahead of the block's arithmetic, so accumulators + loads (2 B vectors + 4 broadcasts) + one product temporary have
;; to fit the 15 allocatable XMM registers on x64; 4×8 is the largest shape that does (5×8 and 6×8 spill and run ~40%
;; slower; 2×16, 3×8, 2×12 and 1×24 are 5-25% slower). WebAssembly SIMD128 has no fused multiply-add (relaxed SIMD
;; is not enabled in Node 20), hence f32x4.mul + f32x4.add.
;;
;; Work is split into tasks described by a small parameter block in linear memory (see `run_task`), so that the
;; calling thread and any helper threads execute exactly the same code; the claiming of tasks is done by the host.
(module
  (import "env" "memory" (memory 1 16384 shared))

  ;; C tile [4×8] (+)= Σ_p Apanel[p][0:4] ⊗ Bpanel[p][0:8] for p < kc (kc ≥ 1).
  ;; pa: packed A strip, 4 floats per p. pb: packed B strip, 8 floats per p. ldc: row stride of C in bytes.
  ;; accum ≠ 0 adds to the existing C tile instead of overwriting it.
  (func $kernel (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32) (param $kc i32) (param $accum i32)
    (local $end i32) (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $row i32)
    (local.set $end (i32.add (local.get $pb) (i32.shl (local.get $kc) (i32.const 5))))
    ;; Unrolled 4× with an exit test after every step (kc need not be a multiple of 4). The exits split the body into
    ;; basic blocks, which keeps V8 from hoisting the loads of later steps (no spills), and the loop's back edge (with
    ;; V8's stack check) is taken once per 4 steps: ~30% faster than the plain loop on Zen 3.
    (block $done
      (loop $L
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $a (v128.load32_splat (local.get $pa)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (br_if $done (i32.eq (local.get $pb) (local.get $end)))
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $a (v128.load32_splat (local.get $pa)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (br_if $done (i32.eq (local.get $pb) (local.get $end)))
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $a (v128.load32_splat (local.get $pa)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (br_if $done (i32.eq (local.get $pb) (local.get $end)))
        (local.set $b0 (v128.load (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $a (v128.load32_splat (local.get $pa)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (br_if $L (i32.ne (local.get $pb) (local.get $end)))))
    (if (local.get $accum)
      (then
        (local.set $row (local.get $c))
        (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $row))))
        (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $row))))
        (local.set $row (i32.add (local.get $row) (local.get $ldc)))
        (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $row))))
        (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $row))))
        (local.set $row (i32.add (local.get $row) (local.get $ldc)))
        (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $row))))
        (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $row))))
        (local.set $row (i32.add (local.get $row) (local.get $ldc)))
        (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $row))))
        (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $row))))))
    (v128.store (local.get $c) (local.get $c00))
    (v128.store offset=16 (local.get $c) (local.get $c01))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c10))
    (v128.store offset=16 (local.get $c) (local.get $c11))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c20))
    (v128.store offset=16 (local.get $c) (local.get $c21))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c30))
    (v128.store offset=16 (local.get $c) (local.get $c31)))

  ;; Copy (or add, if accum ≠ 0) the top-left mr×nr corner of a 4×8 tile at t (row stride 32 bytes) into C.
  (func $copy_tile (param $t i32) (param $c i32) (param $ldc i32) (param $mr i32) (param $nr i32) (param $accum i32)
    (local $i i32) (local $j i32) (local $src i32) (local $dst i32)
    (loop $Li
      (local.set $src (i32.add (local.get $t) (i32.shl (local.get $i) (i32.const 5))))
      (local.set $dst (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
      (local.set $j (i32.const 0))
      (loop $Lj
        (f32.store (local.get $dst)
          (select
            (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src)))
            (f32.load (local.get $src))
            (local.get $accum)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br_if $Lj (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $nr))))
      (br_if $Li (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $mr)))))

  ;; C[r][j] = 0 for the rows r < mr of the tile at c and the columns j in [j0, j1) (byte offsets 4·j from c).
  (func $zero_cols (param $c i32) (param $ldc i32) (param $mr i32) (param $j0 i32) (param $j1 i32)
    (local $i i32) (local $j i32) (local $row i32)
    (block $done (loop $Li
      (br_if $done (i32.ge_u (local.get $i) (local.get $mr)))
      (local.set $row (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
      (local.set $j (local.get $j0))
      (block $dj (loop $Lj
        (br_if $dj (i32.ge_s (local.get $j) (local.get $j1)))
        (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $Lj)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $Li))))

  ;; Pack op(A)[0:mc, 0:kc] (a = address of element (0,0); byte strides rs, cs) into ceil(mc/4) strips of
  ;; [kc][4] floats at dst, zero-padding the rows of the last strip beyond mc.
  (func $pack_a (param $a i32) (param $rs i32) (param $cs i32) (param $mc i32) (param $kc i32) (param $dst i32)
    (local $r0 i32) (local $rows i32) (local $p i32) (local $i i32) (local $src i32) (local $out i32)
    (loop $Lr
      (local.set $rows (i32.sub (local.get $mc) (local.get $r0)))
      (if (i32.gt_u (local.get $rows) (i32.const 4)) (then (local.set $rows (i32.const 4))))
      (local.set $i (i32.const 0))
      (loop $Li
        (local.set $src (i32.add (local.get $a) (i32.mul (i32.add (local.get $r0) (local.get $i)) (local.get $rs))))
        (local.set $out (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $p (i32.const 0))
        (if (i32.lt_u (local.get $i) (local.get $rows))
          (then
            (loop $Lp
              (f32.store (local.get $out) (f32.load (local.get $src)))
              (local.set $src (i32.add (local.get $src) (local.get $cs)))
              (local.set $out (i32.add (local.get $out) (i32.const 16)))
              (br_if $Lp (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc)))))
          (else
            (loop $Lz
              (f32.store (local.get $out) (f32.const 0))
              (local.set $out (i32.add (local.get $out) (i32.const 16)))
              (br_if $Lz (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))))
        (br_if $Li (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4))))
      (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $kc) (i32.const 4))))
      (br_if $Lr (i32.lt_u (local.tee $r0 (i32.add (local.get $r0) (i32.const 4))) (local.get $mc)))))

  ;; Pack the 8-column strips [s0, s1) of op(B) (k×n, element (p,j) at b + p*rs + j*cs) for every kb-deep block of k.
  ;; Layout of the packed buffer pb (k × nPad floats, nPad = 8*ceil(n/8)): the block starting at row p0 (depth kc)
  ;; begins at float p0*nPad, strip s of that block at + s*8*kc, and holds [kc][8] floats, zero-padded beyond n.
  (func $pack_b (param $b i32) (param $rs i32) (param $cs i32) (param $k i32) (param $n i32) (param $nPad i32)
      (param $kb i32) (param $s0 i32) (param $s1 i32) (param $pb i32)
    (local $s i32) (local $p0 i32) (local $kc i32) (local $p i32) (local $j i32) (local $cols i32)
    (local $src i32) (local $dst i32) (local $srow i32)
    (local.set $s (local.get $s0))
    (loop $Ls
      (local.set $cols (i32.sub (local.get $n) (i32.shl (local.get $s) (i32.const 3))))
      (if (i32.gt_s (local.get $cols) (i32.const 8)) (then (local.set $cols (i32.const 8))))
      (local.set $p0 (i32.const 0))
      (loop $Lk
        (local.set $kc (i32.sub (local.get $k) (local.get $p0)))
        (if (i32.gt_u (local.get $kc) (local.get $kb)) (then (local.set $kc (local.get $kb))))
        (local.set $dst (i32.add (local.get $pb) (i32.shl
          (i32.add (i32.mul (local.get $p0) (local.get $nPad)) (i32.mul (i32.shl (local.get $s) (i32.const 3)) (local.get $kc)))
          (i32.const 2))))
        (local.set $srow (i32.add (local.get $b) (i32.add (i32.mul (local.get $p0) (local.get $rs))
          (i32.mul (i32.shl (local.get $s) (i32.const 3)) (local.get $cs)))))
        (local.set $p (i32.const 0))
        (if (i32.and (i32.eq (local.get $cols) (i32.const 8)) (i32.eq (local.get $cs) (i32.const 4)))
          (then
            ;; full strip of contiguous columns: two vector copies per row
            (loop $Lv
              (v128.store (local.get $dst) (v128.load (local.get $srow)))
              (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $srow)))
              (local.set $srow (i32.add (local.get $srow) (local.get $rs)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
              (br_if $Lv (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc)))))
          (else
            (loop $Lp
              (local.set $src (local.get $srow))
              (local.set $j (i32.const 0))
              (loop $Lj
                (f32.store (local.get $dst)
                  (if (result f32) (i32.lt_s (local.get $j) (local.get $cols))
                    (then (f32.load (local.get $src)))
                    (else (f32.const 0))))
                (local.set $src (i32.add (local.get $src) (local.get $cs)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                (br_if $Lj (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 8))))
              (local.set $srow (i32.add (local.get $srow) (local.get $rs)))
              (br_if $Lp (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))))
        (br_if $Lk (i32.lt_u (local.tee $p0 (i32.add (local.get $p0) (local.get $kb))) (local.get $k))))
      (br_if $Ls (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $s1)))))

  ;; C[i0:i1, 8*s0 : min(n, 8*s1)] = op(A)[i0:i1, :] · op(B)[:, same columns], using the packed B at pb.
  ;; Rows are processed in blocks of at most mcb rows (a multiple of 4); pa is scratch for one packed A block
  ;; (mcb*kb floats) and tmp for one 4×8 edge tile.
  ;; Causal modes (attention's products; row i is query i mod tq, and the last visible index for it is
  ;; (i mod tq) + off): mode 1 computes only the visible columns of C and stores 0 in the others; mode 2 treats the
  ;; entries of op(A) past that index as zero (they are never read: the sum stops there). Every computed entry is
  ;; the plain product's, term for term.
  (func $compute (param $a i32) (param $rsA i32) (param $csA i32) (param $pb i32) (param $nPad i32)
      (param $c i32) (param $ldc i32) (param $k i32) (param $n i32)
      (param $i0 i32) (param $i1 i32) (param $s0 i32) (param $s1 i32) (param $kb i32) (param $mcb i32)
      (param $pa i32) (param $tmp i32) (param $mode i32) (param $tq i32) (param $off i32)
    (local $ic i32) (local $mc i32) (local $p0 i32) (local $kc i32) (local $s i32) (local $r0 i32)
    (local $nr i32) (local $mr i32) (local $bstrip i32) (local $astrip i32) (local $cptr i32) (local $accum i32)
    (local $vis i32) (local $q0 i32) (local $kuse i32) (local $last i32) (local $rr i32) (local $h i32)
    (local.set $ic (local.get $i0))
    (loop $Lm
      (local.set $mc (i32.sub (local.get $i1) (local.get $ic)))
      (if (i32.gt_u (local.get $mc) (local.get $mcb)) (then (local.set $mc (local.get $mcb))))
      (local.set $p0 (i32.const 0))
      (loop $Lk
        (local.set $kc (i32.sub (local.get $k) (local.get $p0)))
        (if (i32.gt_u (local.get $kc) (local.get $kb)) (then (local.set $kc (local.get $kb))))
        (local.set $accum (i32.ne (local.get $p0) (i32.const 0)))
        (call $pack_a
          (i32.add (local.get $a) (i32.add (i32.mul (local.get $ic) (local.get $rsA)) (i32.mul (local.get $p0) (local.get $csA))))
          (local.get $rsA) (local.get $csA) (local.get $mc) (local.get $kc) (local.get $pa))
        (local.set $s (local.get $s0))
        (loop $Ls
          (local.set $nr (i32.sub (local.get $n) (i32.shl (local.get $s) (i32.const 3))))
          (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
          (local.set $bstrip (i32.add (local.get $pb) (i32.shl
            (i32.add (i32.mul (local.get $p0) (local.get $nPad)) (i32.mul (i32.shl (local.get $s) (i32.const 3)) (local.get $kc)))
            (i32.const 2))))
          (local.set $astrip (local.get $pa))
          (local.set $r0 (i32.const 0))
          (loop $Lr
            (local.set $mr (i32.sub (local.get $mc) (local.get $r0)))
            (if (i32.gt_s (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
            (local.set $cptr (i32.add (local.get $c) (i32.add
              (i32.mul (i32.add (local.get $ic) (local.get $r0)) (local.get $ldc))
              (i32.shl (local.get $s) (i32.const 5)))))
            (local.set $kuse (local.get $kc))
            (if (local.get $mode)
              (then
                ;; the strip's last visible index: its last row's, unless the rows wrap past a period
                (local.set $q0 (i32.rem_u (i32.add (local.get $ic) (local.get $r0)) (local.get $tq)))
                (local.set $vis (i32.add (local.get $off)
                  (select (i32.sub (local.get $tq) (i32.const 1)) (i32.add (local.get $q0) (i32.sub (local.get $mr) (i32.const 1)))
                    (i32.ge_u (i32.add (local.get $q0) (i32.sub (local.get $mr) (i32.const 1))) (local.get $tq)))))
                (if (i32.eq (local.get $mode) (i32.const 1))
                  (then (if (i32.gt_s (i32.shl (local.get $s) (i32.const 3)) (local.get $vis)) (then (local.set $kuse (i32.const 0)))))
                  (else
                    (local.set $kuse (i32.sub (i32.add (local.get $vis) (i32.const 1)) (local.get $p0)))
                    (if (i32.gt_s (local.get $kuse) (local.get $kc)) (then (local.set $kuse (local.get $kc))))))))
            (if (i32.le_s (local.get $kuse) (i32.const 0))
              (then
                ;; nothing visible in this tile for this block: zeros (first block), else unchanged
                (if (i32.eqz (local.get $accum))
                  (then (call $zero_cols (local.get $cptr) (local.get $ldc) (local.get $mr) (i32.const 0) (local.get $nr)))))
              (else
                (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
                  (then
                    (call $kernel (local.get $astrip) (local.get $bstrip) (local.get $cptr) (local.get $ldc)
                      (local.get $kuse) (local.get $accum)))
                  (else
                    (call $kernel (local.get $astrip) (local.get $bstrip) (local.get $tmp) (i32.const 32)
                      (local.get $kuse) (i32.const 0))
                    (call $copy_tile (local.get $tmp) (local.get $cptr) (local.get $ldc) (local.get $mr) (local.get $nr)
                      (local.get $accum))))
                ;; mode 1, last k block: zero the hidden columns of the tile's rows
                (if (i32.and (i32.eq (local.get $mode) (i32.const 1))
                      (i32.ge_u (i32.add (local.get $p0) (local.get $kb)) (local.get $k)))
                  (then
                    (local.set $rr (i32.const 0))
                    (block $zd (loop $Lz
                      (br_if $zd (i32.ge_u (local.get $rr) (local.get $mr)))
                      (local.set $h (i32.sub (i32.add (i32.add (local.get $off) (i32.const 1))
                        (i32.rem_u (i32.add (i32.add (local.get $ic) (local.get $r0)) (local.get $rr)) (local.get $tq)))
                        (i32.shl (local.get $s) (i32.const 3))))
                      (if (i32.lt_s (local.get $h) (i32.const 0)) (then (local.set $h (i32.const 0))))
                      (if (i32.lt_s (local.get $h) (local.get $nr))
                        (then (call $zero_cols (i32.add (local.get $cptr) (i32.mul (local.get $rr) (local.get $ldc)))
                          (local.get $ldc) (i32.const 1) (local.get $h) (local.get $nr))))
                      (local.set $rr (i32.add (local.get $rr) (i32.const 1)))
                      (br $Lz)))))))
            (local.set $astrip (i32.add (local.get $astrip) (i32.shl (local.get $kc) (i32.const 4))))
            (br_if $Lr (i32.lt_u (local.tee $r0 (i32.add (local.get $r0) (i32.const 4))) (local.get $mc))))
          (br_if $Ls (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $s1))))
        (br_if $Lk (i32.lt_u (local.tee $p0 (i32.add (local.get $p0) (local.get $kb))) (local.get $k))))
      (br_if $Lm (i32.lt_u (local.tee $ic (i32.add (local.get $ic) (local.get $mcb))) (local.get $i1)))))

  ;; Task `task` of a batched job: the whole product of batch entry `task`, on this thread. Its operands are the job's
  ;; a, b, c advanced by `task` times the batch strides [21] [22] [23] (bytes; 0 for an operand shared by every entry),
  ;; and its packed B goes to pb + task*[24], so entries never share memory. The blocking is the single-thread one,
  ;; so each entry's result is the same as a call of its own.
  (func $batch_task (param $job i32) (param $task i32) (param $scratch i32)
    (local $b i32) (local $pb i32) (local $nStrips i32)
    (local.set $nStrips (i32.shr_u (i32.load offset=52 (local.get $job)) (i32.const 3)))
    (local.set $b (i32.add (i32.load offset=16 (local.get $job)) (i32.mul (local.get $task) (i32.load offset=88 (local.get $job)))))
    (local.set $pb (i32.add (i32.load offset=28 (local.get $job)) (i32.mul (local.get $task) (i32.load offset=96 (local.get $job)))))
    (call $pack_b
      (local.get $b) (i32.load offset=20 (local.get $job))
      (i32.load offset=24 (local.get $job)) (i32.load offset=48 (local.get $job))
      (i32.load offset=44 (local.get $job)) (i32.load offset=52 (local.get $job))
      (i32.load offset=56 (local.get $job)) (i32.const 0) (local.get $nStrips) (local.get $pb))
    (call $compute
      (i32.add (i32.load offset=4 (local.get $job)) (i32.mul (local.get $task) (i32.load offset=84 (local.get $job))))
      (i32.load offset=8 (local.get $job)) (i32.load offset=12 (local.get $job))
      (local.get $pb) (i32.load offset=52 (local.get $job))
      (i32.add (i32.load offset=32 (local.get $job)) (i32.mul (local.get $task) (i32.load offset=92 (local.get $job))))
      (i32.load offset=36 (local.get $job))
      (i32.load offset=48 (local.get $job)) (i32.load offset=44 (local.get $job))
      (i32.const 0) (i32.load offset=40 (local.get $job)) (i32.const 0) (local.get $nStrips)
      (i32.load offset=56 (local.get $job)) (i32.load offset=60 (local.get $job))
      (local.get $scratch)
      (i32.add (local.get $scratch)
        (i32.shl (i32.mul (i32.load offset=60 (local.get $job)) (i32.load offset=56 (local.get $job))) (i32.const 2)))
      (i32.load offset=100 (local.get $job)) (i32.load offset=104 (local.get $job)) (i32.load offset=108 (local.get $job))))

  ;; Run task number `task` of the job described by the i32 parameter block at `job`, using the scratch area at
  ;; `scratch` (mcb*kb + 32 floats). Parameter block (i32 words):
  ;;   [0] pack tasks (0 if B is already packed)
  ;;   [1] a  [2] rsA  [3] csA  [4] b  [5] rsB  [6] csB  [7] pb  [8] c  [9] ldc
  ;;   [10] m  [11] n  [12] k  [13] nPad  [14] kb  [15] mcb
  ;;   [16] strips per pack task  [17] rows per compute task  [18] strips per compute task  [19] row tasks
  ;;   [20] batch entries (0: not batched; then task t is entry t, see $batch_task)  [21..24] batch strides of a, b, c, pb
  ;;   [25] causal mode (0 none, see $compute)  [26] its period tq  [27] its offset
  ;; Tasks [0, pack tasks) pack B: task t packs strips [t*w, min((t+1)*w, nPad/8)). The remaining tasks compute;
  ;; compute task u = task - pack tasks covers the rows of row task u mod rowTasks and the strips of column chunk
  ;; u div rowTasks, and needs every pack task finished (the host orders this). Every task writes a disjoint region
  ;; and recomputes it from scratch, so a task may safely be run again.
  (func (export "run_task") (param $job i32) (param $task i32) (param $scratch i32)
    (local $nStrips i32) (local $w i32) (local $s0 i32) (local $s1 i32) (local $i0 i32) (local $i1 i32)
    (local $rt i32) (local $ct i32)
    (if (i32.load offset=80 (local.get $job))
      (then (call $batch_task (local.get $job) (local.get $task) (local.get $scratch)) (return)))
    (local.set $nStrips (i32.shr_u (i32.load offset=52 (local.get $job)) (i32.const 3)))
    (if (i32.lt_u (local.get $task) (i32.load (local.get $job)))
      (then
        (local.set $w (i32.load offset=64 (local.get $job)))
        (local.set $s0 (i32.mul (local.get $task) (local.get $w)))
        (local.set $s1 (i32.add (local.get $s0) (local.get $w)))
        (if (i32.gt_u (local.get $s1) (local.get $nStrips)) (then (local.set $s1 (local.get $nStrips))))
        (if (i32.lt_u (local.get $s0) (local.get $s1))
          (then
            (call $pack_b
              (i32.load offset=16 (local.get $job)) (i32.load offset=20 (local.get $job))
              (i32.load offset=24 (local.get $job)) (i32.load offset=48 (local.get $job))
              (i32.load offset=44 (local.get $job)) (i32.load offset=52 (local.get $job))
              (i32.load offset=56 (local.get $job)) (local.get $s0) (local.get $s1)
              (i32.load offset=28 (local.get $job)))))
        (return)))
    (local.set $task (i32.sub (local.get $task) (i32.load (local.get $job))))
    (local.set $rt (i32.load offset=76 (local.get $job)))
    (local.set $ct (i32.div_u (local.get $task) (local.get $rt)))
    (local.set $i0 (i32.mul (i32.rem_u (local.get $task) (local.get $rt)) (i32.load offset=68 (local.get $job))))
    (local.set $i1 (i32.add (local.get $i0) (i32.load offset=68 (local.get $job))))
    (if (i32.gt_u (local.get $i1) (i32.load offset=40 (local.get $job))) (then (local.set $i1 (i32.load offset=40 (local.get $job)))))
    (local.set $w (i32.load offset=72 (local.get $job)))
    (local.set $s0 (i32.mul (local.get $ct) (local.get $w)))
    (local.set $s1 (i32.add (local.get $s0) (local.get $w)))
    (if (i32.gt_u (local.get $s1) (local.get $nStrips)) (then (local.set $s1 (local.get $nStrips))))
    (if (i32.and (i32.lt_u (local.get $i0) (local.get $i1)) (i32.lt_u (local.get $s0) (local.get $s1)))
      (then
        (call $compute
          (i32.load offset=4 (local.get $job)) (i32.load offset=8 (local.get $job)) (i32.load offset=12 (local.get $job))
          (i32.load offset=28 (local.get $job)) (i32.load offset=52 (local.get $job))
          (i32.load offset=32 (local.get $job)) (i32.load offset=36 (local.get $job))
          (i32.load offset=48 (local.get $job)) (i32.load offset=44 (local.get $job))
          (local.get $i0) (local.get $i1) (local.get $s0) (local.get $s1)
          (i32.load offset=56 (local.get $job)) (i32.load offset=60 (local.get $job))
          (local.get $scratch)
          (i32.add (local.get $scratch)
            (i32.shl (i32.mul (i32.load offset=60 (local.get $job)) (i32.load offset=56 (local.get $job))) (i32.const 2)))
          (i32.load offset=100 (local.get $job)) (i32.load offset=104 (local.get $job)) (i32.load offset=108 (local.get $job))))))
)
