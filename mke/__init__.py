"""Multimodal Knowledge Expansion (Xue et al., ICCV 2021) as a small PyTorch library.

Algorithm 1 of the paper in three calls::

    teacher = train_model(...)                      # Eq. (1)
    y_tilde = pseudo_labels(teacher, x_alpha)       # Eq. (2)
    student = train_model(..., targets=y_tilde, T)  # Eq. (3)-(5) / Eq. (17)

Every row of the paper's tables is one :class:`~mke.methods.Method` (data, not code),
run by :func:`~mke.runner.run_methods` over many seeds.
"""

__version__ = "0.1.0"

from mke.runtime import resolve_device, seed_everything, environment  # noqa: E402,F401
from mke.transforms import Transform, T1, T2, T3  # noqa: E402,F401
from mke.methods import METHODS, Method  # noqa: E402,F401
