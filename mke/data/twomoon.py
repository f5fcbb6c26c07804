"""TwoMoon exactly as the authors' code builds it.

``make_moons(500, noise=0.1, random_state=42)``, standardised, then
``train_test_split(test_size=0.4, random_state=42)`` (300 train / 200 test) and
``train_test_split(test_size=0.9, random_state=42)`` (30 labeled / 270 unlabeled).
Modality alpha is the X coordinate, beta the Y coordinate.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from mke.data.task import Task


def twomoon_arrays(n_samples: int = 500, moon_noise: float = 0.1, n_labeled: int = 30,
                   test_fraction: float = 0.4, random_state: int = 42):
    """The authors' arrays ``(X_l, y_l, X_u, y_u, X_t, y_t)``; defaults give 30 / 270 / 200."""
    X, y = make_moons(n_samples=n_samples, noise=moon_noise, random_state=random_state)
    X = StandardScaler().fit_transform(X)
    X_train, X_t, y_train, y_t = train_test_split(X, y, test_size=test_fraction, random_state=random_state)
    if not 2 <= n_labeled < len(X_train):
        raise ValueError(f"n_labeled must lie in [2, {len(X_train) - 1}], got {n_labeled!r}")
    # train_size=n_labeled, test_size=rest is the same permutation as the authors' test_size=0.9 at 30
    X_l, X_u, y_l, y_u = train_test_split(X_train, y_train, train_size=n_labeled,
                                          test_size=len(X_train) - n_labeled, random_state=random_state)
    return X_l, y_l, X_u, y_u, X_t, y_t


def twomoon_sampler(moon_noise: float = 0.1, n_samples: int = 500, random_state: int = 42):
    """Fresh draws from the TwoMoon distribution in the task's coordinates.

    Returns ``sample(n, seed) -> (X, y)``: ``make_moons`` with another random state, standardised
    with the scaler fitted on the task's own 500 points, so that samples and task share axes.
    ``sample.scaler`` and ``sample.moon_noise`` say how (the Bayes classifier needs both).
    """
    X0, _ = make_moons(n_samples=n_samples, noise=moon_noise, random_state=random_state)
    scaler = StandardScaler().fit(X0)

    def sample(n: int, seed: int):
        X, y = make_moons(n_samples=n, noise=moon_noise, random_state=seed)
        return scaler.transform(X), y

    sample.scaler = scaler  # the task's axes, for code that works in make_moons' own coordinates
    sample.moon_noise = moon_noise
    return sample


def _split(X: np.ndarray, y: np.ndarray) -> dict:
    X = torch.as_tensor(X, dtype=torch.float32)
    return {"alpha": X[:, :1].contiguous(), "beta": X[:, 1:].contiguous(),
            "y": torch.as_tensor(y, dtype=torch.long)}


def twomoon_task(moon_noise: float = 0.1, n_labeled: int = 30, n_samples: int = 500) -> Task:
    """TwoMoon as a :class:`Task`: D_l (labels of alpha only are used), D_u, test."""
    X_l, y_l, X_u, y_u, X_t, y_t = twomoon_arrays(n_samples, moon_noise, n_labeled)
    return Task("twomoon", {"D_l": _split(X_l, y_l), "D_u": _split(X_u, y_u), "test": _split(X_t, y_t)},
                info={"moon_noise": moon_noise, "n_labeled": n_labeled, "n_samples": n_samples})
