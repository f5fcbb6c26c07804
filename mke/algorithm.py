"""Algorithm 1 (multimodal knowledge expansion), one step a function.

1. :func:`train_teacher`  - Eq. (1): a unimodal teacher on D_l (modality alpha).
2. :func:`pseudo_label`   - Eq. (2): the teacher labels D_u, hard or soft, in batches, cached by teacher.
3. :func:`train_student`  - Eq. (3)-(5) or Eq. (17): a student on the pseudo-labelled D_u.

:func:`expand` runs all three, and iterates (the student becomes the next teacher) for
``generations`` rounds. Every step works for each task kind (:mod:`mke.kinds`) and for splits
in memory or streamed from a Dataset; random streams come from :mod:`mke.seeds`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from mke import seeds
from mke.cache import cached, checkpoint_or_train, fingerprint
from mke.compact import TopK, TopKWriter
from mke.kinds import SINGLE_LABEL, TaskKind
from mke.methods import METHODS, Method
from mke.train import TrainConfig, fit, predict, predict_batches
from mke.train import evaluate as stream_evaluate
from mke.transforms import Transform

ModelFactory = Callable[[Method, int], torch.nn.Module]  # (method, seed) -> model


@dataclass
class PseudoLabels:
    """y_tilde of Eq. (2): the teacher's class probabilities on D_u, used hard or soft.

    ``proba`` is ``[N, K]`` (single- or multi-label), ``[N, K, H, W]`` (dense, kept in float16)
    or a :class:`mke.compact.TopK` (dense, the top-k classes per pixel, possibly memory-mapped
    from disk); :attr:`nbytes` says how much it takes. ``proba[i]`` is item ``i``'s distribution.
    """

    proba: torch.Tensor | TopK
    soft: bool = False
    kind: TaskKind = SINGLE_LABEL

    def _dense(self) -> torch.Tensor:
        return self.proba.dense() if isinstance(self.proba, TopK) else self.proba

    @property
    def hard(self) -> torch.Tensor:
        if isinstance(self.proba, TopK):
            return self.proba.hard()
        return self.kind.hard(self.proba)

    @property
    def targets(self) -> torch.Tensor:
        return self._dense() if self.soft else self.hard

    def weight(self) -> torch.Tensor:
        """omega(x) of Eq. (15), from the teacher's probabilities: per sample, or per pixel."""
        return self.kind.confidence(self._dense())

    @property
    def nbytes(self) -> int:
        if isinstance(self.proba, TopK):
            return self.proba.nbytes
        return self.proba.numel() * self.proba.element_size()

    def __len__(self) -> int:
        return len(self.proba)


def _roles(method: Method, seed: int, device) -> tuple[torch.Generator, torch.Generator, torch.Generator]:
    """The data-order, noise and augmentation generators of one role and seed (mke.seeds)."""
    return (seeds.generator(seed, method.name, "data"), seeds.generator(seed, method.name, "noise", device),
            seeds.generator(seed, method.name, "augment"))


def _seeded_T(T: Transform | None, method: Method, seed: int, device) -> Transform | None:
    if T is None or T.generator is not None:
        return T
    _, noise, augment = _roles(method, seed, device)
    return T.with_generator(noise, augment)


def train_teacher(task, make_model: ModelFactory, cfg: TrainConfig, seed: int,
                  device: torch.device | str = "cpu", method: Method = METHODS["um_teacher"],
                  checkpoint: bool = False):
    """Eq. (1): argmin (1/N) sum l_cls(y_i, f_t(x_i^alpha)) over D_l.

    ``checkpoint=True`` reuses a cached state_dict keyed by the data, config, seed, architecture
    and initial weights (worth it for the larger chapters' teachers).
    """
    teacher = make_model(method, seed).to(device)
    data_order, _, _ = _roles(method, seed, device)
    if task.streamed("D_l"):
        data = StudentDataset(task, method, None)
        key = ("teacher", task.name, repr(task.info), task.size("D_l"), repr(cfg), seed, repr(teacher),
               teacher.state_dict())
        checkpoint_or_train(teacher, key, lambda m: fit(m, data, None, cfg, generator=data_order, desc="teacher",
                                                        kind=task.kind), enabled=checkpoint)
    else:
        x, y = task.inputs("D_l", method.modalities(task)), task.labels("D_l")
        key = ("teacher", x, y, repr(cfg), seed, repr(teacher), getattr(teacher, "softmax_head", None),
               teacher.state_dict())
        checkpoint_or_train(teacher, key, lambda m: fit(m, x, y, cfg, generator=data_order, desc="teacher",
                                                        kind=task.kind), enabled=checkpoint)
    teacher.eval()
    return teacher


def _proba(teacher, out: torch.Tensor, kind: TaskKind) -> torch.Tensor:
    return kind.proba(out, already_proba=getattr(teacher, "softmax_head", False))


def pseudo_label(teacher: torch.nn.Module, x, soft: bool = False, use_cache: bool = True,
                 kind: TaskKind = SINGLE_LABEL, batch_size: int = 256) -> PseudoLabels:
    """Eq. (2): y_tilde_i = f_t(x_i^alpha), ``batch_size`` samples per forward pass; cached on
    disk, keyed by the teacher's state_dict and x. ``x`` is a tensor or a dict of modalities."""
    key = fingerprint(teacher.state_dict(), x, getattr(teacher, "softmax_head", False), kind.name)

    def compute():
        return kind.store(_proba(teacher, predict(teacher, x, batch_size), kind)).contiguous()

    with torch.no_grad():
        teacher.eval()
        proba = cached(key, compute, enabled=use_cache)
    return PseudoLabels(proba, soft, kind)


@torch.no_grad()
def pseudo_label_split(teacher: torch.nn.Module, task, split: str = "D_u", soft: bool = False,
                       batch_size: int = 16, modalities=None, top_k: int | None = None,
                       folder=None) -> PseudoLabels:
    """Eq. (2) over a split, batch by batch; only the compact labels are kept.

    Dense tasks keep float16 maps, or with ``top_k`` the k most probable classes per pixel
    (:class:`mke.compact.TopK`), written into memory-mapped files under ``folder`` when given:
    then pseudo-labelling holds one batch in memory, whatever the split's size.
    """
    modalities = modalities or METHODS["um_teacher"].modalities(task)
    if not task.streamed(split) and top_k is None:
        return pseudo_label(teacher, task.inputs(split, modalities), soft, kind=task.kind)
    if top_k is not None and task.kind.name != "dense":
        raise ValueError(f"top_k applies to dense tasks; task {task.name!r} is {task.kind.name}")
    parts, writer = [], None
    for out, _ in predict_batches(teacher, task.batches(split, modalities, batch_size)):
        proba = _proba(teacher, out, task.kind)
        if top_k is None:
            parts.append(task.kind.store(proba))
            continue
        if writer is None:
            writer = TopKWriter(task.size(split), top_k, proba.shape[1], tuple(proba.shape[2:]), folder)
        writer.add(proba)
    return PseudoLabels(writer.finish() if writer is not None else torch.cat(parts), soft, task.kind)


class StudentDataset(torch.utils.data.Dataset):
    """A method's training set over streamed splits: items ``(x, target, weight)``.

    D_l items carry true labels; D_u items the teacher's pseudo labels (or true ones for the
    supervised upper bound), with omega (Eq. 15) as weight when ``confidence_weighting``.
    """

    def __init__(self, task, method: Method, pseudo: PseudoLabels | None, confidence_weighting: bool = False,
                 train_on=None):
        self.task, self.method, self.pseudo = task, method, pseudo
        self.confidence_weighting = confidence_weighting
        self.modalities = method.modalities(task)
        self.parts = [(s, task.size(s)) for s in (train_on or method.train_on)]
        if method.needs_teacher and pseudo is None and method.targets != "true":
            raise ValueError(f"method {method.name!r} trains on pseudo labels; pass the teacher's")

    def __len__(self):
        return sum(n for _, n in self.parts)

    def __getitem__(self, index):
        i = index
        for split, n in self.parts:
            if i < n:
                break
            i -= n
        else:
            raise IndexError(f"index {index} out of range for {len(self)} items")
        item = self.task.splits[split][i]
        x = ({m: item[m] for m in self.modalities} if not self.task.concat
             else torch.cat([item[m] for m in self.modalities], dim=-1))
        kind, soft = self.task.kind, self.pseudo is not None and self.pseudo.soft
        if split == "D_l" or self.method.targets == "true":
            # one_hot on a batch of one: a dense label map's class axis goes first, as in proba[i]
            y = kind.one_hot(item["y"].unsqueeze(0), self.task.num_classes)[0] if soft else item["y"]
            w = torch.ones(item["y"].shape if kind.name == "dense" else ())
        else:
            proba = self.pseudo.proba[i]
            y = proba if soft else kind.hard(proba.unsqueeze(0))[0]
            w = (kind.confidence(proba.unsqueeze(0))[0] if self.confidence_weighting
                 else torch.ones(y.shape[-2:] if kind.name == "dense" else ()))
        return x, y, (w if self.confidence_weighting else None)


def student_data(task, method: Method, pseudo: PseudoLabels | None, confidence_weighting: bool = False):
    """Inputs, targets and per-item weights for ``method`` (the method table of mke.methods).

    Targets are class indices, or distributions when the pseudo labels are soft (true labels
    then become one-hot, which leaves the loss unchanged). Weights are per sample, or per pixel
    for a dense task.
    """
    modalities = method.modalities(task)
    kind = task.kind
    soft = pseudo is not None and pseudo.soft
    xs, ys, ws = [], [], []
    for split in method.train_on:
        xs.append(task.inputs(split, modalities))
        true_labels = split == "D_l" or method.targets == "true"
        if true_labels:
            y = task.labels(split)
            ys.append(kind.one_hot(y, task.num_classes) if soft else y)
            ws.append(torch.ones(y.shape if kind.name == "dense" else y.shape[:1]))
        else:
            if pseudo is None:
                raise ValueError(f"method {method.name!r} trains on pseudo labels; pass the teacher's")
            targets = pseudo.targets
            ys.append(targets.float() if soft else targets)
            ws.append(pseudo.weight() if confidence_weighting else torch.ones(pseudo.weight().shape))
    weight = torch.cat(ws) if confidence_weighting else None
    x = {m: torch.cat([xi[m] for xi in xs]) for m in xs[0]} if isinstance(xs[0], dict) else torch.cat(xs)
    return x, torch.cat(ys), weight


def train_student(task, method: Method, make_model: ModelFactory, pseudo: PseudoLabels | None,
                  cfg: TrainConfig, T: Transform | None, seed: int, device: torch.device | str = "cpu",
                  confidence_weighting: bool = False):
    """Eq. (3)-(5) (``cfg.form='eq3'``) or Eq. (17) (``'eq17'``) for one student and seed.

    The student's data order, T's noise and its augmentations come from the streams of
    :mod:`mke.seeds` for ``(seed, method.name)``, unless ``T`` brings its own generator.
    """
    student = make_model(method, seed).to(device)
    data_order, _, _ = _roles(method, seed, device)
    T = _seeded_T(T if method.regularised else None, method, seed, device)
    desc = f"{method.name} seed {seed}"
    if any(task.streamed(s) for s in method.train_on):
        data = StudentDataset(task, method, pseudo, confidence_weighting)
        fit(student, data, None, cfg, T=T, generator=data_order, desc=desc, kind=task.kind)
    else:
        x, y, w = student_data(task, method, pseudo, confidence_weighting)
        fit(student, x, y, cfg, T=T, weight=w, generator=data_order, desc=desc, kind=task.kind)
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
        pseudo = pseudo_label_split(labeller, task, "D_u", soft, modalities=labeller_inputs)
        student = train_student(task, METHODS["mm_student"], make_model, pseudo, student_cfg, T, seed, device)
        students.append(student)
        labels.append(pseudo)
        labeller, labeller_inputs = student, METHODS["mm_student"].modalities(task)
    return {"teacher": teacher, "students": students, "pseudo_labels": labels}


def evaluate(model: torch.nn.Module, task, method: Method, split: str, metric) -> float:
    """Score ``model`` on ``split`` batch by batch: ``metric`` is a metric object
    (``update``/``compute``, :mod:`mke.metrics`) or a function ``fn(outputs, y)``."""
    modalities = method.modalities(task)
    if hasattr(metric, "update"):
        return float(stream_evaluate(model, task.batches(split, modalities), metric))
    return float(metric(predict(model, task.inputs(split, modalities)), task.labels(split)))
