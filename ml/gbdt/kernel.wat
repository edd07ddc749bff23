;; The hot loops of GBDT training: histograms, partitions and the split search (ml/gbdt/kernel.ts
;; loads this module; scripts/buildKernel.mjs assembles this file into kernelWasm.ts, and a unit test
;; checks they agree).
;;
;; Every thread instantiates this module on the same shared memory, which holds the column-major
;; bins (`binBytes` wide), the row buffer, the gradients and hessians, and the histogram slots. A call
;; adds the rows rows[start..end) of one node to the histograms of the features in a plan: per
;; feature, the byte offset of its column of bins and the byte address of its first histogram bin.
;; One pass over the rows covers every feature of the plan (the row index and gradient are read once),
;; and each bin's [grad, count] pair is one f64x2 add. A bin sums its rows in row-buffer order,
;; whatever the plan: the same histogram on any thread and for any split of the features between
;; threads.
;;
;; Four functions, written out one by one on purpose (ARCHITECTURE.md, "Deliberate repetition"):
;; 8- or 16-bit bins, and [grad, count] (unit hessians) or [grad, count, hess] bins. `one` is what a
;; row adds to the counts: 1, or 0 on bins already holding their counts.
;;
;; Then the stable partition of a node's rows by a split (rows going left first), moving their
;; gradients (payload 1) and hessians (payload 2) along, for 8- and 16-bit bins. A split is a table
;; of a byte per bin of its feature, 1 for the bins going left: a threshold and the side of missing
;; values, or a category split's set, alike. The right part goes through the scratch arrays (from
;; their start); with `rightStays` it is left there for the caller. Each payload has a loop of its
;; own that walks byte pointers, with no test per row: 1.15 ns a row without payload, against 1.6
;; for the same loop deciding a threshold by arithmetic and 2.3 for one loop that tested the
;; payload and indexed every array.
;;
;; Then histogram subtraction, the split search over a node's histogram (histogram.ts documents
;; the search and its results), a leaf's part of a carried root histogram (grow.ts, carryRoot),
;; and, for squared error, the pass that adds a tree to the training scores and makes the next
;; gradients (grow.ts, addTreeToResiduals). Last, binning's loops (binning.ts), on a memory of
;; their own. The search writes its missing-right and missing-left arms out
;; rather than calling one helper twice: it runs for every bin of every feature of every node, and
;; a helper would return the gain and the sums through memory for each bin.
(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "accumulateU8Unit")
    (param $bins i32) (param $binBytes i32) (param $rows i32) (param $grad i32) (param $hess i32)
    (param $start i32) (param $end i32) (param $plan i32) (param $planEnd i32) (param $one f64)
    (local $i i32) (local $row i32) (local $p i32) (local $a i32) (local $ones v128) (local $gc v128)
    (local.set $ones (f64x2.splat (local.get $one)))
    (local.set $i (local.get $start))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (br_if $done (i32.ge_u (local.get $plan) (local.get $planEnd)))
      (loop $rowLoop
        (local.set $row
          (i32.add (local.get $bins)
            (i32.mul
              (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2))))
              (local.get $binBytes))))
        (local.set $gc
          (f64x2.replace_lane 0 (local.get $ones)
            (f64.load (i32.add (local.get $grad) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $p (local.get $plan))
        (loop $featureLoop
          (local.set $a
            (i32.add (i32.load offset=4 (local.get $p))
              (i32.shl (i32.load8_u (i32.add (local.get $row) (i32.load (local.get $p))))
                (i32.const 4))))
          (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $gc)))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br_if $featureLoop (i32.lt_u (local.get $p) (local.get $planEnd))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $i) (local.get $end))))))

  (func (export "accumulateU16Unit")
    (param $bins i32) (param $binBytes i32) (param $rows i32) (param $grad i32) (param $hess i32)
    (param $start i32) (param $end i32) (param $plan i32) (param $planEnd i32) (param $one f64)
    (local $i i32) (local $row i32) (local $p i32) (local $a i32) (local $ones v128) (local $gc v128)
    (local.set $ones (f64x2.splat (local.get $one)))
    (local.set $i (local.get $start))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (br_if $done (i32.ge_u (local.get $plan) (local.get $planEnd)))
      (loop $rowLoop
        (local.set $row
          (i32.add (local.get $bins)
            (i32.mul
              (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2))))
              (local.get $binBytes))))
        (local.set $gc
          (f64x2.replace_lane 0 (local.get $ones)
            (f64.load (i32.add (local.get $grad) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $p (local.get $plan))
        (loop $featureLoop
          (local.set $a
            (i32.add (i32.load offset=4 (local.get $p))
              (i32.shl (i32.load16_u (i32.add (local.get $row) (i32.load (local.get $p))))
                (i32.const 4))))
          (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $gc)))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br_if $featureLoop (i32.lt_u (local.get $p) (local.get $planEnd))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $i) (local.get $end))))))

  (func (export "accumulateU8Hessian")
    (param $bins i32) (param $binBytes i32) (param $rows i32) (param $grad i32) (param $hess i32)
    (param $start i32) (param $end i32) (param $plan i32) (param $planEnd i32) (param $one f64)
    (local $i i32) (local $row i32) (local $p i32) (local $a i32) (local $ones v128) (local $gc v128)
    (local $h f64)
    (local.set $ones (f64x2.splat (local.get $one)))
    (local.set $i (local.get $start))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (br_if $done (i32.ge_u (local.get $plan) (local.get $planEnd)))
      (loop $rowLoop
        (local.set $row
          (i32.add (local.get $bins)
            (i32.mul
              (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2))))
              (local.get $binBytes))))
        (local.set $gc
          (f64x2.replace_lane 0 (local.get $ones)
            (f64.load (i32.add (local.get $grad) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $h (f64.load (i32.add (local.get $hess) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $p (local.get $plan))
        (loop $featureLoop
          (local.set $a
            (i32.add (i32.load offset=4 (local.get $p))
              (i32.mul (i32.load8_u (i32.add (local.get $row) (i32.load (local.get $p))))
                (i32.const 24))))
          (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $gc)))
          (f64.store offset=16 (local.get $a)
            (f64.add (f64.load offset=16 (local.get $a)) (local.get $h)))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br_if $featureLoop (i32.lt_u (local.get $p) (local.get $planEnd))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $i) (local.get $end))))))

  (func (export "accumulateU16Hessian")
    (param $bins i32) (param $binBytes i32) (param $rows i32) (param $grad i32) (param $hess i32)
    (param $start i32) (param $end i32) (param $plan i32) (param $planEnd i32) (param $one f64)
    (local $i i32) (local $row i32) (local $p i32) (local $a i32) (local $ones v128) (local $gc v128)
    (local $h f64)
    (local.set $ones (f64x2.splat (local.get $one)))
    (local.set $i (local.get $start))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (br_if $done (i32.ge_u (local.get $plan) (local.get $planEnd)))
      (loop $rowLoop
        (local.set $row
          (i32.add (local.get $bins)
            (i32.mul
              (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2))))
              (local.get $binBytes))))
        (local.set $gc
          (f64x2.replace_lane 0 (local.get $ones)
            (f64.load (i32.add (local.get $grad) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $h (f64.load (i32.add (local.get $hess) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $p (local.get $plan))
        (loop $featureLoop
          (local.set $a
            (i32.add (i32.load offset=4 (local.get $p))
              (i32.mul (i32.load16_u (i32.add (local.get $row) (i32.load (local.get $p))))
                (i32.const 24))))
          (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $gc)))
          (f64.store offset=16 (local.get $a)
            (f64.add (f64.load offset=16 (local.get $a)) (local.get $h)))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br_if $featureLoop (i32.lt_u (local.get $p) (local.get $planEnd))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $i) (local.get $end))))))

  (func (export "partitionU8")
    (param $bins i32) (param $binAt i32) (param $rows i32) (param $grad i32) (param $hess i32)
    (param $rowScratch i32) (param $gradScratch i32) (param $hessScratch i32) (param $start i32)
    (param $count i32) (param $goesLeft i32) (param $payload i32) (param $rightStays i32) (result i32)
    (local $column i32) (local $row i32) (local $b i32) (local $left i32) (local $g f64) (local $h f64)
    (local $src i32) (local $srcEnd i32) (local $dst i32) (local $scr i32) (local $gsrc i32)
    (local $gdst i32) (local $gscr i32) (local $hsrc i32) (local $hdst i32) (local $hscr i32)
    (local $l i32) (local $r i32)
    ;; Byte pointers: rows are read at src; left rows are written at dst (behind src, in place) and
    ;; right rows at scr, in the scratch array; the same for gradients (g) and hessians (h).
    (local.set $column (i32.add (local.get $bins) (local.get $binAt)))
    (local.set $src (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $srcEnd (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $dst (local.get $src))
    (local.set $scr (local.get $rowScratch))
    (local.set $gsrc (i32.add (local.get $grad) (i32.shl (local.get $start) (i32.const 3))))
    (local.set $gdst (local.get $gsrc))
    (local.set $gscr (local.get $gradScratch))
    (local.set $hsrc (i32.add (local.get $hess) (i32.shl (local.get $start) (i32.const 3))))
    (local.set $hdst (local.get $hsrc))
    (local.set $hscr (local.get $hessScratch))
    ;; One loop per payload, so the loop moves nothing it need not and tests nothing per row.
    (block $done
      (br_if $done (i32.ge_u (local.get $src) (local.get $srcEnd)))
      (if (i32.eqz (local.get $payload))
        (then
          (loop $rowsOnly
            (local.set $row (i32.load (local.get $src)))
            (local.set $b (i32.load8_u (i32.add (local.get $column) (local.get $row))))
            (local.set $left (i32.load8_u (i32.add (local.get $goesLeft) (local.get $b))))
            ;; Each value goes to both places; only the side it belongs to moves on.
            (i32.store (local.get $dst) (local.get $row))
            (i32.store (local.get $scr) (local.get $row))
            (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $left) (i32.const 2))))
            (local.set $scr
              (i32.sub (i32.add (local.get $scr) (i32.const 4)) (i32.shl (local.get $left) (i32.const 2))))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br_if $rowsOnly (i32.lt_u (local.get $src) (local.get $srcEnd))))
          (br $done)))
      (if (i32.eq (local.get $payload) (i32.const 1))
        (then
          (loop $withGradients
            (local.set $row (i32.load (local.get $src)))
            (local.set $g (f64.load (local.get $gsrc)))
            (local.set $b (i32.load8_u (i32.add (local.get $column) (local.get $row))))
            (local.set $left (i32.load8_u (i32.add (local.get $goesLeft) (local.get $b))))
            ;; Each value goes to both places; only the side it belongs to moves on.
            (i32.store (local.get $dst) (local.get $row))
            (i32.store (local.get $scr) (local.get $row))
            (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $left) (i32.const 2))))
            (local.set $scr
              (i32.sub (i32.add (local.get $scr) (i32.const 4)) (i32.shl (local.get $left) (i32.const 2))))
            (f64.store (local.get $gdst) (local.get $g))
            (f64.store (local.get $gscr) (local.get $g))
            (local.set $gdst (i32.add (local.get $gdst) (i32.shl (local.get $left) (i32.const 3))))
            (local.set $gscr
              (i32.sub (i32.add (local.get $gscr) (i32.const 8)) (i32.shl (local.get $left) (i32.const 3))))
            (local.set $gsrc (i32.add (local.get $gsrc) (i32.const 8)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br_if $withGradients (i32.lt_u (local.get $src) (local.get $srcEnd))))
          (br $done)))
        (loop $withHessians
          (local.set $row (i32.load (local.get $src)))
          (local.set $g (f64.load (local.get $gsrc)))
          (local.set $h (f64.load (local.get $hsrc)))
          (local.set $b (i32.load8_u (i32.add (local.get $column) (local.get $row))))
          (local.set $left (i32.load8_u (i32.add (local.get $goesLeft) (local.get $b))))
          ;; Each value goes to both places; only the side it belongs to moves on.
          (i32.store (local.get $dst) (local.get $row))
          (i32.store (local.get $scr) (local.get $row))
          (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $left) (i32.const 2))))
          (local.set $scr
            (i32.sub (i32.add (local.get $scr) (i32.const 4)) (i32.shl (local.get $left) (i32.const 2))))
          (f64.store (local.get $gdst) (local.get $g))
          (f64.store (local.get $gscr) (local.get $g))
          (local.set $gdst (i32.add (local.get $gdst) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $gscr
            (i32.sub (i32.add (local.get $gscr) (i32.const 8)) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $gsrc (i32.add (local.get $gsrc) (i32.const 8)))
          (f64.store (local.get $hdst) (local.get $h))
          (f64.store (local.get $hscr) (local.get $h))
          (local.set $hdst (i32.add (local.get $hdst) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $hscr
            (i32.sub (i32.add (local.get $hscr) (i32.const 8)) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $hsrc (i32.add (local.get $hsrc) (i32.const 8)))
          (local.set $src (i32.add (local.get $src) (i32.const 4)))
          (br_if $withHessians (i32.lt_u (local.get $src) (local.get $srcEnd)))))
    (local.set $l (i32.shr_u (i32.sub (local.get $dst) (local.get $rows)) (i32.const 2)))
    (local.set $r (i32.shr_u (i32.sub (local.get $scr) (local.get $rowScratch)) (i32.const 2)))
    ;; The right part after the left one, unless the caller takes it from the scratch arrays.
    (if (local.get $rightStays) (then (return (i32.sub (local.get $l) (local.get $start)))))
    (memory.copy (local.get $dst) (local.get $rowScratch) (i32.shl (local.get $r) (i32.const 2)))
    (if (local.get $payload)
      (then
        (memory.copy (local.get $gdst) (local.get $gradScratch) (i32.shl (local.get $r) (i32.const 3)))
        (if (i32.eq (local.get $payload) (i32.const 2))
          (then
            (memory.copy (local.get $hdst) (local.get $hessScratch) (i32.shl (local.get $r) (i32.const 3)))))))
    (i32.sub (local.get $l) (local.get $start)))

  (func (export "partitionU16")
    (param $bins i32) (param $binAt i32) (param $rows i32) (param $grad i32) (param $hess i32)
    (param $rowScratch i32) (param $gradScratch i32) (param $hessScratch i32) (param $start i32)
    (param $count i32) (param $goesLeft i32) (param $payload i32) (param $rightStays i32) (result i32)
    (local $column i32) (local $row i32) (local $b i32) (local $left i32) (local $g f64) (local $h f64)
    (local $src i32) (local $srcEnd i32) (local $dst i32) (local $scr i32) (local $gsrc i32)
    (local $gdst i32) (local $gscr i32) (local $hsrc i32) (local $hdst i32) (local $hscr i32)
    (local $l i32) (local $r i32)
    ;; Byte pointers: rows are read at src; left rows are written at dst (behind src, in place) and
    ;; right rows at scr, in the scratch array; the same for gradients (g) and hessians (h).
    (local.set $column (i32.add (local.get $bins) (local.get $binAt)))
    (local.set $src (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $srcEnd (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $dst (local.get $src))
    (local.set $scr (local.get $rowScratch))
    (local.set $gsrc (i32.add (local.get $grad) (i32.shl (local.get $start) (i32.const 3))))
    (local.set $gdst (local.get $gsrc))
    (local.set $gscr (local.get $gradScratch))
    (local.set $hsrc (i32.add (local.get $hess) (i32.shl (local.get $start) (i32.const 3))))
    (local.set $hdst (local.get $hsrc))
    (local.set $hscr (local.get $hessScratch))
    ;; One loop per payload, so the loop moves nothing it need not and tests nothing per row.
    (block $done
      (br_if $done (i32.ge_u (local.get $src) (local.get $srcEnd)))
      (if (i32.eqz (local.get $payload))
        (then
          (loop $rowsOnly
            (local.set $row (i32.load (local.get $src)))
            (local.set $b (i32.load16_u (i32.add (local.get $column) (i32.shl (local.get $row) (i32.const 1)))))
            (local.set $left (i32.load8_u (i32.add (local.get $goesLeft) (local.get $b))))
            ;; Each value goes to both places; only the side it belongs to moves on.
            (i32.store (local.get $dst) (local.get $row))
            (i32.store (local.get $scr) (local.get $row))
            (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $left) (i32.const 2))))
            (local.set $scr
              (i32.sub (i32.add (local.get $scr) (i32.const 4)) (i32.shl (local.get $left) (i32.const 2))))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br_if $rowsOnly (i32.lt_u (local.get $src) (local.get $srcEnd))))
          (br $done)))
      (if (i32.eq (local.get $payload) (i32.const 1))
        (then
          (loop $withGradients
            (local.set $row (i32.load (local.get $src)))
            (local.set $g (f64.load (local.get $gsrc)))
            (local.set $b (i32.load16_u (i32.add (local.get $column) (i32.shl (local.get $row) (i32.const 1)))))
            (local.set $left (i32.load8_u (i32.add (local.get $goesLeft) (local.get $b))))
            ;; Each value goes to both places; only the side it belongs to moves on.
            (i32.store (local.get $dst) (local.get $row))
            (i32.store (local.get $scr) (local.get $row))
            (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $left) (i32.const 2))))
            (local.set $scr
              (i32.sub (i32.add (local.get $scr) (i32.const 4)) (i32.shl (local.get $left) (i32.const 2))))
            (f64.store (local.get $gdst) (local.get $g))
            (f64.store (local.get $gscr) (local.get $g))
            (local.set $gdst (i32.add (local.get $gdst) (i32.shl (local.get $left) (i32.const 3))))
            (local.set $gscr
              (i32.sub (i32.add (local.get $gscr) (i32.const 8)) (i32.shl (local.get $left) (i32.const 3))))
            (local.set $gsrc (i32.add (local.get $gsrc) (i32.const 8)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br_if $withGradients (i32.lt_u (local.get $src) (local.get $srcEnd))))
          (br $done)))
        (loop $withHessians
          (local.set $row (i32.load (local.get $src)))
          (local.set $g (f64.load (local.get $gsrc)))
          (local.set $h (f64.load (local.get $hsrc)))
          (local.set $b (i32.load16_u (i32.add (local.get $column) (i32.shl (local.get $row) (i32.const 1)))))
          (local.set $left (i32.load8_u (i32.add (local.get $goesLeft) (local.get $b))))
          ;; Each value goes to both places; only the side it belongs to moves on.
          (i32.store (local.get $dst) (local.get $row))
          (i32.store (local.get $scr) (local.get $row))
          (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $left) (i32.const 2))))
          (local.set $scr
            (i32.sub (i32.add (local.get $scr) (i32.const 4)) (i32.shl (local.get $left) (i32.const 2))))
          (f64.store (local.get $gdst) (local.get $g))
          (f64.store (local.get $gscr) (local.get $g))
          (local.set $gdst (i32.add (local.get $gdst) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $gscr
            (i32.sub (i32.add (local.get $gscr) (i32.const 8)) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $gsrc (i32.add (local.get $gsrc) (i32.const 8)))
          (f64.store (local.get $hdst) (local.get $h))
          (f64.store (local.get $hscr) (local.get $h))
          (local.set $hdst (i32.add (local.get $hdst) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $hscr
            (i32.sub (i32.add (local.get $hscr) (i32.const 8)) (i32.shl (local.get $left) (i32.const 3))))
          (local.set $hsrc (i32.add (local.get $hsrc) (i32.const 8)))
          (local.set $src (i32.add (local.get $src) (i32.const 4)))
          (br_if $withHessians (i32.lt_u (local.get $src) (local.get $srcEnd)))))
    (local.set $l (i32.shr_u (i32.sub (local.get $dst) (local.get $rows)) (i32.const 2)))
    (local.set $r (i32.shr_u (i32.sub (local.get $scr) (local.get $rowScratch)) (i32.const 2)))
    ;; The right part after the left one, unless the caller takes it from the scratch arrays.
    (if (local.get $rightStays) (then (return (i32.sub (local.get $l) (local.get $start)))))
    (memory.copy (local.get $dst) (local.get $rowScratch) (i32.shl (local.get $r) (i32.const 2)))
    (if (local.get $payload)
      (then
        (memory.copy (local.get $gdst) (local.get $gradScratch) (i32.shl (local.get $r) (i32.const 3)))
        (if (i32.eq (local.get $payload) (i32.const 2))
          (then
            (memory.copy (local.get $hdst) (local.get $hessScratch) (i32.shl (local.get $r) (i32.const 3)))))))
    (i32.sub (local.get $l) (local.get $start)))

  ;; Histogram subtraction: for features featureList[listStart..listEnd), the parent's bins (at byte
  ;; address $parent) minus the child's (at $child), written over the parent's: the sibling's
  ;; histogram. `stride` doubles per bin; each double is subtracted on its own (f64x2 lanes are exact).
  (func (export "subtractHistograms")
    (param $parent i32) (param $child i32) (param $stride i32) (param $featureList i32)
    (param $listStart i32) (param $listEnd i32) (param $binOffset i32)
    (local $k i32) (local $feature i32) (local $at i32) (local $end i32) (local $pairsEnd i32)
    (local.set $k (local.get $listStart))
    (block $done
      (br_if $done (i32.ge_u (local.get $k) (local.get $listEnd)))
      (loop $featureLoop
        (local.set $feature (i32.load (i32.add (local.get $featureList) (i32.shl (local.get $k) (i32.const 2)))))
        ;; Byte offsets of the feature's first double and of the next feature's.
        (local.set $at
          (i32.shl
            (i32.mul
              (i32.load (i32.add (local.get $binOffset) (i32.shl (local.get $feature) (i32.const 2))))
              (local.get $stride))
            (i32.const 3)))
        (local.set $end
          (i32.shl
            (i32.mul
              (i32.load offset=4 (i32.add (local.get $binOffset) (i32.shl (local.get $feature) (i32.const 2))))
              (local.get $stride))
            (i32.const 3)))
        (local.set $pairsEnd (i32.sub (local.get $end) (i32.and (i32.sub (local.get $end) (local.get $at)) (i32.const 15))))
        (block $pairsDone
          (br_if $pairsDone (i32.ge_u (local.get $at) (local.get $pairsEnd)))
          (loop $pairs
            (v128.store (i32.add (local.get $parent) (local.get $at))
              (f64x2.sub
                (v128.load (i32.add (local.get $parent) (local.get $at)))
                (v128.load (i32.add (local.get $child) (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br_if $pairs (i32.lt_u (local.get $at) (local.get $pairsEnd)))))
        ;; An odd double left (three doubles a bin, an odd number of bins).
        (if (i32.lt_u (local.get $at) (local.get $end))
          (then
            (f64.store (i32.add (local.get $parent) (local.get $at))
              (f64.sub
                (f64.load (i32.add (local.get $parent) (local.get $at)))
                (f64.load (i32.add (local.get $child) (local.get $at)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $featureLoop (i32.lt_u (local.get $k) (local.get $listEnd))))))

  ;; The best split of one node among features featureList[listStart..listEnd), from its histogram
  ;; at byte address $base (see histogram.ts, which documents the search and the results it writes
  ;; at byte address $out: gain, feature, bin, missingLeft, leftGrad, leftHess, leftCount). The
  ;; arithmetic is in the order the documentation gives, so every thread finds the same gains.
  ;; A bound the split search compares without dividing: a split's gain G_L²/D_L + G_R²/D_R − P
  ;; (D = H + λ, both positive) beats `best` only if G_L²·D_R + G_R²·D_L > (best + P)·D_L·D_R. The
  ;; search skips a split whose products fall below (best + P) lowered by a billionth of itself, far
  ;; more than the products' and the gain's rounding (a few units in the last place): a split it skips
  ;; could never have won, and every split that can win is still decided by the gain, divisions and
  ;; all, so the result is the same to the bit at two divisions fewer for nearly every bin.
  (func $gainBound (param $best f64) (param $parentScore f64) (result f64)
    (local $t f64)
    (local.set $t (f64.add (local.get $best) (local.get $parentScore)))
    (f64.sub (local.get $t) (f64.mul (f64.abs (local.get $t)) (f64.const 1e-9))))

  (func (export "findBestSplits")
    (param $base i32) (param $stride i32) (param $featureList i32) (param $listStart i32)
    (param $listEnd i32) (param $binOffset i32) (param $missingBins i32) (param $totalG f64)
    (param $totalH f64) (param $totalC f64) (param $l2 f64) (param $minSamplesLeaf f64)
    (param $minHessianLeaf f64) (param $minGain f64) (param $out i32)
    (local $hessAt i32) (local $binBytes i32) (local $parentScore f64) (local $bestGain f64)
    (local $found i32) (local $bestFeature i32) (local $bestBin i32) (local $bestMissingLeft i32)
    (local $bestG f64) (local $bestH f64) (local $bestC f64) (local $k i32) (local $feature i32)
    (local $missingBin i32) (local $first i32) (local $missing i32) (local $mG f64) (local $mC f64)
    (local $mH f64) (local $lG f64) (local $lH f64) (local $lC f64) (local $improved i32)
    (local $bin i32) (local $b i32) (local $c f64) (local $rG f64) (local $rH f64) (local $gain f64)
    (local $xG f64) (local $xH f64) (local $xC f64) (local $dL f64) (local $dR f64) (local $bound f64)
    ;; Unit hessians (two doubles a bin): the count doubles as the hessian sum.
    (local.set $hessAt (select (i32.const 8) (i32.const 16) (i32.eq (local.get $stride) (i32.const 2))))
    (local.set $binBytes (i32.shl (local.get $stride) (i32.const 3)))
    (local.set $parentScore (if (result f64) (f64.gt (f64.add (local.get $totalH) (local.get $l2)) (f64.const 0))
                          (then (f64.div (f64.mul (local.get $totalG) (local.get $totalG)) (f64.add (local.get $totalH) (local.get $l2))))
                          (else (f64.const 0))))
    (local.set $bestGain (local.get $minGain))
    (local.set $bound (call $gainBound (local.get $bestGain) (local.get $parentScore)))
    (local.set $bestFeature (i32.const -1))
    (local.set $k (local.get $listStart))
    (block $featuresDone
      (br_if $featuresDone (i32.ge_u (local.get $k) (local.get $listEnd)))
      (loop $featureLoop
        (local.set $feature (i32.load (i32.add (local.get $featureList) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $missingBin (i32.load (i32.add (local.get $missingBins) (i32.shl (local.get $feature) (i32.const 2)))))
        (local.set $first
          (i32.add (local.get $base)
            (i32.mul
              (i32.load (i32.add (local.get $binOffset) (i32.shl (local.get $feature) (i32.const 2))))
              (local.get $binBytes))))
        (local.set $missing (i32.add (local.get $first) (i32.mul (local.get $missingBin) (local.get $binBytes))))
        (local.set $mG (f64.load (local.get $missing)))
        (local.set $mC (f64.load offset=8 (local.get $missing)))
        (local.set $mH (f64.load (i32.add (local.get $missing) (local.get $hessAt))))
        (local.set $lG (f64.const 0))
        (local.set $lH (f64.const 0))
        (local.set $lC (f64.const 0))
        (local.set $improved (i32.const 0))
        ;; bin b: value bins 0..b go left; the last value bin never closes a split.
        (local.set $bin (i32.const -1))
        (block $binsDone
          (br_if $binsDone (i32.ge_s (local.get $bin) (i32.sub (local.get $missingBin) (i32.const 1))))
          (loop $binLoop
            (block $nextBin
              (if (i32.ge_s (local.get $bin) (i32.const 0))
                (then
                  (local.set $b (i32.add (local.get $first) (i32.mul (local.get $bin) (local.get $binBytes))))
                  (local.set $c (f64.load offset=8 (local.get $b)))
                  ;; An empty bin gives the same partition as the previous threshold.
                  (br_if $nextBin (f64.eq (local.get $c) (f64.const 0)))
                  (local.set $lG (f64.add (local.get $lG) (f64.load (local.get $b))))
                  (local.set $lH (f64.add (local.get $lH) (f64.load (i32.add (local.get $b) (local.get $hessAt)))))
                  (local.set $lC (f64.add (local.get $lC) (local.get $c)))
                  ;; Too few rows right already: no later bin can do better.
                  (br_if $binsDone (f64.lt (f64.sub (local.get $totalC) (local.get $lC)) (local.get $minSamplesLeaf)))))
              ;; Missing values right.
              (if $missingRightDone (i32.and
                    (i32.and
                      (f64.ge (local.get $lC) (local.get $minSamplesLeaf))
                      (f64.ge (local.get $lH) (local.get $minHessianLeaf)))
                    (f64.ge (f64.sub (local.get $totalH) (local.get $lH)) (local.get $minHessianLeaf)))
                (then
                  (local.set $rG (f64.sub (local.get $totalG) (local.get $lG)))
                  (local.set $rH (f64.sub (local.get $totalH) (local.get $lH)))
                  (local.set $dL (f64.add (local.get $lH) (local.get $l2)))
                  (local.set $dR (f64.add (local.get $rH) (local.get $l2)))
                  ;; Without dividing: skip a split whose gain is clearly below the best (see $bound).
                  (br_if $missingRightDone
                    (i32.and
                      (i32.and (f64.gt (local.get $dL) (f64.const 0)) (f64.gt (local.get $dR) (f64.const 0)))
                      (f64.lt
                        (f64.add
                          (f64.mul (f64.mul (local.get $lG) (local.get $lG)) (local.get $dR))
                          (f64.mul (f64.mul (local.get $rG) (local.get $rG)) (local.get $dL)))
                        (f64.mul (f64.mul (local.get $bound) (local.get $dL)) (local.get $dR)))))
                  (local.set $gain
                    (f64.sub
                      (f64.add
                        (if (result f64) (f64.gt (f64.add (local.get $lH) (local.get $l2)) (f64.const 0))
                          (then (f64.div (f64.mul (local.get $lG) (local.get $lG)) (f64.add (local.get $lH) (local.get $l2))))
                          (else (f64.const 0)))
                        (if (result f64) (f64.gt (f64.add (local.get $rH) (local.get $l2)) (f64.const 0))
                          (then (f64.div (f64.mul (local.get $rG) (local.get $rG)) (f64.add (local.get $rH) (local.get $l2))))
                          (else (f64.const 0))))
                      (local.get $parentScore)))
                  (if (f64.gt (local.get $gain) (local.get $bestGain))
                    (then
                      (local.set $bestGain (local.get $gain))
                      (local.set $bound (call $gainBound (local.get $bestGain) (local.get $parentScore)))
                      (local.set $found (i32.const 1))
                      (local.set $improved (i32.const 1))
                      (local.set $bestFeature (local.get $feature))
                      (local.set $bestBin (local.get $bin))
                      (local.set $bestMissingLeft (i32.const 0))
                      (local.set $bestG (local.get $lG))
                      (local.set $bestH (local.get $lH))
                      (local.set $bestC (local.get $lC))))))
              ;; Missing values left: a different split only when this node has missing rows.
              (if (f64.gt (local.get $mC) (f64.const 0))
                (then
                  (local.set $xG (f64.add (local.get $lG) (local.get $mG)))
                  (local.set $xH (f64.add (local.get $lH) (local.get $mH)))
                  (local.set $xC (f64.add (local.get $lC) (local.get $mC)))
                  (if $missingLeftDone (i32.and
                        (i32.and
                          (f64.ge (local.get $xC) (local.get $minSamplesLeaf))
                          (f64.ge (f64.sub (local.get $totalC) (local.get $xC)) (local.get $minSamplesLeaf)))
                        (i32.and
                          (f64.ge (local.get $xH) (local.get $minHessianLeaf))
                          (f64.ge (f64.sub (local.get $totalH) (local.get $xH)) (local.get $minHessianLeaf))))
                    (then
                      (local.set $rG (f64.sub (local.get $totalG) (local.get $xG)))
                      (local.set $rH (f64.sub (local.get $totalH) (local.get $xH)))
                      (local.set $dL (f64.add (local.get $xH) (local.get $l2)))
                      (local.set $dR (f64.add (local.get $rH) (local.get $l2)))
                      (br_if $missingLeftDone
                        (i32.and
                          (i32.and (f64.gt (local.get $dL) (f64.const 0)) (f64.gt (local.get $dR) (f64.const 0)))
                          (f64.lt
                            (f64.add
                              (f64.mul (f64.mul (local.get $xG) (local.get $xG)) (local.get $dR))
                              (f64.mul (f64.mul (local.get $rG) (local.get $rG)) (local.get $dL)))
                            (f64.mul (f64.mul (local.get $bound) (local.get $dL)) (local.get $dR)))))
                      (local.set $gain
                        (f64.sub
                          (f64.add
                            (if (result f64) (f64.gt (f64.add (local.get $xH) (local.get $l2)) (f64.const 0))
                          (then (f64.div (f64.mul (local.get $xG) (local.get $xG)) (f64.add (local.get $xH) (local.get $l2))))
                          (else (f64.const 0)))
                            (if (result f64) (f64.gt (f64.add (local.get $rH) (local.get $l2)) (f64.const 0))
                          (then (f64.div (f64.mul (local.get $rG) (local.get $rG)) (f64.add (local.get $rH) (local.get $l2))))
                          (else (f64.const 0))))
                          (local.get $parentScore)))
                      (if (f64.gt (local.get $gain) (local.get $bestGain))
                        (then
                          (local.set $bestGain (local.get $gain))
                          (local.set $bound (call $gainBound (local.get $bestGain) (local.get $parentScore)))
                          (local.set $found (i32.const 1))
                          (local.set $improved (i32.const 1))
                          (local.set $bestFeature (local.get $feature))
                          (local.set $bestBin (local.get $bin))
                          (local.set $bestMissingLeft (i32.const 1))
                          (local.set $bestG (local.get $xG))
                          (local.set $bestH (local.get $xH))
                          (local.set $bestC (local.get $xC)))))))))
            (local.set $bin (i32.add (local.get $bin) (i32.const 1)))
            (br_if $binLoop (i32.lt_s (local.get $bin) (i32.sub (local.get $missingBin) (i32.const 1))))))
        ;; No missing rows here to learn from: send future missing values to the larger side.
        (if (i32.and (local.get $improved) (f64.eq (local.get $mC) (f64.const 0)))
          (then
            (local.set $bestMissingLeft
              (f64.ge (local.get $bestC) (f64.sub (local.get $totalC) (local.get $bestC))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $featureLoop (i32.lt_u (local.get $k) (local.get $listEnd)))))
    (f64.store (local.get $out)
      (select (local.get $bestGain) (f64.const -inf) (local.get $found)))
    (f64.store offset=8 (local.get $out) (f64.convert_i32_s (local.get $bestFeature)))
    (f64.store offset=16 (local.get $out) (f64.convert_i32_s (local.get $bestBin)))
    (f64.store offset=24 (local.get $out) (f64.convert_i32_s (local.get $bestMissingLeft)))
    (f64.store offset=32 (local.get $out) (local.get $bestG))
    (f64.store offset=40 (local.get $out) (local.get $bestH))
    (f64.store offset=48 (local.get $out) (local.get $bestC)))

  ;; The next tree's root histogram from the last tree's leaves, over the features featureList[0..listLength)
  ;; (i32 each; their bins from binOffset, i32 a feature): each feature's [grad, count] bins at $root
  ;; start as allRowCounts' (every row's counts), then leaf after leaf (its slot's byte address at
  ;; $leafBases, i32, and its value at $leafValues, f64) each bin's gradient sum gains the leaf's sum
  ;; plus the value times its count.
  (func (export "carryRootHistogram") (param $root i32) (param $allRowCounts i32) (param $featureList i32)
    (param $listLength i32) (param $binOffset i32) (param $leafBases i32) (param $leafValues i32)
    (param $leafCount i32)
    (local $k i32) (local $feature i32) (local $from i32) (local $bytes i32) (local $j i32) (local $l i32)
    (block $done
      (br_if $done (i32.eqz (local.get $listLength)))
      (loop $features
        (local.set $feature (i32.load (i32.add (local.get $featureList) (i32.shl (local.get $k) (i32.const 2)))))
        ;; 16 bytes a bin: [grad, count].
        (local.set $from
          (i32.shl (i32.load (i32.add (local.get $binOffset) (i32.shl (local.get $feature) (i32.const 2))))
            (i32.const 4)))
        (local.set $bytes
          (i32.sub
            (i32.shl (i32.load offset=4 (i32.add (local.get $binOffset) (i32.shl (local.get $feature) (i32.const 2))))
              (i32.const 4))
            (local.get $from)))
        (local.set $j (i32.const 0))
        (block $copied
          (br_if $copied (i32.eqz (local.get $bytes)))
          (loop $copy
            (v128.store (i32.add (i32.add (local.get $root) (local.get $from)) (local.get $j))
              (v128.load (i32.add (i32.add (local.get $allRowCounts) (local.get $from)) (local.get $j))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $copy (i32.lt_u (local.get $j) (local.get $bytes)))))
        (local.set $l (i32.const 0))
        (block $leavesDone
          (br_if $leavesDone (i32.eqz (local.get $leafCount)))
          (loop $leaves
            (call $addCarriedLeaf
              (i32.add (local.get $root) (local.get $from))
              (i32.add
                (i32.load (i32.add (local.get $leafBases) (i32.shl (local.get $l) (i32.const 2))))
                (local.get $from))
              (local.get $bytes)
              (f64.load (i32.add (local.get $leafValues) (i32.shl (local.get $l) (i32.const 3)))))
            (local.set $l (i32.add (local.get $l) (i32.const 1)))
            (br_if $leaves (i32.lt_u (local.get $l) (local.get $leafCount)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $features (i32.lt_u (local.get $k) (local.get $listLength))))))

  ;; A leaf's part of the next tree's root histogram ([grad, count] bins, `bytes` long from $root and
  ;; $leaf): each bin's gradient sum gains the leaf's sum plus `value` times its count.
  (func $addCarriedLeaf (param $root i32) (param $leaf i32) (param $bytes i32) (param $value f64)
    (local $j i32)
    (block $done
      (br_if $done (i32.ge_u (local.get $j) (local.get $bytes)))
      (loop $bins
        (f64.store (i32.add (local.get $root) (local.get $j))
          (f64.add
            (f64.load (i32.add (local.get $root) (local.get $j)))
            (f64.add
              (f64.load (i32.add (local.get $leaf) (local.get $j)))
              (f64.mul (local.get $value) (f64.load offset=8 (i32.add (local.get $leaf) (local.get $j)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br_if $bins (i32.lt_u (local.get $j) (local.get $bytes))))))

  ;; rows[i] = i for i < n: every row, in order (four a step).
  (func (export "fillIdentity") (param $rows i32) (param $n i32)
    (local $i i32) (local $next v128)
    (local.set $next (v128.const i32x4 0 1 2 3))
    (block $vectors
      (br_if $vectors (i32.lt_u (local.get $n) (i32.const 4)))
      (loop $fours
        (v128.store (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2))) (local.get $next))
        (local.set $next (i32x4.add (local.get $next) (v128.const i32x4 4 4 4 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $fours (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (loop $rest
        (i32.store (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2))) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rest (i32.lt_u (local.get $i) (local.get $n))))))

  ;; The sum of count f64 values, added in order from the first (as JavaScript's loop adds them).
  (func (export "sumInOrder") (param $values i32) (param $count i32) (result f64)
    (local $i i32) (local $total f64)
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $values
        (local.set $total
          (f64.add (local.get $total) (f64.load (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $values (i32.lt_u (local.get $i) (local.get $count)))))
    (local.get $total))

  ;; A tree's leaf index per row, for the score pass below and the trainer's other losses:
  ;; rows[start..start+count) of leaf `l` get `l`, from the leaves' [start, count] pairs (i32) at
  ;; `leaves`. An index is `indexBytes` wide: 2 (16-bit), or 4 for trees of more than 65,536 leaves.
  (func (export "markLeaves") (param $rows i32) (param $leaves i32) (param $leafCount i32)
    (param $leafOfRows i32) (param $indexBytes i32)
    (local $l i32) (local $j i32) (local $end i32) (local $row i32)
    (block $done
      (br_if $done (i32.eqz (local.get $leafCount)))
      (loop $leafLoop
        (local.set $j (i32.load (i32.add (local.get $leaves) (i32.shl (local.get $l) (i32.const 3)))))
        (local.set $end
          (i32.add (local.get $j)
            (i32.load offset=4 (i32.add (local.get $leaves) (i32.shl (local.get $l) (i32.const 3))))))
        (block $leafDone
          (br_if $leafDone (i32.ge_u (local.get $j) (local.get $end)))
          (loop $rowLoop
            (local.set $row (i32.load (i32.add (local.get $rows) (i32.shl (local.get $j) (i32.const 2)))))
            (if (i32.eq (local.get $indexBytes) (i32.const 2))
              (then
                (i32.store16 (i32.add (local.get $leafOfRows) (i32.shl (local.get $row) (i32.const 1)))
                  (local.get $l)))
              (else
                (i32.store (i32.add (local.get $leafOfRows) (i32.shl (local.get $row) (i32.const 2)))
                  (local.get $l))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $rowLoop (i32.lt_u (local.get $j) (local.get $end)))))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br_if $leafLoop (i32.lt_u (local.get $l) (local.get $leafCount))))))

  ;; The score pass of a loss whose gradient is the residual (squared error), rows [start, end): each
  ;; row's score gains its leaf's value, its gradient becomes score minus target, and the squares of
  ;; the gradients are summed (two rows a step, in two lanes). Scores and gradients are the exact
  ;; doubles of the scalar `score + value` and `score - target`.
  (func (export "addLeafValues") (param $leafOfRows i32) (param $values i32) (param $raw i32)
    (param $target i32) (param $grad i32) (param $start i32) (param $end i32) (result f64)
    (local $i i32) (local $o i32) (local $score v128) (local $residual v128) (local $squares v128)
    (local $last f64)
    (local.set $i (local.get $start))
    (block $pairs
      (br_if $pairs (i32.gt_u (i32.add (local.get $i) (i32.const 2)) (local.get $end)))
      (loop $pairLoop
        (local.set $o (i32.shl (local.get $i) (i32.const 3)))
        (local.set $score
          (f64x2.add (v128.load (i32.add (local.get $raw) (local.get $o)))
            (f64x2.replace_lane 1
              (f64x2.splat
                (f64.load (i32.add (local.get $values)
                  (i32.shl (i32.load16_u (i32.add (local.get $leafOfRows) (i32.shl (local.get $i) (i32.const 1))))
                    (i32.const 3)))))
              (f64.load (i32.add (local.get $values)
                (i32.shl (i32.load16_u offset=2 (i32.add (local.get $leafOfRows) (i32.shl (local.get $i) (i32.const 1))))
                  (i32.const 3)))))))
        (v128.store (i32.add (local.get $raw) (local.get $o)) (local.get $score))
        (local.set $residual
          (f64x2.sub (local.get $score) (v128.load (i32.add (local.get $target) (local.get $o)))))
        (v128.store (i32.add (local.get $grad) (local.get $o)) (local.get $residual))
        (local.set $squares
          (f64x2.add (local.get $squares) (f64x2.mul (local.get $residual) (local.get $residual))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br_if $pairLoop (i32.le_u (i32.add (local.get $i) (i32.const 2)) (local.get $end)))))
    ;; An odd row left over.
    (if (i32.lt_u (local.get $i) (local.get $end))
      (then
        (local.set $o (i32.shl (local.get $i) (i32.const 3)))
        (local.set $last
          (f64.add (f64.load (i32.add (local.get $raw) (local.get $o)))
            (f64.load (i32.add (local.get $values)
              (i32.shl (i32.load16_u (i32.add (local.get $leafOfRows) (i32.shl (local.get $i) (i32.const 1))))
                (i32.const 3))))))
        (f64.store (i32.add (local.get $raw) (local.get $o)) (local.get $last))
        (local.set $last (f64.sub (local.get $last) (f64.load (i32.add (local.get $target) (local.get $o)))))
        (f64.store (i32.add (local.get $grad) (local.get $o)) (local.get $last))
        (local.set $squares
          (f64x2.add (local.get $squares)
            (f64x2.replace_lane 0 (v128.const i64x2 0 0) (f64.mul (local.get $last) (local.get $last)))))))
    (f64.add (f64x2.extract_lane 0 (local.get $squares)) (f64x2.extract_lane 1 (local.get $squares))))

  ;; Binning (binning.ts), on a memory of its own: binning comes before the grower's memory exists.
  ;; Float32 values (no NaN) are sorted as order-preserving integer keys (negative floats' bits all
  ;; flipped, others' sign bit set, -0 taken as +0) by a stable LSD radix sort, three passes of 11
  ;; bits through `scratch`, `counts` holding 2048 counters; the sorted values' distinct values are
  ;; counted; and each row's bin is the number of thresholds at or below its float32 value. The
  ;; JavaScript loops these replace ran in V8's interpreter for much of a fit's first tree.
  (func (export "sortFloat32") (param $values i32) (param $scratch i32) (param $count i32) (param $counts i32)
    (local $i i32) (local $at i32) (local $u i32)
    (block $keyed
      (br_if $keyed (i32.eqz (local.get $count)))
      (loop $keyLoop
        (local.set $at (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $u (i32.load (local.get $at)))
        (i32.store (local.get $at)
          (select (i32.const 0x80000000)
            (select (i32.xor (local.get $u) (i32.const -1)) (i32.or (local.get $u) (i32.const 0x80000000))
              (i32.lt_s (local.get $u) (i32.const 0)))
            (i32.eq (local.get $u) (i32.const 0x80000000))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $keyLoop (i32.lt_u (local.get $i) (local.get $count)))))
    (call $radixPass (local.get $values) (local.get $scratch) (local.get $count) (local.get $counts) (i32.const 0))
    (call $radixPass (local.get $scratch) (local.get $values) (local.get $count) (local.get $counts) (i32.const 11))
    (call $radixPass (local.get $values) (local.get $scratch) (local.get $count) (local.get $counts) (i32.const 22))
    ;; Back to float bits, into `values`.
    (local.set $i (i32.const 0))
    (block $unkeyed
      (br_if $unkeyed (i32.eqz (local.get $count)))
      (loop $unkeyLoop
        (local.set $u (i32.load (i32.add (local.get $scratch) (i32.shl (local.get $i) (i32.const 2)))))
        (i32.store (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2)))
          (select (i32.xor (local.get $u) (i32.const 0x80000000)) (i32.xor (local.get $u) (i32.const -1))
            (i32.lt_s (local.get $u) (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $unkeyLoop (i32.lt_u (local.get $i) (local.get $count))))))

  ;; One stable counting pass of the radix sort: the keys of `from` by their 11-bit digit at `shift`, into `to`.
  (func $radixPass (param $from i32) (param $to i32) (param $count i32) (param $counts i32) (param $shift i32)
    (local $i i32) (local $digit i32) (local $at i32) (local $total i32) (local $c i32) (local $key i32)
    (memory.fill (local.get $counts) (i32.const 0) (i32.const 8192))
    (block $counted
      (br_if $counted (i32.eqz (local.get $count)))
      (loop $countLoop
        (local.set $at
          (i32.add (local.get $counts)
            (i32.shl
              (i32.and
                (i32.shr_u (i32.load (i32.add (local.get $from) (i32.shl (local.get $i) (i32.const 2)))) (local.get $shift))
                (i32.const 2047))
              (i32.const 2))))
        (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $countLoop (i32.lt_u (local.get $i) (local.get $count)))))
    ;; Counts to each digit's first place.
    (local.set $digit (i32.const 0))
    (loop $startLoop
      (local.set $at (i32.add (local.get $counts) (i32.shl (local.get $digit) (i32.const 2))))
      (local.set $c (i32.load (local.get $at)))
      (i32.store (local.get $at) (local.get $total))
      (local.set $total (i32.add (local.get $total) (local.get $c)))
      (local.set $digit (i32.add (local.get $digit) (i32.const 1)))
      (br_if $startLoop (i32.lt_u (local.get $digit) (i32.const 2048))))
    (local.set $i (i32.const 0))
    (block $scattered
      (br_if $scattered (i32.eqz (local.get $count)))
      (loop $scatterLoop
        (local.set $key (i32.load (i32.add (local.get $from) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $at
          (i32.add (local.get $counts)
            (i32.shl (i32.and (i32.shr_u (local.get $key) (local.get $shift)) (i32.const 2047)) (i32.const 2))))
        (local.set $c (i32.load (local.get $at)))
        (i32.store (i32.add (local.get $to) (i32.shl (local.get $c) (i32.const 2))) (local.get $key))
        (i32.store (local.get $at) (i32.add (local.get $c) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $scatterLoop (i32.lt_u (local.get $i) (local.get $count))))))

  ;; The distinct values of sorted float32 `values` (as doubles) and how many times each occurs;
  ;; returns how many there are.
  (func (export "countDistinct") (param $values i32) (param $count i32) (param $distinct i32)
    (param $counts i32) (result i32)
    (local $i i32) (local $d i32) (local $value f64) (local $previous f64) (local $last i32)
    ;; NaN equals nothing: the first value is always a new one.
    (local.set $previous (f64.const nan))
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $valueLoop
        (local.set $value (f64.promote_f32 (f32.load (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2))))))
        (if (f64.eq (local.get $previous) (local.get $value))
          (then
            (local.set $last (i32.add (local.get $counts) (i32.shl (i32.sub (local.get $d) (i32.const 1)) (i32.const 3))))
            (f64.store (local.get $last) (f64.add (f64.load (local.get $last)) (f64.const 1))))
          (else
            (f64.store (i32.add (local.get $distinct) (i32.shl (local.get $d) (i32.const 3))) (local.get $value))
            (f64.store (i32.add (local.get $counts) (i32.shl (local.get $d) (i32.const 3))) (f64.const 1))
            (local.set $previous (local.get $value))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $valueLoop (i32.lt_u (local.get $i) (local.get $count)))))
    (local.get $d))

  ;; Each row's bin from its double `column` value as float32: the missing bin for NaN (counted, the
  ;; count returned), else table `firstBin` at the top 16 bits of its key, then one more for each
  ;; threshold of `guarded` (the thresholds, then NaN) at or below it; 8- or 16-bit bins to `out`,
  ;; and each bin's rows added to `binCounts` (i32 a bin).
  (func (export "assignBinsU8") (param $column i32) (param $count i32) (param $firstBin i32)
    (param $guarded i32) (param $out i32) (param $missingBin i32) (param $binCounts i32) (result i32)
    (local $row i32) (local $x f32) (local $u i32) (local $value f64) (local $bin i32) (local $missing i32)
    (local $at i32)
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $rowLoop
        (local.set $x
          (f32.demote_f64 (f64.load (i32.add (local.get $column) (i32.shl (local.get $row) (i32.const 3))))))
        (local.set $u (i32.reinterpret_f32 (local.get $x)))
        (block $stored
          (if (i32.gt_u (i32.and (local.get $u) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
            (then
              (local.set $bin (local.get $missingBin))
              (local.set $missing (i32.add (local.get $missing) (i32.const 1)))
              (br $stored)))
          (local.set $value (f64.promote_f32 (local.get $x)))
          ;; The prefix of the value's order-preserving key (-0 just below +0) gives the thresholds
          ;; below it; two steps without a branch, then the rare rest (the NaN guard ends it).
          (local.set $bin
            (i32.load
              (i32.add (local.get $firstBin)
                (i32.shl
                  (i32.shr_u
                    (i32.xor (local.get $u) (i32.or (i32.shr_s (local.get $u) (i32.const 31)) (i32.const 0x80000000)))
                    (i32.const 16))
                  (i32.const 2)))))
          (local.set $bin (i32.add (local.get $bin)
            (f64.le (f64.load (i32.add (local.get $guarded) (i32.shl (local.get $bin) (i32.const 3)))) (local.get $value))))
          (local.set $bin (i32.add (local.get $bin)
            (f64.le (f64.load (i32.add (local.get $guarded) (i32.shl (local.get $bin) (i32.const 3)))) (local.get $value))))
          (block $counted
            (loop $step
              (br_if $counted
                (i32.eqz (f64.le (f64.load (i32.add (local.get $guarded) (i32.shl (local.get $bin) (i32.const 3))))
                  (local.get $value))))
              (local.set $bin (i32.add (local.get $bin) (i32.const 1)))
              (br $step))))
        (i32.store8 (i32.add (local.get $out) (local.get $row)) (local.get $bin))
        ;; Every row's bin counted, for the counts of a histogram of every row (grow.ts).
        (local.set $at (i32.add (local.get $binCounts) (i32.shl (local.get $bin) (i32.const 2))))
        (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $row) (local.get $count)))))
    (local.get $missing))

  (func (export "assignBinsU16") (param $column i32) (param $count i32) (param $firstBin i32)
    (param $guarded i32) (param $out i32) (param $missingBin i32) (param $binCounts i32) (result i32)
    (local $row i32) (local $x f32) (local $u i32) (local $value f64) (local $bin i32) (local $missing i32)
    (local $at i32)
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $rowLoop
        (local.set $x
          (f32.demote_f64 (f64.load (i32.add (local.get $column) (i32.shl (local.get $row) (i32.const 3))))))
        (local.set $u (i32.reinterpret_f32 (local.get $x)))
        (block $stored
          (if (i32.gt_u (i32.and (local.get $u) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
            (then
              (local.set $bin (local.get $missingBin))
              (local.set $missing (i32.add (local.get $missing) (i32.const 1)))
              (br $stored)))
          (local.set $value (f64.promote_f32 (local.get $x)))
          ;; The prefix of the value's order-preserving key (-0 just below +0) gives the thresholds
          ;; below it; two steps without a branch, then the rare rest (the NaN guard ends it).
          (local.set $bin
            (i32.load
              (i32.add (local.get $firstBin)
                (i32.shl
                  (i32.shr_u
                    (i32.xor (local.get $u) (i32.or (i32.shr_s (local.get $u) (i32.const 31)) (i32.const 0x80000000)))
                    (i32.const 16))
                  (i32.const 2)))))
          (local.set $bin (i32.add (local.get $bin)
            (f64.le (f64.load (i32.add (local.get $guarded) (i32.shl (local.get $bin) (i32.const 3)))) (local.get $value))))
          (local.set $bin (i32.add (local.get $bin)
            (f64.le (f64.load (i32.add (local.get $guarded) (i32.shl (local.get $bin) (i32.const 3)))) (local.get $value))))
          (block $counted
            (loop $step
              (br_if $counted
                (i32.eqz (f64.le (f64.load (i32.add (local.get $guarded) (i32.shl (local.get $bin) (i32.const 3))))
                  (local.get $value))))
              (local.set $bin (i32.add (local.get $bin) (i32.const 1)))
              (br $step))))
        (i32.store16 (i32.add (local.get $out) (i32.shl (local.get $row) (i32.const 1))) (local.get $bin))
        ;; Every row's bin counted, for the counts of a histogram of every row (grow.ts).
        (local.set $at (i32.add (local.get $binCounts) (i32.shl (local.get $bin) (i32.const 2))))
        (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $row) (local.get $count)))))
    (local.get $missing))
)
