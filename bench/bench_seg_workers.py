"""Two segmentation students at once on one thread each, against one after the other on all threads.

The RGB-D chapter trains about a dozen independent students per seed at 24 x 32 pixels, where
an op is too small to keep two threads busy. This prints how long two MM students (book profile,
``--epochs`` on the stand-in's D_u with its rendered labels) take

* one after the other with ``torch.set_num_threads(2)`` (the chapter before ``workers``),
* one after the other with one thread,
* side by side in two Python threads with one torch thread each (``workers=2``),

as ratios against the first. Run it on an otherwise idle machine: ``python bench/bench_seg_workers.py``.
"""
from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import torch

from mke.algorithm import train_student
from mke.experiments import segmentation as seg
from mke.methods import METHODS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--method", default="mm_student_sup", choices=("mm_student_sup", "um_student"))
    args = ap.parse_args()
    prof = replace(seg.PROFILE_SETTINGS["book"], student_epochs=args.epochs)
    corpus = seg.load_standin(prof, 1488, seg.STANDIN_SEED + 1)
    task = seg.build_tasks(corpus, 1488, seed=seg.STANDIN_SEED + 1)[1488]
    method = METHODS[args.method]
    make = seg.model_factory(prof)

    def one(seed):
        return train_student(task, method, make, None, prof.student_cfg(), seg.transform_for(method, prof.scale), seed)

    def timed(label, threads, parallel):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        if parallel:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(one, (0, 1)))
        else:
            for s in (0, 1):
                one(s)
        dt = time.perf_counter() - t0
        print(f"{label:42s} {dt:6.1f} s", flush=True)
        return dt

    base = timed("sequential, 2 threads", 2, False)
    seq1 = timed("sequential, 1 thread", 1, False)
    par = timed("two at once, 1 thread each", 1, True)
    print(f"\nratios against sequential on 2 threads: 1 thread {seq1 / base:.2f}, two at once {par / base:.2f} "
          f"(below 1 is faster)")


if __name__ == "__main__":
    main()
