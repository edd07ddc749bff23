;; The row loops of GBDT training, histograms and partitions (ml/gbdt/kernel.ts loads this module;
;; scripts/buildKernel.mjs assembles this file into kernelWasm.ts, and a unit test checks they agree).
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
;; gradients (payload 1) and hessians (payload 2) along, for 8- and 16-bit bins. The right part goes
;; through the scratch arrays (from their start); with `rightStays` it is left there for the caller.
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
    (param $bins i32) (param $binBytes i32) (param $binAt i32) (param $rows i32) (param $grad i32)
    (param $hess i32) (param $rowScratch i32) (param $gradScratch i32) (param $hessScratch i32)
    (param $start i32) (param $count i32) (param $bin i32) (param $missingBin i32)
    (param $missingLeft i32) (param $payload i32) (param $rightStays i32) (result i32)
    (local $i i32) (local $end i32) (local $l i32) (local $r i32) (local $row i32) (local $b i32)
    (local $left i32) (local $g f64) (local $h f64)
    (local.set $i (local.get $start))
    (local.set $end (i32.add (local.get $start) (local.get $count)))
    (local.set $l (local.get $start))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (loop $rowLoop
        (local.set $row (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $b
          (i32.load8_u
            (i32.add (i32.add (local.get $bins) (local.get $binAt))
              (i32.mul (local.get $row) (local.get $binBytes)))))
        ;; Branch-free: b <= bin (bin may be -1), or the missing bin when missing values go left.
        (local.set $left
          (i32.or
            (i32.xor (i32.shr_u (i32.sub (local.get $bin) (local.get $b)) (i32.const 31)) (i32.const 1))
            (i32.and
              (i32.shr_u
                (i32.sub (i32.xor (local.get $b) (local.get $missingBin)) (i32.const 1))
                (i32.const 31))
              (local.get $missingLeft))))
        (i32.store (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2))) (local.get $row))
        (i32.store (i32.add (local.get $rowScratch) (i32.shl (local.get $r) (i32.const 2)))
          (local.get $row))
        (if (local.get $payload)
          (then
            (local.set $g (f64.load (i32.add (local.get $grad) (i32.shl (local.get $i) (i32.const 3)))))
            (f64.store (i32.add (local.get $grad) (i32.shl (local.get $l) (i32.const 3))) (local.get $g))
            (f64.store (i32.add (local.get $gradScratch) (i32.shl (local.get $r) (i32.const 3)))
              (local.get $g))
            (if (i32.eq (local.get $payload) (i32.const 2))
              (then
                (local.set $h
                  (f64.load (i32.add (local.get $hess) (i32.shl (local.get $i) (i32.const 3)))))
                (f64.store (i32.add (local.get $hess) (i32.shl (local.get $l) (i32.const 3)))
                  (local.get $h))
                (f64.store (i32.add (local.get $hessScratch) (i32.shl (local.get $r) (i32.const 3)))
                  (local.get $h))))))
        (local.set $l (i32.add (local.get $l) (local.get $left)))
        (local.set $r (i32.sub (i32.add (local.get $r) (i32.const 1)) (local.get $left)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $i) (local.get $end)))))
    ;; The right part after the left one, unless the caller takes it from the scratch arrays.
    (if (local.get $rightStays) (then (return (i32.sub (local.get $l) (local.get $start)))))
    (memory.copy (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2)))
      (local.get $rowScratch) (i32.shl (local.get $r) (i32.const 2)))
    (if (local.get $payload)
      (then
        (memory.copy (i32.add (local.get $grad) (i32.shl (local.get $l) (i32.const 3)))
          (local.get $gradScratch) (i32.shl (local.get $r) (i32.const 3)))
        (if (i32.eq (local.get $payload) (i32.const 2))
          (then
            (memory.copy (i32.add (local.get $hess) (i32.shl (local.get $l) (i32.const 3)))
              (local.get $hessScratch) (i32.shl (local.get $r) (i32.const 3)))))))
    (i32.sub (local.get $l) (local.get $start)))

  (func (export "partitionU16")
    (param $bins i32) (param $binBytes i32) (param $binAt i32) (param $rows i32) (param $grad i32)
    (param $hess i32) (param $rowScratch i32) (param $gradScratch i32) (param $hessScratch i32)
    (param $start i32) (param $count i32) (param $bin i32) (param $missingBin i32)
    (param $missingLeft i32) (param $payload i32) (param $rightStays i32) (result i32)
    (local $i i32) (local $end i32) (local $l i32) (local $r i32) (local $row i32) (local $b i32)
    (local $left i32) (local $g f64) (local $h f64)
    (local.set $i (local.get $start))
    (local.set $end (i32.add (local.get $start) (local.get $count)))
    (local.set $l (local.get $start))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (loop $rowLoop
        (local.set $row (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $b
          (i32.load16_u
            (i32.add (i32.add (local.get $bins) (local.get $binAt))
              (i32.mul (local.get $row) (local.get $binBytes)))))
        ;; Branch-free: b <= bin (bin may be -1), or the missing bin when missing values go left.
        (local.set $left
          (i32.or
            (i32.xor (i32.shr_u (i32.sub (local.get $bin) (local.get $b)) (i32.const 31)) (i32.const 1))
            (i32.and
              (i32.shr_u
                (i32.sub (i32.xor (local.get $b) (local.get $missingBin)) (i32.const 1))
                (i32.const 31))
              (local.get $missingLeft))))
        (i32.store (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2))) (local.get $row))
        (i32.store (i32.add (local.get $rowScratch) (i32.shl (local.get $r) (i32.const 2)))
          (local.get $row))
        (if (local.get $payload)
          (then
            (local.set $g (f64.load (i32.add (local.get $grad) (i32.shl (local.get $i) (i32.const 3)))))
            (f64.store (i32.add (local.get $grad) (i32.shl (local.get $l) (i32.const 3))) (local.get $g))
            (f64.store (i32.add (local.get $gradScratch) (i32.shl (local.get $r) (i32.const 3)))
              (local.get $g))
            (if (i32.eq (local.get $payload) (i32.const 2))
              (then
                (local.set $h
                  (f64.load (i32.add (local.get $hess) (i32.shl (local.get $i) (i32.const 3)))))
                (f64.store (i32.add (local.get $hess) (i32.shl (local.get $l) (i32.const 3)))
                  (local.get $h))
                (f64.store (i32.add (local.get $hessScratch) (i32.shl (local.get $r) (i32.const 3)))
                  (local.get $h))))))
        (local.set $l (i32.add (local.get $l) (local.get $left)))
        (local.set $r (i32.sub (i32.add (local.get $r) (i32.const 1)) (local.get $left)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rowLoop (i32.lt_u (local.get $i) (local.get $end)))))
    ;; The right part after the left one, unless the caller takes it from the scratch arrays.
    (if (local.get $rightStays) (then (return (i32.sub (local.get $l) (local.get $start)))))
    (memory.copy (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2)))
      (local.get $rowScratch) (i32.shl (local.get $r) (i32.const 2)))
    (if (local.get $payload)
      (then
        (memory.copy (i32.add (local.get $grad) (i32.shl (local.get $l) (i32.const 3)))
          (local.get $gradScratch) (i32.shl (local.get $r) (i32.const 3)))
        (if (i32.eq (local.get $payload) (i32.const 2))
          (then
            (memory.copy (i32.add (local.get $hess) (i32.shl (local.get $l) (i32.const 3)))
              (local.get $hessScratch) (i32.shl (local.get $r) (i32.const 3)))))))
    (i32.sub (local.get $l) (local.get $start)))
)
