"""Check the emotion chapter's stand-in knobs on clips, splits and seeds the book does not report.

The book reports stand-in seed 0 (``StandinConfig.seed``), split seed 0 (``SPLIT_SEED``) and
training seeds 0-4. The knobs (``face_noise``, ``expression_noise`` of
``mke.data.ravdess_standin.StandinConfig``) aim the face teacher at the paper's regime (its Table 2
teacher scores about 80 %). This script generates stand-in seed 1, splits it with split seed 1
and trains seeds 1000 and 1001:

    python bench/calibrate_emotion.py                                     # the knobs in force
    python bench/calibrate_emotion.py --knobs '{"expression_noise": 0.08}'
    python bench/calibrate_emotion.py --noisy-input 0                     # NOISY with T alone

Prints each seed's teacher, UM, NOISY and MM test accuracy and the MM student's paired gain over
the teacher. About 1.5 minutes a training seed on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch

from mke.experiments import emotion as em


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--standin-seed", type=int, default=1)
    ap.add_argument("--split-seed", type=int, default=em.SPLIT_SEED + 1)
    ap.add_argument("--seeds", default="1000,1001", help="training seeds, comma-separated")
    ap.add_argument("--knobs", default="{}", help="JSON: StandinConfig fields to override")
    ap.add_argument("--noisy-input", type=float, default=em.NOISY_INPUT,
                    help="the NOISY student's extra input noise on top of T (default: the book's)")
    args = ap.parse_args()
    em.NOISY_INPUT = args.noisy_input  # transform_for reads it at call time
    if args.standin_seed == 0 or args.split_seed == em.SPLIT_SEED:
        raise SystemExit("stand-in seed 0 and split seed 0 are the book's: calibrate on other clips and splits")
    torch.set_num_threads(2)
    knobs = json.loads(args.knobs)
    book_config = em.standin_config
    em.standin_config = lambda p, v=True: replace(book_config(p, v), seed=args.standin_seed, **knobs)
    prof = em.PROFILE_SETTINGS["book"]
    t0 = time.time()
    task = em.build_task(em.load_standin(prof), seed=args.split_seed)
    methods = ("um_student", "noisy_student", "mm_student")
    acc = {m: [] for m in ("um_teacher",) + methods}
    for seed in [int(s) for s in args.seeds.split(",")]:
        run = em.run_seed(task, prof, seed, methods=methods)
        for m in acc:
            acc[m].append(run.scores[m]["test"])
        print(f"seed {seed}: " + ", ".join(f"{m} {run.scores[m]['test']:.2f}" for m in acc)
              + f" ({time.time() - t0:.0f} s)", flush=True)
    for m, v in acc.items():
        print(f"{m:15s} {np.mean(v):6.2f} (seeds {v})")
    print(f"NOISY student's extra input noise: {em.NOISY_INPUT}")
    print(f"MM - teacher per seed: {np.round(np.array(acc['mm_student']) - np.array(acc['um_teacher']), 2).tolist()}")


if __name__ == "__main__":
    main()
