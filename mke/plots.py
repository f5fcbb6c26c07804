"""Figures: TwoMoon (Figures 3-4, sweeps) and emotion recognition (faces, MFCCs, Figure 6)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Circle

from mke.train import predict

RED, BLUE = "#d62728", "#1f77b4"
CLASS_CMAP = ListedColormap([RED, BLUE])


def style() -> None:
    sns.set_theme(style="white", context="notebook")


def _grid(X: np.ndarray, h: float = 0.02, pad: float = 0.5):
    x_min, x_max = X[:, 0].min() - pad, X[:, 0].max() + pad
    y_min, y_max = X[:, 1].min() - pad, X[:, 1].max() + pad
    return np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))


def _finish(ax, title: str, score: float | None = None) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(r"$x^\alpha$ (X)")
    ax.set_ylabel(r"$x^\beta$ (Y)")
    ax.set_xticks([])
    ax.set_yticks([])
    sns.despine(ax=ax, left=True, bottom=True)
    if score is not None:
        ax.text(0.97, 0.04, f"{score:.2f}", transform=ax.transAxes, ha="right", va="bottom", fontsize=13,
                bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"))


def plot_problem(ax, task) -> None:
    """Figure 3a: D_l (large dots; only X is known to the teacher) and D_u (small dots)."""
    Xl, yl = task.inputs("D_l", task.modalities).numpy(), task.labels("D_l").numpy()
    Xu, yu = task.inputs("D_u", task.modalities).numpy(), task.labels("D_u").numpy()
    ax.scatter(Xu[:, 0], Xu[:, 1], c=yu, cmap=CLASS_CMAP, s=12, alpha=0.25)
    ax.scatter(Xl[:, 0], Xl[:, 1], c=yl, cmap=CLASS_CMAP, s=90, edgecolors="k")
    _finish(ax, "(a) the problem: labeled $D_l$ (large), unlabeled $D_u$")


def plot_boundary(ax, model: torch.nn.Module, task, modalities, title: str, score: float | None = None,
                  labels: torch.Tensor | None = None) -> None:
    """Decision regions of ``model`` over the plane, D_u coloured by ``labels`` (default: truth)."""
    X = task.inputs("D_u", task.modalities).numpy()
    xx, yy = _grid(X)
    grid = torch.tensor(np.c_[xx.ravel(), yy.ravel()], dtype=torch.float32)
    if tuple(modalities) == (task.modalities[0],):
        grid = grid[:, :1]
    Z = predict(model, grid).argmax(-1).cpu().numpy().reshape(xx.shape)
    ax.contourf(xx, yy, Z, cmap=CLASS_CMAP, alpha=0.18)
    c = (labels if labels is not None else task.labels("D_u")).numpy()
    ax.scatter(X[:, 0], X[:, 1], c=c, cmap=CLASS_CMAP, s=12, alpha=0.55)
    _finish(ax, title, score)


def plot_transformation_space(ax, task, pseudo_hard: torch.Tensor, a: int, b: int, c: int, radius: float) -> None:
    """Figure 4: A's 1-D neighbourhood (a UM student only sees X: a vertical band) against
    its 2-D neighbourhood (the MM student sees X and Y: a disc)."""
    X = task.inputs("D_u", task.modalities).numpy()
    ax.scatter(X[:, 0], X[:, 1], c=pseudo_hard.numpy(), cmap=CLASS_CMAP, s=12, alpha=0.3)
    ax.axvspan(X[a, 0] - radius, X[a, 0] + radius, color=RED, alpha=0.12, label="UM student: 1-D space of A")
    ax.add_patch(Circle(X[a], radius, fill=False, color=RED, lw=2, label="MM student: 2-D space of A"))
    for idx, name in ((a, "A"), (b, "B"), (c, "C")):
        ax.scatter(*X[idx], s=160, c="white", edgecolors="k", zorder=3)
        ax.annotate(name, X[idx], textcoords="offset points", xytext=(8, 6), fontsize=13, weight="bold")
    ax.set_aspect("equal")  # the 2-D neighbourhood is a disc, not an ellipse
    ax.legend(loc="upper right", fontsize=8, frameon=True)
    _finish(ax, "Transformation space of A (points coloured by pseudo label)")


def plot_sweep(ax, levels, means: dict, stds: dict, ylabel: str, title: str) -> None:
    """Mean +- std over seeds against regularisation strength, one line per method."""
    for label, m in means.items():
        m, s = np.asarray(m), np.asarray(stds[label])
        ax.plot(levels, m, marker="o", label=label)
        ax.fill_between(levels, m - s, m + s, alpha=0.15)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    sns.despine(ax=ax)


def show(fig=None) -> None:
    if fig is not None:
        fig.tight_layout()
    plt.show()


def plot_faces(axes, images: np.ndarray, titles: list[str]) -> None:
    """One frame per panel (the stand-in's or RAVDESS's faces), grey, no axes."""
    for ax, img, title in zip(axes, images, titles):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")


def plot_mfcc(ax, mfcc: np.ndarray, title: str) -> None:
    ax.imshow(mfcc, aspect="auto", origin="lower", cmap="magma")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("frame")
    ax.set_ylabel("MFCC")


def plot_confusion(ax, cm: np.ndarray, labels, title: str, cbar: bool = False) -> None:
    """A row-normalised confusion matrix (Figure 6): rows are true classes, columns predictions."""
    sns.heatmap(cm, ax=ax, vmin=0, vmax=1, cmap="Blues", annot=True, fmt=".2f", annot_kws={"fontsize": 7},
                xticklabels=labels, yticklabels=labels, cbar=cbar, square=True)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.tick_params(labelsize=8)


def plot_recall_change(ax, labels, change_mean: np.ndarray, change_std: np.ndarray, title: str) -> None:
    """Per-class recall change (points) with the spread over seeds."""
    colors = [BLUE if c >= 0 else RED for c in change_mean]
    ax.bar(range(len(labels)), change_mean, yerr=change_std, color=colors, capsize=3)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("recall change (points)")
    ax.set_title(title, fontsize=10)
    sns.despine(ax=ax)


def plot_mke_diagram(ax) -> None:
    """The paper's Figure 2 as a diagram: a unimodal teacher trained on D_l labels D_u, and a
    multimodal student learns from those pseudo labels under T (Algorithm 1)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4.2)
    ax.axis("off")
    boxes = {  # name: (x, y, w, h, text, colour)
        "dl": (0.1, 2.5, 2.2, 1.2, "$D_l$ (labeled)\n$(x^\\alpha, y)$", "#dbe9f6"),
        "teacher": (3.1, 2.5, 2.0, 1.2, "UM teacher\n$f_t(x^\\alpha)$", "#f6e3c8"),
        "du": (0.1, 0.4, 2.2, 1.2, "$D_u$ (unlabeled)\n$(x^\\alpha, x^\\beta)$", "#dbe9f6"),
        "pseudo": (3.1, 0.4, 2.0, 1.2, "pseudo labels\n$\\tilde y = f_t(x^\\alpha)$", "#eeeeee"),
        "student": (6.0, 0.4, 2.4, 1.2, "MM student\n$f_s(x^\\alpha, x^\\beta)$\nunder $\\mathcal{T}$", "#d5ecd4"),
    }
    for x, y, w, h, text, colour in boxes.values():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=colour, ec="#555555"))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)

    def arrow(a, b, label="", dy=0.0):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color="#333333"))
        if label:
            ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.15 + dy, label, ha="center", fontsize=8)

    arrow((2.35, 3.1), (3.05, 3.1), "train (1)")
    arrow((4.1, 2.45), (4.1, 1.65), "")
    ax.text(4.2, 2.05, "label $x^\\alpha$ (2)", fontsize=8)
    arrow((2.35, 1.0), (3.05, 1.0), "")
    arrow((5.15, 1.0), (5.95, 1.0), "train (3)")
    ax.annotate("", xy=(7.2, 1.65), xytext=(2.3, 1.65), arrowprops=dict(arrowstyle="-|>", color="#999999",
                                                                        connectionstyle="arc3,rad=-0.25"))
    ax.text(5.6, 2.25, "$x^\\beta$: seen only by the student", fontsize=8, color="#666666")
    ax.text(8.55, 1.0, "beats\nits teacher?", fontsize=9, va="center")
