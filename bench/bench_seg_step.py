"""What one training step of a segmentation student costs, and what three of its parts saved.

At the book profile (24 x 32 frames, batch 16, 40 classes) a student's step spends much of its
time outside the convolutions: upsampling the logits, resampling the soft pseudo-label map for
T's joint scaling (``[16, 40, 24, 32]``) and Adam's update of 100+ parameter tensors. This prints, on one thread:

* the bilinear resampling of a soft map along both axes by batched GEMM (``mke.augment``, what
  the library does) against two gathers and a ``lerp`` per axis (what it did before);
* the decoder's bilinear upsampling of the logits to the frame (``[16, 40, 6, 8]`` to 24 x 32),
  forward and backward, by two GEMMs (``mke.seg_models.upsample``, what the library does) against
  ``F.interpolate`` (what it did before);
* Adam's step over the MM student's parameters, torch's fused kernel (``TrainConfig.fused_step``,
  the book profile's setting) against the loop over tensors;
* a whole MM and UM student step (T, forward, soft loss, backward, Adam), fused against looped,

as ratios new / old (below 1: faster). Run it on an otherwise idle machine:
``python bench/bench_seg_step.py``.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from mke import augment
from mke.algorithm import pseudo_label, train_student
from mke.experiments import segmentation as seg
from mke.kinds import DENSE
from mke.methods import METHODS
from mke.train import make_optimizer


def best_of(fn, repeat: int, number: int) -> float:
    """Seconds per call: the best of ``repeat`` runs of ``number`` calls (after a warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def gather_lerp(x, dim, axis):
    """The earlier bilinear path: gather the two source rows (or columns) of every channel, lerp."""
    low, high = augment._gather(x, dim, axis.low), augment._gather(x, dim, axis.high)
    shape = (x.shape[0], 1, -1, 1) if dim == 2 else (x.shape[0], 1, 1, -1)
    return torch.lerp(low, high, axis.frac.to(x.dtype).view(shape))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1, help="epochs of the whole-step comparison")
    args = ap.parse_args()
    torch.set_num_threads(1)
    prof = seg.PROFILE_SETTINGS["book"]
    n, h, w = prof.batch_size, prof.height, prof.width

    # 1. the soft map's resampling
    g = torch.Generator().manual_seed(0)
    soft = torch.softmax(torch.randn(n, seg.N_CLASSES, h, w, generator=g), 1)
    params = augment.JointScale(*prof.scale).draw(n, (h, w), g)
    rows = augment._axis(h, params.size[:, 0], params.offset[:, 0], h)
    cols = augment._axis(w, params.size[:, 1], params.offset[:, 1], w)
    def by_gemm():
        return augment._resample_axis(augment._resample_axis(soft, 2, rows, True), 3, cols, True)

    def by_gather():
        return gather_lerp(gather_lerp(soft, 2, rows), 3, cols)

    new, old = best_of(by_gemm, 5, 50), best_of(by_gather, 5, 50)
    same = torch.allclose(by_gemm(), by_gather(), atol=1e-6)
    print(f"soft map {tuple(soft.shape)} resampled: GEMM {new * 1e3:.2f} ms, gather + lerp {old * 1e3:.2f} ms, "
          f"ratio {new / old:.2f} (same values: {same})")

    # 2. the decoder's upsampling of the logits to the frame (forward + backward)
    from mke.seg_models import upsample

    logits = torch.randn(n, seg.N_CLASSES, h // 4, w // 4, generator=g, requires_grad=True)
    grad = torch.randn(n, seg.N_CLASSES, h, w, generator=g)

    def interpolate(t):
        return torch.nn.functional.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)

    def up_gemm():
        torch.autograd.grad(upsample(logits, (h, w)), logits, grad)

    def up_interpolate():
        torch.autograd.grad(interpolate(logits), logits, grad)

    new, old = best_of(up_gemm, 5, 50), best_of(up_interpolate, 5, 50)
    same = torch.allclose(upsample(logits, (h, w)), interpolate(logits), atol=1e-5)
    print(f"logits {tuple(logits.shape)} upsampled to {h} x {w}, forward + backward: GEMM {new * 1e3:.2f} ms, "
          f"F.interpolate {old * 1e3:.2f} ms, ratio {new / old:.2f} (same values: {same})")

    # 3. Adam's step alone
    model = seg.model_factory(prof)(METHODS["mm_student"], 0)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    steps = {}
    for fused in (False, True):
        opt = make_optimizer(model.parameters(), replace(prof.student_cfg(), fused_step=fused))
        steps[fused] = best_of(opt.step, 5, 20)
    print(f"Adam step over {len(list(model.parameters()))} tensors: fused {steps[True] * 1e3:.2f} ms, "
          f"looped {steps[False] * 1e3:.2f} ms, ratio {steps[True] / steps[False]:.2f}")

    # 4. whole steps: a student trained on its (stand-in) D_u with T, fused against looped Adam
    corpus = seg.load_standin(prof, 1488, seg.STANDIN_SEED + 1)
    task = seg.build_tasks(corpus, 1488, seed=seg.STANDIN_SEED + 1)[1488]
    teacher = seg.model_factory(prof)(METHODS["um_teacher"], 0).eval()
    pseudo = pseudo_label(teacher, task.inputs("D_u", ("rgb",)), soft=True, kind=DENSE, batch_size=64)
    n_steps = args.epochs * -(-task.size("D_u") // prof.batch_size)
    for name in ("mm_student", "um_student"):
        method, secs = METHODS[name], {}
        for fused in (False, True):
            cfg = replace(prof.student_cfg(), epochs=args.epochs, fused_step=fused)
            t0 = time.perf_counter()
            train_student(task, method, seg.model_factory(prof), pseudo, cfg, seg.transform_for(method, prof.scale),
                          0, "cpu")
            secs[fused] = (time.perf_counter() - t0) / n_steps
        print(f"{name} step: fused {secs[True] * 1e3:.1f} ms, looped {secs[False] * 1e3:.1f} ms, "
              f"ratio {secs[True] / secs[False]:.2f}")


if __name__ == "__main__":
    main()
