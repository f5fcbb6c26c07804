"""The loss and gradients of Eq. (17) for an :class:`~mke.models.EnsembleMLP`, backward pass by hand.

TwoMoon's students are tiny (1-2 inputs, 16-32 hidden units, 270 points), so on a CPU autograd's
step goes mostly to bookkeeping, to fresh tensors for every intermediate, and to the output
layer's shape: ``[E, N, 2]`` logits make a GEMM with two output columns and a softmax over rows
of two, both several times slower than the same arithmetic laid out class-major. Here one step
is written out, into buffers that live as long as the fit, with the output layer class-major
(``o^T = W3^T h2^T``, ``[E, K, N]``). :func:`mke.train.fit` uses it for ensembles on the CPU
and leaves the optimizer (SGD, momentum, Adam, schedules) to torch, as for any model.

Forward, as :meth:`EnsembleMLP.forward` with T (every member at once)::

    x0 = T1(x)     z1 = x0 W1 + b1     h1 = T3(relu(z1))     n1 = h1 + v1 mean(h1) eps   (T2)
                   z2 = n1 W2 + b2     h2 = T3(relu(z2))     o  = h2 W3 + b3

Backward, starting from Eq. (19), ``d l_cls / d o = softmax(o) - y_tilde`` (times ``omega_i / M``
for Eq. 16, summed over members as :func:`mke.losses.reduce_mean` does)::

    dW3 = h2^T g_o                g_z2 = g_o W3^T  * [h2 > 0] / q2
    dW2 = n1^T g_z2               g_n1 = g_z2 W2^T
    g_h1 = g_n1 + v1 / (N H) * <g_n1, eps>        (T2's scale mean(h1) is not detached)
    dW1 = x0^T (g_h1 * [h1 > 0] / q1)             db = the row sums of the same

where ``[h > 0]`` is zero for dropped units (``q`` is the keep probability of T3). The noise is
drawn in the same order, shapes and way as the autograd path (:func:`mke.transforms.dropout`,
``torch.randn``), so with one generator both paths train the same models;
``tests/test_fused.py`` checks them against each other for every piece of T.
"""
from __future__ import annotations

import torch

from mke.losses import l_cls, reduce_mean
from mke.models import EnsembleMLP
from mke.transforms import Transform, _is_zero, _mean_abs, keep_threshold, random_lanes

_threshold_backward = torch.ops.aten.threshold_backward.grad_input  # g * [h > 0], one pass, into out


def applies(model: torch.nn.Module, T: Transform | None, form: str, device: torch.device) -> bool:
    """Whether :class:`HandBackward` computes what ``mke_objective(...).backward()`` would."""
    if not isinstance(model, EnsembleMLP) or device.type != "cpu":
        return False  # on CUDA the autograd path runs, with AMP
    if T is None or T.is_identity:
        return True
    return form == "eq17" and T.augment is None and T.geometric is None and T.ensemble


class HandBackward:
    """Computes Eq. (17)'s loss gradients into ``p.grad`` for every parameter of an EnsembleMLP."""

    def __init__(self, model: EnsembleMLP, T: Transform | None):
        self.model = model
        self.T = T = None if T is None or T.is_identity else T
        # which pieces of T are on, and T3's thresholds, fixed for the fit
        self.T1 = T is not None and not _is_zero(T.input_noise)
        self.T2 = T is not None and not _is_zero(T.hidden_noise)
        self._keep = keep_threshold(T.dropout) if T is not None and not _is_zero(T.dropout) else None
        self._buffers: dict = {}
        self.grads = [torch.empty_like(p) for p in model.parameters()]  # W1, b1, W2, b2, W3, b3

    def _buffer(self, name: str, shape, dtype: torch.dtype | None = None) -> torch.Tensor:
        """A tensor kept for the whole fit (fresh ones would cost page faults every step)."""
        dtype = dtype or self.model.W1.dtype
        key = (name, tuple(shape), dtype)
        if key not in self._buffers:
            self._buffers[key] = torch.empty(shape, dtype=dtype)
        return self._buffers[key]

    def _drop(self, h: torch.Tensor, name: str):
        """T3 on ``h`` in place, with the masks of :func:`mke.transforms.dropout`; returns 1/q."""
        threshold, scale = self._keep
        words = self._buffer(f"{name}_words", ((h.numel() + 3) // 4,), torch.int64)
        lanes = random_lanes(h.shape, self.T.generator, words=words)
        kept = torch.sub(threshold, lanes, out=self._buffer(f"{name}_kept", h.shape))  # > 0 where kept
        _threshold_backward(h, kept, 0, grad_input=h)  # h where kept, else 0
        h.mul_(scale)
        return scale

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None,
                 want_loss: bool = False) -> torch.Tensor | None:
        """One forward and backward on a batch; sets ``p.grad``. Returns the loss if ``want_loss``.

        ``x``: ``[N, d]`` shared by the members or ``[E, N, d]``; ``y``: ``[E, N]`` class indices
        or ``[E, N, K]`` distributions; ``weight``: ``[E, N]`` (Eq. 16) or None.
        """
        m, T = self.model, self.T
        W1, b1, W2, b2, W3, b3 = m.W1, m.b1, m.W2, m.b2, m.W3, m.b3
        E, H, K = W1.shape[0], W1.shape[2], W3.shape[2]
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(E, -1, -1)
        N = x.shape[1]

        # forward
        x0 = T.perturb_input(x) if self.T1 else x
        h1 = torch.bmm(x0, W1, out=self._buffer("h1", (E, N, H))).add_(b1).relu_()
        q1 = self._drop(h1, "drop1") if self._keep is not None else None
        n1, eps, v1 = h1, None, None
        if self.T2:
            v1 = T.hidden_noise
            eps = self._buffer("eps", (E, N, H)).normal_(generator=T.generator)
            scale = v1 * _mean_abs(h1, ensemble=True, nonnegative=True)  # as relative_noise, keeping eps
            n1 = torch.addcmul(h1, scale, eps, out=self._buffer("n1", (E, N, H)))
        h2 = torch.bmm(n1, W2, out=self._buffer("h2", (E, N, H))).add_(b2).relu_()
        q2 = self._drop(h2, "drop2") if self._keep is not None else None
        W3T = W3.mT.contiguous()  # [E, K, H]: a contiguous left factor halves this GEMM's time
        o = torch.bmm(W3T, h2.mT, out=self._buffer("o", (E, K, N))).add_(b3.mT)  # class-major
        out = o.softmax(1) if m.softmax_head else o  # the paper-compat head, fed to l_cls as logits

        # Eq. (19): the gradient of l_cls in its logits is softmax - y_tilde
        hard = not torch.is_floating_point(y)
        g = out.softmax(1)
        if hard:
            g.scatter_add_(1, y.unsqueeze(1), self._buffer("minus_one", (E, 1, N)).fill_(-1.0))
        else:
            yT = y.movedim(-1, 1)
            g.mul_(yT.sum(1, keepdim=True)).sub_(yT)  # softmax * sum(y) - y; sum(y) = 1 for a distribution
        g.mul_(1.0 / N if weight is None else weight.unsqueeze(1) / N)
        if m.softmax_head:  # back through the head's softmax: q * (g - sum_k q g)
            g = out * (g - (out * g).sum(1, keepdim=True))
        loss = None
        if want_loss:
            loss = reduce_mean(l_cls(out, y if hard else y.movedim(-1, 1), class_dim=1), weight, ensemble=True)

        # backward (the Eq. 19 gradient through the layers)
        dW1, db1, dW2, db2, dW3, db3 = self.grads
        dW3.copy_(torch.bmm(g, h2, out=self._buffer("dW3T", (E, K, H))).mT)  # [E, K, H]: the fast shape
        torch.sum(g, 2, out=db3.view(E, K))
        g_h = torch.bmm(g.mT, W3T, out=self._buffer("g_h2", (E, N, H)))
        _threshold_backward(g_h, h2, 0, grad_input=g_h)  # relu and T3: zero where h2 == 0
        if q2 is not None:
            g_h.mul_(q2)
        torch.bmm(n1.mT, g_h, out=dW2)
        torch.sum(g_h, 1, keepdim=True, out=db2)
        g_h = torch.bmm(g_h, W2.mT, out=self._buffer("g_h1", (E, N, H)))
        if eps is not None:  # T2's scale v1 * mean(h1) depends on h1: d mean / d h1 = 1 / (N H)
            dot = torch.bmm(g_h.view(E, 1, -1), eps.view(E, -1, 1))
            g_h.add_(dot.mul_(v1 / (N * H)))
        _threshold_backward(g_h, h1, 0, grad_input=g_h)
        if q1 is not None:
            g_h.mul_(q1)
        torch.bmm(x0.mT, g_h, out=dW1)
        torch.sum(g_h, 1, keepdim=True, out=db1)
        for p, grad in zip(m.parameters(), self.grads):
            p.grad = grad
        return loss
