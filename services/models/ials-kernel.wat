;; The iALS half-step row solve in WebAssembly SIMD (f32x4), over one shared memory that holds the
;; factors, the sparse positives and the Gramian, so worker threads solve rows in place with no copy.
;; Same system as ials-solver.ts (Hu, Koren & Volinsky 2008, CG as in Takács et al. 2011):
;;   (G + α·Σ_{i∈P} sᵢ·yᵢyᵢᵀ) x = Σ_{i∈P} (1 + α·sᵢ)·yᵢ,  G = YᵀY + λI.
;; Every pointer is a byte offset into the memory; k is a multiple of 4 and all arrays are 16-byte
;; aligned. The assembled binary, ials-kernel.wasm, is committed; ials-kernel-assemble.ts rebuilds it.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; a·b over k floats; two accumulators, so consecutive adds do not wait on each other.
  (func $dot (param $a i32) (param $b i32) (param $k i32) (result f32)
    (local $end i32) (local $acc v128) (local $acc2 v128)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
    (block $pairs
      (loop $pair
        (br_if $pairs (i32.gt_u (i32.add (local.get $a) (i32.const 32)) (local.get $end)))
        (local.set $acc
          (f32x4.add (local.get $acc)
            (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
        (local.set $acc2
          (f32x4.add (local.get $acc2)
            (f32x4.mul (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 32)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (br $pair)))
    (if (i32.lt_u (local.get $a) (local.get $end))
      (then
        (local.set $acc
          (f32x4.add (local.get $acc)
            (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))))
    (call $sum (f32x4.add (local.get $acc) (local.get $acc2))))

  (func $sum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; out += w·y over k floats.
  (func $axpy (param $w f32) (param $y i32) (param $out i32) (param $k i32)
    (local $end i32) (local $ws v128)
    (local.set $ws (f32x4.splat (local.get $w)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2))))
    (loop $next
      (v128.store (local.get $out)
        (f32x4.add (v128.load (local.get $out))
          (f32x4.mul (local.get $ws) (v128.load (local.get $y)))))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $next (i32.lt_u (local.tee $out (i32.add (local.get $out) (i32.const 16))) (local.get $end)))))

  ;; out = scale·(G·v), four rows of G per sweep so each load of v feeds four products.
  (func $gemv (param $g i32) (param $v i32) (param $out i32) (param $k i32) (param $scale f32)
    (local $row i32) (local $row1 i32) (local $row2 i32) (local $row3 i32) (local $stride i32)
    (local $end i32) (local $j i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $x v128)
    (local.set $stride (i32.shl (local.get $k) (i32.const 2)))
    (local.set $end (i32.add (local.get $out) (local.get $stride)))
    (local.set $row (local.get $g))
    (loop $rows
      (local.set $row1 (i32.add (local.get $row) (local.get $stride)))
      (local.set $row2 (i32.add (local.get $row1) (local.get $stride)))
      (local.set $row3 (i32.add (local.get $row2) (local.get $stride)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (loop $cols
        (local.set $x (v128.load (i32.add (local.get $v) (local.get $j))))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $row) (local.get $j))))))
        (local.set $a1 (f32x4.add (local.get $a1)
          (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $row1) (local.get $j))))))
        (local.set $a2 (f32x4.add (local.get $a2)
          (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $row2) (local.get $j))))))
        (local.set $a3 (f32x4.add (local.get $a3)
          (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $row3) (local.get $j))))))
        (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (local.get $stride))))
      ;; Transpose-add the four accumulators into one vector of the four row sums:
      ;; pairwise lane sums first, t01 = (a0₀+a0₁, a1₀+a1₁, a0₂+a0₃, a1₂+a1₃) and t23 alike…
      (local.set $x
        (f32x4.add
          (i8x16.shuffle 0 1 2 3 16 17 18 19 8 9 10 11 24 25 26 27 (local.get $a0) (local.get $a1))
          (i8x16.shuffle 4 5 6 7 20 21 22 23 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
      (local.set $a2
        (f32x4.add
          (i8x16.shuffle 0 1 2 3 16 17 18 19 8 9 10 11 24 25 26 27 (local.get $a2) (local.get $a3))
          (i8x16.shuffle 4 5 6 7 20 21 22 23 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
      ;; …then the low halves of t01, t23 plus their high halves.
      (local.set $a0
        (f32x4.add
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x) (local.get $a2))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x) (local.get $a2))))
      (v128.store (local.get $out) (f32x4.mul (local.get $a0) (f32x4.splat (local.get $scale))))
      (local.set $row (i32.add (local.get $row3) (local.get $stride)))
      (br_if $rows (i32.lt_u (local.tee $out (i32.add (local.get $out) (i32.const 16))) (local.get $end)))))

;; Solves rows [from, to) in place, starting each from its current value (warm start).
  ;; strength 0 means every positive has strength 1; scratch holds 3·k floats. With inverse
  ;; (G⁻¹, k² floats), a row with one positive y is solved exactly instead (Sherman–Morrison):
  ;; x = (1 + c)·G⁻¹y / (1 + c·yᵀG⁻¹y), one product with G⁻¹ where CG takes 1 + steps with G.
  (func $solve
    (param $target i32) (param $fixed i32) (param $gram i32) (param $ptr i32) (param $idx i32)
    (param $strength i32) (param $k i32) (param $alpha f32) (param $steps i32) (param $scratch i32)
    (param $from i32) (param $to i32) (param $inverse i32)
    (local $r i32) (local $x i32) (local $res i32) (local $p i32) (local $ap i32) (local $bytes i32)
    (local $n i32) (local $end i32) (local $y i32) (local $c f32) (local $s i32)
    (local $rsOld f32) (local $rsNew f32) (local $step f32) (local $beta f32) (local $f i32)
    (local.set $bytes (i32.shl (local.get $k) (i32.const 2)))
    (local.set $res (local.get $scratch))
    (local.set $p (i32.add (local.get $res) (local.get $bytes)))
    (local.set $ap (i32.add (local.get $p) (local.get $bytes)))
    (local.set $r (local.get $from))
    (block $done
      (br_if $done (i32.ge_u (local.get $r) (local.get $to)))
      (loop $row
        (local.set $x (i32.add (local.get $target) (i32.mul (local.get $r) (local.get $bytes))))
        (local.set $n (i32.load (i32.add (local.get $ptr) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $end (i32.load (i32.add (local.get $ptr) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))))
        (if (i32.eq (local.get $n) (local.get $end))
          ;; No positives: b = 0 and G is positive definite, so x = 0 exactly.
          (then (memory.fill (local.get $x) (i32.const 0) (local.get $bytes)))
          (else (if (i32.and (i32.ne (local.get $inverse) (i32.const 0))
                             (i32.eq (i32.add (local.get $n) (i32.const 1)) (local.get $end)))
          (then
            (local.set $y (i32.add (local.get $fixed)
              (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $n) (i32.const 2)))) (local.get $bytes))))
            (local.set $c (call $confidence (local.get $strength) (local.get $n) (local.get $alpha)))
            (call $gemv (local.get $inverse) (local.get $y) (local.get $res) (local.get $k) (f32.const 1))
            (memory.fill (local.get $x) (i32.const 0) (local.get $bytes))
            (call $axpy
              (f32.div (f32.add (f32.const 1) (local.get $c))
                (f32.add (f32.const 1) (f32.mul (local.get $c) (call $dot (local.get $y) (local.get $res) (local.get $k)))))
              (local.get $res) (local.get $x) (local.get $k)))
          (else
            ;; res = b − A·x = −G·x + Σ (1 + α·sᵢ − α·sᵢ·(yᵢ·x))·yᵢ
            (call $gemv (local.get $gram) (local.get $x) (local.get $res) (local.get $k) (f32.const -1))
            (local.set $s (local.get $n))
            (loop $positive
              (local.set $y (i32.add (local.get $fixed)
                (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $s) (i32.const 2)))) (local.get $bytes))))
              (local.set $c (call $confidence (local.get $strength) (local.get $s) (local.get $alpha)))
              (call $axpy
                (f32.sub (f32.add (f32.const 1) (local.get $c))
                  (f32.mul (local.get $c) (call $dot (local.get $y) (local.get $x) (local.get $k))))
                (local.get $y) (local.get $res) (local.get $k))
              (br_if $positive (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $end))))
            (memory.copy (local.get $p) (local.get $res) (local.get $bytes))
            (local.set $rsOld (call $dot (local.get $res) (local.get $res) (local.get $k)))
            (local.set $f (i32.const 0))
            (block $converged
              (loop $cg
                (br_if $converged (i32.ge_u (local.get $f) (local.get $steps)))
                (br_if $converged (f32.lt (local.get $rsOld) (f32.const 1e-20)))
                ;; ap = A·p
                (call $gemv (local.get $gram) (local.get $p) (local.get $ap) (local.get $k) (f32.const 1))
                (local.set $s (local.get $n))
                (loop $positive
                  (local.set $y (i32.add (local.get $fixed)
                    (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $s) (i32.const 2)))) (local.get $bytes))))
                  (call $axpy
                    (f32.mul (call $confidence (local.get $strength) (local.get $s) (local.get $alpha))
                      (call $dot (local.get $y) (local.get $p) (local.get $k)))
                    (local.get $y) (local.get $ap) (local.get $k))
                  (br_if $positive (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $end))))
                (local.set $step (f32.div (local.get $rsOld) (call $dot (local.get $p) (local.get $ap) (local.get $k))))
                (call $axpy (local.get $step) (local.get $p) (local.get $x) (local.get $k))
                (call $axpy (f32.neg (local.get $step)) (local.get $ap) (local.get $res) (local.get $k))
                (local.set $rsNew (call $dot (local.get $res) (local.get $res) (local.get $k)))
                (local.set $beta (f32.div (local.get $rsNew) (local.get $rsOld)))
                (call $xpby (local.get $res) (local.get $beta) (local.get $p) (local.get $k))
                (local.set $rsOld (local.get $rsNew))
                (local.set $f (i32.add (local.get $f) (i32.const 1)))
                (br $cg)))))))
        (br_if $row (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $to))))))

  ;; α·sₙ, the extra confidence of positive n (sₙ = 1 without a strength array).
  (func $confidence (param $strength i32) (param $n i32) (param $alpha f32) (result f32)
    (if (result f32) (i32.eqz (local.get $strength))
      (then (local.get $alpha))
      (else (f32.mul (local.get $alpha)
        (f32.load (i32.add (local.get $strength) (i32.shl (local.get $n) (i32.const 2))))))))

  ;; p = r + β·p over k floats.
  (func $xpby (param $r i32) (param $beta f32) (param $p i32) (param $k i32)
    (local $end i32) (local $b v128)
    (local.set $b (f32x4.splat (local.get $beta)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $k) (i32.const 2))))
    (loop $next
      (v128.store (local.get $p)
        (f32x4.add (v128.load (local.get $r)) (f32x4.mul (local.get $b) (v128.load (local.get $p)))))
      (local.set $r (i32.add (local.get $r) (i32.const 16)))
      (br_if $next (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 16))) (local.get $end)))))
  ;; solve, in chunks of 256 rows; with a block (k² floats) and a total (k² doubles, 16-aligned),
  ;; each chunk's YᵀY is then added to the total while its rows are still in cache: the Gramian the
  ;; other side needs next, at no extra pass over the factors and split across threads like the rows.
  (func (export "solveRows")
    (param $target i32) (param $fixed i32) (param $gram i32) (param $ptr i32) (param $idx i32)
    (param $strength i32) (param $k i32) (param $alpha f32) (param $steps i32) (param $scratch i32)
    (param $from i32) (param $to i32) (param $block i32) (param $total i32) (param $inverse i32)
    (local $end i32)
    (block $done
      (loop $chunk
        (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
        (local.set $end (i32.add (local.get $from) (i32.const 256)))
        (if (i32.gt_u (local.get $end) (local.get $to)) (then (local.set $end (local.get $to))))
        (call $solve (local.get $target) (local.get $fixed) (local.get $gram) (local.get $ptr) (local.get $idx)
          (local.get $strength) (local.get $k) (local.get $alpha) (local.get $steps) (local.get $scratch)
          (local.get $from) (local.get $end) (local.get $inverse))
        (if (local.get $block)
          (then (call $accumulate (local.get $target) (local.get $k) (local.get $from) (local.get $end)
            (local.get $block) (local.get $total))))
        (local.set $from (local.get $end))
        (br $chunk))))

  ;; total += YᵀY over rows [from, to) of factors, through the single-precision block.
  (func (export "gramRows") (param $factors i32) (param $k i32) (param $from i32) (param $to i32)
    (param $block i32) (param $total i32)
    (local $end i32)
    (block $done
      (loop $chunk
        (br_if $done (i32.ge_u (local.get $from) (local.get $to)))
        (local.set $end (i32.add (local.get $from) (i32.const 256)))
        (if (i32.gt_u (local.get $end) (local.get $to)) (then (local.set $end (local.get $to))))
        (call $accumulate (local.get $factors) (local.get $k) (local.get $from) (local.get $end)
          (local.get $block) (local.get $total))
        (local.set $from (local.get $end))
        (br $chunk))))

  ;; total += Σ_{r∈[from,to)} y_r·y_rᵀ: a few hundred rows summed in single precision (four rows per
  ;; sweep of the block), then added to the double-precision total, which keeps a million-row sum
  ;; accurate; the block is left zeroed.
  (func $accumulate (param $factors i32) (param $k i32) (param $from i32) (param $to i32)
    (param $block i32) (param $total i32)
    (local $bytes i32) (local $y i32) (local $end i32) (local $n i32) (local $v v128)
    (local.set $bytes (i32.shl (local.get $k) (i32.const 2)))
    (local.set $y (i32.add (local.get $factors) (i32.mul (local.get $from) (local.get $bytes))))
    (local.set $end (i32.add (local.get $factors) (i32.mul (local.get $to) (local.get $bytes))))
    (block $fours
      (loop $four
        (br_if $fours (i32.gt_u (i32.add (local.get $y) (i32.shl (local.get $bytes) (i32.const 2))) (local.get $end)))
        (call $rank4 (local.get $y) (local.get $bytes) (local.get $block))
        (local.set $y (i32.add (local.get $y) (i32.shl (local.get $bytes) (i32.const 2))))
        (br $four)))
    (block $ones
      (loop $one
        (br_if $ones (i32.ge_u (local.get $y) (local.get $end)))
        (call $rank1 (local.get $y) (local.get $bytes) (local.get $block))
        (local.set $y (i32.add (local.get $y) (local.get $bytes)))
        (br $one)))
    (local.set $end (i32.add (local.get $block) (i32.mul (local.get $bytes) (local.get $k))))
    (loop $flush
      (local.set $v (v128.load (local.get $block)))
      (v128.store (local.get $total)
        (f64x2.add (v128.load (local.get $total)) (f64x2.promote_low_f32x4 (local.get $v))))
      (v128.store offset=16 (local.get $total)
        (f64x2.add (v128.load offset=16 (local.get $total))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
      (v128.store (local.get $block) (v128.const i32x4 0 0 0 0))
      (local.set $total (i32.add (local.get $total) (i32.const 32)))
      (br_if $flush (i32.lt_u (local.tee $block (i32.add (local.get $block) (i32.const 16))) (local.get $end)))))

  ;; out += y·yᵀ for one row of k floats.
  (func $rank1 (param $y i32) (param $bytes i32) (param $out i32)
    (local $f i32) (local $g i32) (local $yf v128)
    (loop $outer
      (local.set $yf (v128.load32_splat (i32.add (local.get $y) (local.get $f))))
      (local.set $g (i32.const 0))
      (loop $inner
        (v128.store (local.get $out)
          (f32x4.add (v128.load (local.get $out))
            (f32x4.mul (local.get $yf) (v128.load (i32.add (local.get $y) (local.get $g))))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br_if $inner (i32.lt_u (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $bytes))))
      (br_if $outer (i32.lt_u (local.tee $f (i32.add (local.get $f) (i32.const 4))) (local.get $bytes)))))

  ;; out += Σ y_j·y_jᵀ for the four consecutive rows at y: one load and store of out per four updates.
  (func $rank4 (param $y i32) (param $bytes i32) (param $out i32)
    (local $f i32) (local $g i32) (local $y1 i32) (local $y2 i32) (local $y3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $y1 (i32.add (local.get $y) (local.get $bytes)))
    (local.set $y2 (i32.add (local.get $y1) (local.get $bytes)))
    (local.set $y3 (i32.add (local.get $y2) (local.get $bytes)))
    (loop $outer
      (local.set $s0 (v128.load32_splat (i32.add (local.get $y) (local.get $f))))
      (local.set $s1 (v128.load32_splat (i32.add (local.get $y1) (local.get $f))))
      (local.set $s2 (v128.load32_splat (i32.add (local.get $y2) (local.get $f))))
      (local.set $s3 (v128.load32_splat (i32.add (local.get $y3) (local.get $f))))
      (local.set $g (i32.const 0))
      (loop $inner
        (v128.store (local.get $out)
          (f32x4.add (v128.load (local.get $out))
            (f32x4.add
              (f32x4.add
                (f32x4.mul (local.get $s0) (v128.load (i32.add (local.get $y) (local.get $g))))
                (f32x4.mul (local.get $s1) (v128.load (i32.add (local.get $y1) (local.get $g)))))
              (f32x4.add
                (f32x4.mul (local.get $s2) (v128.load (i32.add (local.get $y2) (local.get $g))))
                (f32x4.mul (local.get $s3) (v128.load (i32.add (local.get $y3) (local.get $g))))))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br_if $inner (i32.lt_u (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $bytes))))
      (br_if $outer (i32.lt_u (local.tee $f (i32.add (local.get $f) (i32.const 4))) (local.get $bytes)))))
)
