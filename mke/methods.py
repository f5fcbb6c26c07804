"""The methods of the paper's tables as data (docs/design.md): every row is the same recipe.

=================  ============  ===========  =====================  ==============
method             inputs        trained on   targets                T
=================  ============  ===========  =====================  ==============
um_teacher         alpha         D_l          true labels            none
um_student         alpha         D_u          teacher pseudo labels  T
noisy_student      alpha         D_l + D_u    true + pseudo          T (+ noise)
mm_student_noreg   alpha, beta   D_u          pseudo                 none
mm_student         alpha, beta   D_u          pseudo                 T
mm_student_sup     alpha, beta   D_u          true labels            T
=================  ============  ===========  =====================  ==============
"""
from __future__ import annotations

from dataclasses import dataclass

TARGETS = ("true", "pseudo", "true+pseudo")


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # as the paper prints it
    inputs: tuple[str, ...]  # "alpha", "beta": mapped to a task's modalities
    train_on: tuple[str, ...]  # "D_l", "D_u"
    targets: str  # "true", "pseudo" or "true+pseudo" (true on D_l, pseudo on D_u)
    regularised: bool  # whether T applies
    input_noise: bool = False  # NOISY student: extra input noise on top of T

    def __post_init__(self):
        if self.targets not in TARGETS:
            raise ValueError(f"Method.targets must be one of {TARGETS}, got {self.targets!r}")

    @property
    def multimodal(self) -> bool:
        """Sees both modalities (a network on beta alone, like a voice-only model, is unimodal)."""
        return len(self.inputs) > 1

    @property
    def needs_teacher(self) -> bool:
        return "pseudo" in self.targets

    def modalities(self, task) -> tuple[str, ...]:
        """The task's modality names this method sees."""
        alpha, beta = task.modalities
        return tuple(alpha if m == "alpha" else beta for m in self.inputs)


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("um_teacher", "UM teacher", ("alpha",), ("D_l",), "true", False),
    Method("um_student", "UM student", ("alpha",), ("D_u",), "pseudo", True),
    Method("noisy_student", "NOISY student", ("alpha",), ("D_l", "D_u"), "true+pseudo", True, input_noise=True),
    Method("mm_student_noreg", "MM student (no reg)", ("alpha", "beta"), ("D_u",), "pseudo", False),
    Method("mm_student", "MM student (ours)", ("alpha", "beta"), ("D_u",), "pseudo", True),
    Method("mm_student_sup", "MM student (sup)", ("alpha", "beta"), ("D_u",), "true", True),
)}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {sorted(METHODS)}")
    return METHODS[name]
