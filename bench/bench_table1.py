"""Benchmark: Table 1's grid trained vectorised against one model at a time, in one process.

The sequential path is the authors' loop structure: for each of the 9 settings x 3 students x
seeds, ``torch.manual_seed(seed)``, build the net, train it alone with full-batch SGD for 2000
epochs (autograd, ``torch.optim.SGD``), score it. The vectorised path trains the same cells as
stacked ensembles (identical cells once), two at a time, each step's gradients computed by
``mke.fused`` (the backward pass written out) and applied by the same ``torch.optim.SGD``.
Prints the wall-clock ratio and the largest difference in mean accuracy between the two over
the 27 cells (noise draws differ between the paths, so cells agree in
distribution; the noise-free cells agree exactly).

    python bench/bench_table1.py              # corrected network, 10 seeds (about 2.5 minutes)
    python bench/bench_table1.py --paper-compat --seeds 5
"""
from __future__ import annotations

import argparse
import time

import torch

from mke.algorithm import pseudo_label, train_teacher
from mke.data.twomoon import twomoon_task
from mke.experiments import twomoon as tm
from mke.methods import METHODS
from mke.runner import Job, run_jobs
from mke.train import TrainConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--paper-compat", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task = twomoon_task()
    make = tm.model_factory(args.paper_compat)
    teacher = train_teacher(task, make, TrainConfig(epochs=1000), tm.TEACHER_SEED)
    pseudo = pseudo_label(teacher, task.inputs("D_u", ("alpha",)), use_cache=False)
    seeds = tm.authors_seeds(args.seeds)
    jobs = [Job(METHODS[m], T, s) for s, T in tm.TABLE1_SETTINGS.items() for m in tm.STUDENT_METHODS]
    cfg = TrainConfig(epochs=args.epochs)

    t0 = time.perf_counter()
    sequential = []
    for job in jobs:  # one model at a time, every cell (the authors train the 3 noise-free columns 3 times)
        sequential += run_jobs(task, [job], seeds, make, cfg, pseudo, vectorised=False)
    t_seq = time.perf_counter() - t0

    t0 = time.perf_counter()
    vectorised = run_jobs(task, jobs, seeds, make, cfg, pseudo, vectorised=True, workers=args.threads)
    t_vec = time.perf_counter() - t0

    diffs = {(a.job.setting, a.job.method.name): a.summary()["mean"] - b.summary()["mean"]
             for a, b in zip(vectorised, sequential)}
    worst = max(diffs, key=lambda k: abs(diffs[k]))
    n_models = len(jobs) * len(seeds)
    print(f"network: {'paper-compat' if args.paper_compat else 'corrected'}; {len(jobs)} cells x {len(seeds)} seeds "
          f"= {n_models} students, {args.epochs} epochs, {args.threads} threads")
    print(f"sequential (one model at a time): {t_seq:7.1f} s  ({t_seq / n_models * 1e3:.0f} ms per student)")
    print(f"vectorised (stacked ensembles):   {t_vec:7.1f} s")
    print(f"speed-up: {t_seq / t_vec:.1f}x")
    print(f"largest difference in a cell's mean test accuracy: {diffs[worst]:+.2f} points at {worst}")
    print(f"mean absolute difference over the {len(diffs)} cells: "
          f"{sum(abs(d) for d in diffs.values()) / len(diffs):.2f} points")


if __name__ == "__main__":
    main()
