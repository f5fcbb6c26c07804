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
