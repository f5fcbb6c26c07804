"""Calibrate the RGB-D segmentation chapter's stand-in on rooms and seeds the book does not report.

The book reports stand-in seed 0 (``mke.experiments.segmentation.STANDIN_SEED``) and training
seeds 0, 1, 2. Calibration uses stand-in seed 1 and training seed 1000 (add 1001 to see the
spread). It trains Table 3's core cells only: the teacher, then the UM, NOISY and MM students
on |D_u| = ``--n-unlabeled`` (optionally the MM student without T and the depth control):

    python bench/calibrate_segmentation.py                                   # the book's settings
    python bench/calibrate_segmentation.py --student-arch shallow            # smaller students
    python bench/calibrate_segmentation.py --dropout 0 --control             # T without dropout
    python bench/calibrate_segmentation.py --knobs '{"colour_overlap": 0.9}' # stand-in knobs

``--knobs`` overrides fields of ``mke.data.nyuv2_standin.StandinConfig``; ``--dropout`` the
rate of T3 (on the ASPP output) in the regularised students' T; ``--scale`` the low and high
ends of the joint scaling; ``--noisy-input`` the NOISY student's extra input noise (the book's: none) and
``--noise-all`` that noise in every regularised student's T (give its level with ``--noisy-input``); ``--student-lr`` the students'
learning rate; ``--per-class`` adds a table of per-class test IoU. Prints each model's test
mIoU (and the teacher's on its own D_l, its generalisation gap) and the MM student's
differences from the teacher, the NOISY and the UM student. About 3-4 minutes a training seed
on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch

from mke.algorithm import pseudo_label, train_student, train_teacher
from mke.experiments import segmentation as seg
from mke.kinds import DENSE
from mke.methods import METHODS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--standin-seed", type=int, default=seg.STANDIN_SEED + 1)
    ap.add_argument("--seeds", default="1000", help="training seeds, comma-separated")
    ap.add_argument("--knobs", default="{}", help="JSON: StandinConfig fields to override")
    ap.add_argument("--profile", default="{}", help="JSON: Profile fields to override (epochs, size, archs)")
    ap.add_argument("--teacher-arch", default="deep", choices=seg.TEACHER_ARCHS)
    ap.add_argument("--student-arch", default=None, choices=seg.TEACHER_ARCHS)
    ap.add_argument("--dropout", type=float, default=None, help="T3 rate in T (default: the book's)")
    ap.add_argument("--scale", default=None, help="low,high of the joint scaling (default: the book's)")
    ap.add_argument("--photometric", default=None, help="brightness,contrast jitter of RGB in T")
    ap.add_argument("--rgb-drop", type=float, default=None, help="share of MM samples with RGB blanked in T")
    ap.add_argument("--n-unlabeled", type=int, default=1488)
    ap.add_argument("--hard", action="store_true", help="hard pseudo labels")
    ap.add_argument("--cw", action="store_true", help="confidence weighting (Eq. 15-16)")
    ap.add_argument("--teacher-T", action="store_true", help="train the teacher with T (flip + scale) too")
    ap.add_argument("--methods", default="um_student,noisy_student,mm_student", help="students, comma-separated")
    ap.add_argument("--noreg", action="store_true", help="also the MM student without T")
    ap.add_argument("--control", action="store_true", help="also the MM student with uninformative HHA")
    ap.add_argument("--noise-all", action="store_true",
                    help="the NOISY student's input noise in every regularised student's T (the paper applies T identically)")
    ap.add_argument("--student-lr", type=float, default=None, help="the students' learning rate (default: the profile's)")
    ap.add_argument("--noisy-input", type=float, default=None,
                    help="the NOISY student's extra input noise (default: the book's NOISY_INPUT)")
    ap.add_argument("--per-class", action="store_true", help="also print per-class test IoU (the last seed's)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1: run two calibrations side by side)")
    args = ap.parse_args()
    if args.standin_seed == seg.STANDIN_SEED:
        raise SystemExit(f"--standin-seed {seg.STANDIN_SEED} is the book's: calibrate on other rooms")
    torch.set_num_threads(args.threads)
    prof = replace(seg.PROFILE_SETTINGS["book"], **json.loads(args.profile))
    if args.student_arch:
        prof = replace(prof, student_arch=args.student_arch)
    if args.dropout is not None:
        seg.FEATURE_DROPOUT = args.dropout  # transform_for reads it at call time
    if args.scale:
        prof = replace(prof, scale=tuple(float(v) for v in args.scale.split(",")))
    if args.rgb_drop is not None:
        seg.RGB_DROP = args.rgb_drop
    if args.photometric:
        seg.PHOTOMETRIC = tuple(float(v) for v in args.photometric.split(","))
    if args.noisy_input is not None:
        seg.NOISY_INPUT = args.noisy_input
    if args.noise_all:
        if not seg.NOISY_INPUT:
            raise SystemExit("--noise-all adds the NOISY student's input noise to every student, and the book's is 0: "
                             "give its level with --noisy-input (e.g. 0.1)")
        book_transform = seg.transform_for
        seg.transform_for = lambda method, scale=prof.scale: book_transform(
            replace(method, input_noise=method.regularised), scale)
    student_cfg = prof.student_cfg() if args.student_lr is None else replace(prof.student_cfg(), lr=args.student_lr)
    knobs = json.loads(args.knobs)
    book_config = seg.standin_config
    seg.standin_config = lambda p, n, seed=seg.STANDIN_SEED: replace(book_config(p, n, seed), **knobs)
    t0 = time.time()
    corpus = seg.load_standin(prof, args.n_unlabeled, args.standin_seed)
    print(f"stand-in: {time.time() - t0:.0f} s", flush=True)
    n = args.n_unlabeled
    task = seg.build_tasks(corpus, n, seed=args.standin_seed)[n]
    control = seg.build_tasks(corpus, n, False, seed=args.standin_seed)[n] if args.control else None
    names = args.methods.split(",") + (["mm_student_noreg"] if args.noreg else [])
    per_class: dict[str, np.ndarray] = {}  # the last seed's per-class IoU of each model
    scores: dict[str, list] = {m: [] for m in ["um_teacher", "teacher_on_D_l", "pseudo_D_u", *names, "control", "mm_student"]}
    for s in (int(v) for v in args.seeds.split(",")):
        t1 = time.time()
        if args.teacher_T:  # the teacher as a regularised model of D_l's true labels
            um_teacher = replace(METHODS["um_teacher"], regularised=True)
            teacher = train_student(task, um_teacher, seg.model_factory(prof, args.teacher_arch), None,
                                    prof.teacher_cfg(), seg.transform_for(um_teacher, prof.scale), s, "cpu").eval()
        else:
            teacher = train_teacher(task, seg.model_factory(prof, args.teacher_arch), prof.teacher_cfg(), s, "cpu",
                                    checkpoint=True)
        m, per_class["um_teacher"] = seg.miou(teacher, task, METHODS["um_teacher"])
        scores["um_teacher"].append(m)
        scores["teacher_on_D_l"].append(seg.miou(teacher, task, METHODS["um_teacher"], split="D_l")[0])
        pseudo = pseudo_label(teacher, task.inputs("D_u", ("rgb",)), soft=not args.hard, kind=DENSE, batch_size=64)
        scores["pseudo_D_u"].append(seg.pseudo_miou(pseudo, task))
        print(f"seed {s} teacher {scores['um_teacher'][-1]:.2f} (on its own D_l {scores['teacher_on_D_l'][-1]:.2f}), "
              f"its D_u labels {scores['pseudo_D_u'][-1]:.2f} "
              f"({time.time() - t1:.0f} s)", flush=True)
        for name, t in [(m, task) for m in names] + ([("control", control)] if control is not None else []):
            t1 = time.time()
            method = METHODS["mm_student" if name == "control" else name]
            student = train_student(t, method, seg.model_factory(prof, args.teacher_arch), pseudo,
                                    student_cfg, seg.transform_for(method, prof.scale), s, "cpu",
                                    confidence_weighting=args.cw)
            m, per_class[name] = seg.miou(student, t, method)
            scores[name].append(m)
            print(f"seed {s} {name}: {scores[name][-1]:.2f} ({time.time() - t1:.0f} s)", flush=True)
    print(f"\nstand-in seed {args.standin_seed}, knobs {knobs}, profile {prof}, dropout {seg.FEATURE_DROPOUT}, "
          f"photometric {seg.PHOTOMETRIC}, RGB drop {seg.RGB_DROP}, {'hard' if args.hard else 'soft'} labels, "
          f"weighting {args.cw}, teacher T {args.teacher_T}, NOISY input noise {seg.NOISY_INPUT} "
          f"({'every regularised student' if args.noise_all else 'NOISY student only'}), {time.time() - t0:.0f} s")
    for m, v in scores.items():
        if v:
            print(f"{m:18s} mIoU {np.round(v, 2)}")
    mm = np.array(scores["mm_student"])
    for other in ("um_teacher", "noisy_student", "um_student", "control"):
        if scores.get(other) and len(mm) == len(scores[other]):
            print(f"MM - {other:14s} {np.round(mm - np.array(scores[other]), 2)}")
    if args.per_class:
        import pandas as pd

        from mke.data.nyuv2 import CLASSES_40

        frame = pd.DataFrame(per_class, index=list(CLASSES_40)).round(1)
        print(frame[frame.notna().any(axis=1)].to_string())


if __name__ == "__main__":
    main()
