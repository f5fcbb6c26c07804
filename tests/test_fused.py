"""The hand-written backward pass (mke.fused) against autograd on the same draws.

Both paths draw T's noise from one generator in the same order, so they must give the same
gradients up to float rounding (the output layer is summed in another order): we allow a
relative 1e-5. Training for 200 steps must leave the same parameters to 1e-4.
"""
import pytest
import torch

from mke import fused
from mke.losses import mke_objective
from mke.models import EnsembleMLP
from mke.train import TrainConfig, fit
from mke.transforms import T1, T2, T3, Transform, stack_transforms

E, N = 4, 60
CASES = {
    "none": [Transform()] * E,
    "T1": [T1(1.0), T1(2.0), T1(0.0), T1(1.0)],
    "T2": [T2(5.0), T2(10.0), T2(5.0), T2(0.0)],
    "T3": [T3(0.4), T3(0.8), T3(0.0), T3(0.4)],
    "T1+T2+T3": [T1(1.0) + T2(5.0) + T3(0.4), T1(2.0) + T2(10.0) + T3(0.8)] * 2,
}


def _setup(in_dim=2, hidden=8, softmax_head=False, soft=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, in_dim, generator=g)
    y = torch.randint(0, 2, (E, N), generator=g)
    if soft:
        y = torch.softmax(torch.randn(E, N, 2, generator=g), -1)
    return EnsembleMLP.from_seeds(range(E), in_dim, hidden, softmax_head=softmax_head), x, y


def _T(case, seed=1):
    T = stack_transforms(CASES[case], "cpu", torch.Generator().manual_seed(seed))
    return None if T.is_identity else T


def _autograd_grads(model, x, y, T, weight=None):
    model.zero_grad(set_to_none=True)
    loss = mke_objective(model, x, y, T, weight=weight, ensemble=True)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("variant", ["hard", "soft", "weighted", "softmax_head", "per_member_x", "one_input"])
def test_gradients_match_autograd(case, variant):
    model, x, y = _setup(in_dim=1 if variant == "one_input" else 2, softmax_head=variant == "softmax_head",
                         soft=variant == "soft")
    weight = torch.rand(E, N) if variant == "weighted" else None
    if variant == "per_member_x":
        x = x.unsqueeze(0).expand(E, -1, -1) + 0.1 * torch.randn(E, N, x.shape[1])
    loss_a, grads_a = _autograd_grads(model, x, y, _T(case), weight)
    by_hand = fused.HandBackward(model, _T(case))
    loss_b = by_hand(x, y, weight, want_loss=True)
    assert loss_b.item() == pytest.approx(loss_a.item(), rel=1e-6)
    for name, a, p in zip(("W1", "b1", "W2", "b2", "W3", "b3"), grads_a, model.parameters()):
        assert torch.allclose(p.grad, a, rtol=1e-5, atol=1e-7), (case, variant, name)


@pytest.mark.parametrize("case", ["none", "T1+T2+T3"])
@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_training_matches_autograd(case, schedule, monkeypatch):
    cfg = TrainConfig(epochs=200, lr=0.05, schedule=schedule, check_every=20)
    model_a, x, y = _setup()
    model_b = EnsembleMLP.from_seeds(range(E), 2, 8)
    history_b = fit(model_b, x, y, cfg, T=_T(case), ensemble=True)
    monkeypatch.setattr(fused, "applies", lambda *args: False)
    history_a = fit(model_a, x, y, cfg, T=_T(case), ensemble=True)
    assert history_b == pytest.approx(history_a, rel=1e-4)
    for a, b in zip(model_a.parameters(), model_b.parameters()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_minibatches_and_momentum_match_autograd(monkeypatch):
    cfg = TrainConfig(epochs=20, lr=0.01, momentum=0.5, batch_size=16, check_every=10)
    model_a, x, y = _setup()
    model_b = EnsembleMLP.from_seeds(range(E), 2, 8)
    fit(model_b, x, y, cfg, T=_T("T1+T2+T3"), ensemble=True, generator=torch.Generator().manual_seed(3))
    monkeypatch.setattr(fused, "applies", lambda *args: False)
    fit(model_a, x, y, cfg, T=_T("T1+T2+T3"), ensemble=True, generator=torch.Generator().manual_seed(3))
    for a, b in zip(model_a.parameters(), model_b.parameters()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_applies_only_where_it_computes_the_same():
    model, _, _ = _setup()
    cpu = torch.device("cpu")
    assert fused.applies(model, None, "eq17", cpu) and fused.applies(model, _T("T3"), "eq17", cpu)
    assert fused.applies(model, None, "eq3", cpu)  # no T: eq3 is plain pseudo-label training
    assert not fused.applies(model, _T("T3"), "eq3", cpu)  # L_pl + gamma * L_reg: autograd
    assert not fused.applies(model, T3(0.4), "eq17", cpu)  # a float rate draws from torch's global stream
    assert not fused.applies(model, _T("T3"), "eq17", torch.device("cuda"))
    assert not fused.applies(torch.nn.Linear(2, 2), None, "eq17", cpu)


def test_float64_ensembles_use_float64_buffers():
    model, x, y = _setup()
    model = model.double()
    by_hand = fused.HandBackward(model, _T("T1+T2+T3"))
    by_hand(x.double(), y)
    assert all(p.grad.dtype == torch.float64 for p in model.parameters())


def test_nan_loss_still_stops_training():
    model, x, y = _setup()
    x = x.clone()
    x[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(model, x, y, TrainConfig(epochs=5, check_every=2), T=_T("T3"), ensemble=True)
