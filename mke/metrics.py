"""Metrics and the statistics of a metric over seeds."""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Top-1 accuracy in percent; ``logits`` ``[N, K]`` -> scalar, ``[E, N, K]`` -> ``[E]``."""
    pred = logits.argmax(-1).cpu()
    return (pred == y.cpu()).float().mean(-1) * 100.0


def summarize(values) -> dict:
    """Mean, sample standard deviation and a Student-t 95 % confidence interval of the mean."""
    v = np.asarray(list(values), dtype=float)
    n = len(v)
    if n == 0:
        raise ValueError("summarize() needs at least one value")
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "n_seeds": n, "ci95": [mean - half, mean + half],
            "values": [float(x) for x in v]}


def mean_std(values, signed: bool = False) -> str:
    """``"mean ± std"`` over seeds (sample std), two decimals; ``signed`` prints the mean's sign."""
    st = summarize(values)
    return f"{st['mean']:{'+' if signed else ''}.2f} ± {st['std']:.2f}"
