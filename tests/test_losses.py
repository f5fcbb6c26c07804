"""The losses against values computed by hand (tolerances stated per test)."""
import math

import pytest
import torch

from mke.losses import confidence_weight, consistency_loss, l_cls, mke_objective, reduce_mean
from mke.models import MLP
from mke.transforms import T1, Transform


def test_cross_entropy_matches_hand_computation():
    p = torch.tensor([[2.0, 0.0, -1.0]])
    y = torch.tensor([0])
    expected = -(2.0 - math.log(math.exp(2.0) + 1.0 + math.exp(-1.0)))  # -log softmax(p)_0
    assert l_cls(p, y).item() == pytest.approx(expected, abs=1e-6)


def test_kl_matches_hand_computation():
    p = torch.tensor([[1.0, 0.0]])
    y = torch.tensor([[0.25, 0.75]])
    z = torch.softmax(p, -1)[0]
    expected = 0.25 * math.log(0.25 / z[0].item()) + 0.75 * math.log(0.75 / z[1].item())  # Eq. (18)
    assert l_cls(p, y).item() == pytest.approx(expected, abs=1e-6)


def test_kl_with_one_hot_equals_cross_entropy():
    p = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 3, 1, 2, 2])
    assert torch.allclose(l_cls(p, y), l_cls(p, torch.nn.functional.one_hot(y, 4).float()), atol=1e-6)


@pytest.mark.parametrize("soft", [False, True])
def test_gradient_is_z_minus_y(soft):
    """Eq. (19): d l_cls / d p_j = z_j - y_j, for hard and soft targets."""
    g = torch.Generator().manual_seed(1)
    p = torch.randn(6, 3, generator=g, requires_grad=True)
    y = torch.softmax(torch.randn(6, 3, generator=g), -1) if soft else torch.tensor([0, 1, 2, 0, 1, 2])
    l_cls(p, y).sum().backward()
    target = y if soft else torch.nn.functional.one_hot(y, 3).float()
    assert torch.allclose(p.grad, torch.softmax(p, -1).detach() - target, atol=1e-6)


def test_soft_targets_must_match_logits_shape():
    with pytest.raises(ValueError, match="soft targets"):
        l_cls(torch.zeros(3, 2), torch.zeros(3, 4))


def test_confidence_weight_eq15():
    K = 4
    one_hot = torch.eye(K)[:1]
    uniform = torch.full((1, K), 1 / K)
    assert confidence_weight(one_hot).item() == pytest.approx(1.0, abs=1e-6)
    assert confidence_weight(uniform).item() == pytest.approx(0.0, abs=1e-6)
    half = torch.tensor([[0.5, 0.5, 0.0, 0.0]])
    assert confidence_weight(half).item() == pytest.approx(1 - math.log(2) / math.log(4), abs=1e-6)


def test_consistency_loss_is_l2_distance():
    a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    assert consistency_loss(a, b).item() == pytest.approx(5.0)
    assert consistency_loss(a, b, squared=True).item() == pytest.approx(25.0)


def test_reduce_mean_weights_and_ensembles():
    loss = torch.tensor([[1.0, 3.0], [5.0, 7.0]])
    assert reduce_mean(loss).item() == pytest.approx(4.0)
    assert reduce_mean(loss, ensemble=True).item() == pytest.approx(2.0 + 6.0)  # mean per member, summed
    assert reduce_mean(loss, weight=torch.tensor([[1.0, 0.0], [0.0, 1.0]])).item() == pytest.approx(2.0)


def test_objective_forms_agree_without_transformation():
    torch.manual_seed(0)
    model = MLP(2, 8)
    x, y = torch.randn(10, 2), torch.randint(0, 2, (10,))
    a = mke_objective(model, x, y, Transform(), form="eq17")
    b = mke_objective(model, x, y, Transform(), form="eq3", gamma=3.0)
    assert a.item() == pytest.approx(b.item(), abs=1e-7)


def test_eq3_adds_gamma_times_consistency():
    torch.manual_seed(0)
    model = MLP(2, 8)
    x, y = torch.randn(10, 2), torch.randint(0, 2, (10,))
    T = T1(1.0).with_generator(torch.Generator().manual_seed(5))
    total = mke_objective(model, x, y, T, form="eq3", gamma=2.0)
    T = T1(1.0).with_generator(torch.Generator().manual_seed(5))
    clean, noisy = model(x), model(x, T)
    expected = l_cls(clean, y).mean() + 2.0 * consistency_loss(clean, noisy).mean()
    assert total.item() == pytest.approx(expected.item(), abs=1e-6)


def test_unknown_form_is_rejected():
    with pytest.raises(ValueError, match="form"):
        mke_objective(MLP(2, 4), torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), None, form="eq5")


# ------------------------------------------------------------------ killed mutants (make mutation)
import torch.nn.functional as F  # noqa: E402

from mke.kinds import DENSE, IGNORE_INDEX  # noqa: E402
from mke.losses import binary_cross_entropy  # noqa: E402


@pytest.mark.parametrize("shape", [(4096, 2), (2, 2048, 3), (2048, 16), (3000, 17), (100, 2)])
def test_l_cls_fast_path_gives_the_reference_values(shape):
    """Many rows with few classes take a transposed softmax (an ensemble's grid): same values."""
    g = torch.Generator().manual_seed(0)
    p = torch.randn(*shape, generator=g)
    K = shape[-1]
    y = torch.randint(0, K, shape[:-1], generator=g)
    ref = F.cross_entropy(p.reshape(-1, K), y.reshape(-1), reduction="none").reshape(shape[:-1])
    assert torch.allclose(l_cls(p, y), ref, atol=1e-5)
    q = torch.softmax(torch.randn(*shape, generator=g), -1)
    ref_soft = (torch.xlogy(q, q) - q * torch.log_softmax(p, -1)).sum(-1)
    assert l_cls(p, q).shape == shape[:-1]
    assert torch.allclose(l_cls(p, q), ref_soft, atol=1e-5)


def test_l_cls_on_a_dense_class_axis():
    g = torch.Generator().manual_seed(1)
    p, y = torch.randn(2, 3, 4, 5, generator=g), torch.randint(0, 3, (2, 4, 5), generator=g)
    ref = F.cross_entropy(p, y, reduction="none")
    assert torch.allclose(l_cls(p, y, class_dim=1), ref, atol=1e-6)


def test_binary_cross_entropy_is_the_binary_kl():
    g = torch.Generator().manual_seed(2)
    p, y = torch.randn(5, 4, generator=g), torch.rand(5, 4, generator=g)
    s = torch.sigmoid(p)
    ref = (y * torch.log(y / s) + (1 - y) * torch.log((1 - y) / (1 - s))).sum(-1)
    assert torch.allclose(binary_cross_entropy(p, y), ref, atol=1e-5)
    assert binary_cross_entropy(p, s).abs().max() < 1e-5  # zero where sigmoid(p) = y
    hard = (y > 0.5).float()  # 0/1 targets: the plain binary cross entropy (their entropy is 0)
    bce = F.binary_cross_entropy_with_logits(p, hard, reduction="none").sum(-1)
    assert torch.allclose(binary_cross_entropy(p, hard), bce, atol=1e-6)
    p.requires_grad_(True)
    binary_cross_entropy(p, y).sum().backward()
    assert torch.allclose(p.grad, torch.sigmoid(p) - y, atol=1e-6)  # the analogue of Eq. 19
    with pytest.raises(ValueError, match=r"multi-label targets must have the logits' shape \(5, 4\)"):
        binary_cross_entropy(p, y[:, :3])


def test_consistency_loss_per_sample_and_small_distances():
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = torch.tensor([[3.0, 4.0], [1.0, 1.0], [0.06, 0.08]])
    d = consistency_loss(a, b)
    assert d.shape == (3,)
    assert torch.allclose(d, torch.tensor([5.0, 1e-6, 0.1]), atol=1e-6)  # a zero distance is clamped at 1e-12 ** 0.5
    dense = consistency_loss(torch.zeros(1, 2, 3, 3), torch.ones(1, 2, 3, 3), class_dim=1)
    assert dense.shape == (1, 3, 3) and torch.allclose(dense, torch.full((1, 3, 3), math.sqrt(2)))


def test_confidence_weight_is_per_sample():
    y = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    assert torch.allclose(confidence_weight(y), torch.tensor([1.0, 0.0]), atol=1e-6)
    dense = torch.stack([torch.ones(2, 2), torch.zeros(2, 2)]).unsqueeze(0)  # [1, K=2, 2, 2], one-hot
    assert torch.allclose(confidence_weight(dense, class_dim=1), torch.ones(1, 2, 2))


class _Shift:
    """A deterministic stand-in for T: the model adds ``d`` to its logits when given it."""

    is_identity = False

    def __init__(self, d):
        self.d = d


class _Net(torch.nn.Module):
    def __init__(self, members: int | None = None):
        super().__init__()
        torch.manual_seed(3)
        self.lin = torch.nn.Linear(3, 2)
        self.members = members

    def forward(self, x, T=None):
        out = self.lin(x)
        if self.members:
            out = torch.stack([out * (k + 1) for k in range(self.members)])
        return out + T.d if T is not None else out


def test_mke_objective_eq17_and_eq3_by_hand():
    net, x, y = _Net(), torch.randn(6, 3, generator=torch.Generator().manual_seed(4)), torch.tensor([0, 1, 1, 0, 1, 0])
    T = _Shift(torch.tensor([0.7, -0.3]))
    clean, moved = net(x), net(x) + T.d
    assert mke_objective(net, x, y, T).item() == pytest.approx(l_cls(moved, y).mean().item(), abs=1e-6)  # Eq. 17 uses T
    assert mke_objective(net, x, y, None).item() == pytest.approx(l_cls(clean, y).mean().item(), abs=1e-6)
    L_pl, L_reg = l_cls(clean, y).mean(), consistency_loss(clean, moved).mean()
    # the default gamma is 1
    assert mke_objective(net, x, y, T, form="eq3").item() == pytest.approx((L_pl + L_reg).item(), abs=1e-6)
    assert mke_objective(net, x, y, T, form="eq3", gamma=0.25).item() == pytest.approx(
        (L_pl + 0.25 * L_reg).item(), abs=1e-6)
    w = torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0, 1.0])
    assert mke_objective(net, x, y, T, form="eq3", weight=w).item() == pytest.approx(
        ((l_cls(clean, y) * w).mean() + L_reg).item(), abs=1e-6)  # omega weights L_pl only (Eq. 16)
    # the clean output may come from an un-augmented batch mapped into the augmented frame
    flip = lambda t: t.flip(0)  # noqa: E731
    got = mke_objective(net, x, y, T, form="eq3", x_clean=x.flip(0), to_frame=flip)
    assert got.item() == pytest.approx((L_pl + L_reg).item(), abs=1e-6)
    with pytest.raises(ValueError, match="form must be 'eq17' or 'eq3', got 'eq4'"):
        mke_objective(net, x, y, T, form="eq4")


def test_mke_objective_sums_ensemble_members():
    net, x = _Net(members=2), torch.randn(5, 3, generator=torch.Generator().manual_seed(5))
    y = torch.randint(0, 2, (2, 5), generator=torch.Generator().manual_seed(6))
    T = _Shift(torch.tensor([0.2, 0.1]))
    out, moved = net(x), net(x) + T.d
    eq17 = sum(l_cls(moved[k], y[k]).mean() for k in range(2))
    assert mke_objective(net, x, y, T, ensemble=True).item() == pytest.approx(eq17.item(), abs=1e-5)
    eq3 = sum(l_cls(out[k], y[k]).mean() + consistency_loss(out[k], moved[k]).mean() for k in range(2))
    assert mke_objective(net, x, y, T, form="eq3", ensemble=True).item() == pytest.approx(eq3.item(), abs=1e-5)


def test_mke_objective_ignores_void_pixels_in_both_terms():
    """Dense: pixels labelled IGNORE_INDEX count in neither L_pl nor L_reg."""

    class Dense(torch.nn.Module):
        def forward(self, x, T=None):
            return x + (T.d if T is not None else 0)

    g = torch.Generator().manual_seed(7)
    x = torch.randn(1, 3, 2, 2, generator=g)
    y = torch.tensor([[[0, 1], [IGNORE_INDEX, 2]]])
    T = _Shift(torch.full((1, 3, 2, 2), 0.5).index_put_((torch.tensor([0]), torch.tensor([0]),
                                                          torch.tensor([1]), torch.tensor([0])), torch.tensor(9.0)))
    keep = y != IGNORE_INDEX
    per_pix = F.cross_entropy(x, y.clamp_max(2), reduction="none")
    reg = consistency_loss(x, x + T.d, class_dim=1)
    want = per_pix[keep].mean() + reg[keep].mean()  # the void pixel's huge shift does not count
    got = mke_objective(Dense(), x, y, T, form="eq3", kind=DENSE)
    assert got.item() == pytest.approx(want.item(), abs=1e-5)


def test_l_cls_dense_with_many_pixels_never_takes_the_row_path():
    """The transposed fast path is for a last class axis only: a dense [N, K, H, W] map whose
    last axis is short and whose pixels are many must still be a softmax over K."""
    g = torch.Generator().manual_seed(8)
    p, y = torch.randn(16, 3, 64, 16, generator=g), torch.randint(0, 3, (16, 64, 16), generator=g)
    assert torch.allclose(l_cls(p, y, class_dim=1), F.cross_entropy(p, y, reduction="none"), atol=1e-5)


def test_binary_cross_entropy_sums_over_the_last_axis_of_an_ensemble():
    g = torch.Generator().manual_seed(9)
    p, y = torch.randn(2, 3, 4, generator=g), torch.rand(2, 3, 4, generator=g)
    got = binary_cross_entropy(p, y)
    assert got.shape == (2, 3)
    assert torch.allclose(got[1], binary_cross_entropy(p[1], y[1]), atol=1e-6)


def test_mke_objective_eq17_weights_and_void_pixels():
    net, x = _Net(), torch.randn(4, 3, generator=torch.Generator().manual_seed(10))
    y, w = torch.tensor([0, 1, 1, 0]), torch.tensor([1.0, 0.0, 0.0, 1.0])
    T = _Shift(torch.tensor([0.3, 0.0]))
    per = l_cls(net(x) + T.d, y)
    assert mke_objective(net, x, y, T, weight=w).item() == pytest.approx((per * w).mean().item(), abs=1e-6)

    class Dense(torch.nn.Module):
        def forward(self, x, T=None):
            return x

    xd = torch.randn(1, 3, 2, 2, generator=torch.Generator().manual_seed(11))
    yd = torch.tensor([[[0, IGNORE_INDEX], [1, 2]]])
    keep = yd != IGNORE_INDEX
    want = F.cross_entropy(xd, yd.clamp_max(2), reduction="none")[keep].mean()
    assert mke_objective(Dense(), xd, yd, None, kind=DENSE).item() == pytest.approx(want.item(), abs=1e-6)
