"""Algorithm 1 (multimodal knowledge expansion), one step a function.

1. :func:`train_teacher`  - Eq. (1): a unimodal teacher on D_l (modality alpha).
2. :func:`pseudo_label`   - Eq. (2): the teacher labels D_u, hard or soft, cached by teacher.
3. :func:`train_student`  - Eq. (3)-(5) or Eq. (17): a student on the pseudo-labelled D_u.

:func:`expand` runs all three, and iterates (the student becomes the next teacher) for
``generations`` rounds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from mke.cache import cached, checkpoint_or_train, fingerprint
from mke.losses import confidence_weight
from mke.methods import METHODS, Method
from mke.train import TrainConfig, fit, predict, to_device
from mke.transforms import Transform

ModelFactory = Callable[[Method, int], torch.nn.Module]  # (method, seed) -> model


@dataclass
class PseudoLabels:
    """y_tilde of Eq. (2): the teacher's class probabilities on D_u, used hard or soft."""

    proba: torch.Tensor  # [N, K]
    soft: bool = False

    @property
    def hard(self) -> torch.Tensor:
        return self.proba.argmax(-1)

    @property
    def targets(self) -> torch.Tensor:
        return self.proba if self.soft else self.hard

    def weight(self) -> torch.Tensor:
        """omega(x) of Eq. (15), from the teacher's probabilities."""
        return confidence_weight(self.proba)


def train_teacher(task, make_model: ModelFactory, cfg: TrainConfig, seed: int,
                  device: torch.device | str = "cpu", method: Method = METHODS["um_teacher"],
                  checkpoint: bool = False):
    """Eq. (1): argmin (1/N) sum l_cls(y_i, f_t(x_i^alpha)) over D_l.

    ``checkpoint=True`` reuses a cached state_dict keyed by the data, config, seed and
    architecture (worth it for the larger chapters' teachers).
    """
    teacher = make_model(method, seed).to(device)
    x, y = task.inputs("D_l", method.modalities(task)), task.labels("D_l")
    key = ("teacher", x, y, repr(cfg), seed, repr(teacher), getattr(teacher, "softmax_head", None))
    checkpoint_or_train(teacher, key, lambda m: fit(m, x, y, cfg, desc="teacher"), enabled=checkpoint)
    teacher.eval()
    return teacher


def pseudo_label(teacher: torch.nn.Module, x, soft: bool = False, use_cache: bool = True) -> PseudoLabels:
    """Eq. (2): y_tilde_i = f_t(x_i^alpha); cached on disk, keyed by the teacher's state_dict and x."""
    key = fingerprint(teacher.state_dict(), x, getattr(teacher, "softmax_head", False))

    def compute():
        return teacher.predict_proba(to_device(x, next(teacher.parameters()).device)).detach().float().cpu()

    with torch.no_grad():
        teacher.eval()
        proba = cached(key, compute, enabled=use_cache)
    return PseudoLabels(proba, soft)


def student_data(task, method: Method, pseudo: PseudoLabels | None, confidence_weighting: bool = False):
    """Inputs, targets and per-sample weights for ``method`` (DESIGN.md's table).

    Targets are class indices, or distributions when the pseudo labels are soft (true labels
    then become one-hot, which leaves the cross entropy unchanged).
    """
    modalities = method.modalities(task)
    soft = pseudo is not None and pseudo.soft
    xs, ys, ws = [], [], []
    for split in method.train_on:
        xs.append(task.inputs(split, modalities))
        true_labels = split == "D_l" or method.targets == "true"
        if true_labels:
            y = task.labels(split)
            ys.append(torch.nn.functional.one_hot(y, task.num_classes).float() if soft else y)
            ws.append(torch.ones(len(y)))
        else:
            if pseudo is None:
                raise ValueError(f"method {method.name!r} trains on pseudo labels; pass the teacher's")
            ys.append(pseudo.targets)
            ws.append(pseudo.weight() if confidence_weighting else torch.ones(len(pseudo.proba)))
    weight = torch.cat(ws) if confidence_weighting else None
    x = {m: torch.cat([xi[m] for xi in xs]) for m in xs[0]} if isinstance(xs[0], dict) else torch.cat(xs)
    return x, torch.cat(ys), weight


def train_student(task, method: Method, make_model: ModelFactory, pseudo: PseudoLabels | None,
                  cfg: TrainConfig, T: Transform | None, seed: int, device: torch.device | str = "cpu",
                  confidence_weighting: bool = False):
    """Eq. (3)-(5) (``cfg.form='eq3'``) or Eq. (17) (``'eq17'``) for one student and seed."""
    x, y, w = student_data(task, method, pseudo, confidence_weighting)
    student = make_model(method, seed).to(device)
    fit(student, x, y, cfg, T=T if method.regularised else None, weight=w, desc=f"{method.name} seed {seed}")
    return student


def expand(task, make_model: ModelFactory, teacher_cfg: TrainConfig, student_cfg: TrainConfig,
           T: Transform, seed: int, teacher_seed: int | None = None, generations: int = 1,
           soft: bool = False, device: torch.device | str = "cpu") -> dict:
    """Algorithm 1 end to end; with ``generations > 1`` each MM student labels D_u for the next.

    Returns the teacher, the students of every generation and their pseudo labels.
    """
    if generations < 1:
        raise ValueError(f"generations must be >= 1, got {generations!r}")
    teacher = train_teacher(task, make_model, teacher_cfg, seed if teacher_seed is None else teacher_seed, device)
    labeller, labeller_inputs = teacher, METHODS["um_teacher"].modalities(task)
    students, labels = [], []
    for _ in range(generations):
        pseudo = pseudo_label(labeller, task.inputs("D_u", labeller_inputs), soft)
        student = train_student(task, METHODS["mm_student"], make_model, pseudo, student_cfg, T, seed, device)
        students.append(student)
        labels.append(pseudo)
        labeller, labeller_inputs = student, METHODS["mm_student"].modalities(task)
    return {"teacher": teacher, "students": students, "pseudo_labels": labels}


def evaluate(model: torch.nn.Module, task, method: Method, split: str, metric) -> float:
    return float(metric(predict(model, task.inputs(split, method.modalities(task))), task.labels(split)))
