import pytest
import torch

from mke.methods import METHODS, get_method
from mke.models import EnsembleMLP, MLP, seeded_mlp


def test_method_table_matches_design():
    rows = {name: (m.inputs, m.train_on, m.targets, m.regularised) for name, m in METHODS.items()}
    assert rows == {
        "um_teacher": (("alpha",), ("D_l",), "true", False),
        "um_student": (("alpha",), ("D_u",), "pseudo", True),
        "noisy_student": (("alpha",), ("D_l", "D_u"), "true+pseudo", True),
        "mm_student_noreg": (("alpha", "beta"), ("D_u",), "pseudo", False),
        "mm_student": (("alpha", "beta"), ("D_u",), "pseudo", True),
        "mm_student_sup": (("alpha", "beta"), ("D_u",), "true", True),
    }
    with pytest.raises(ValueError, match="unknown method"):
        get_method("mm_teacher")


def test_seeded_mlp_is_reproducible():
    a, b = seeded_mlp(7, 2, 16), seeded_mlp(7, 2, 16)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_ensemble_members_equal_their_mlps():
    members = [seeded_mlp(s, 2, 8, softmax_head=True) for s in (1, 2, 3)]
    ens = EnsembleMLP(members)
    x = torch.randn(5, 2)
    out = ens(x)
    assert out.shape == (3, 5, 2)
    for e, m in enumerate(members):
        assert torch.allclose(out[e], m(x), atol=1e-6)
        assert torch.allclose(ens.member(e)(x), m(x), atol=1e-6)


def test_softmax_head_outputs_probabilities():
    m = MLP(1, 4, softmax_head=True)
    p = m(torch.randn(3, 1))
    assert torch.allclose(p.sum(-1), torch.ones(3))
    assert torch.allclose(m.predict_proba(torch.zeros(1, 1)), m(torch.zeros(1, 1)))


def test_state_dict_round_trip(tmp_path):
    m = seeded_mlp(3, 2, 16)
    torch.save(m.state_dict(), tmp_path / "m.pt")
    n = MLP(2, 16)
    n.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    x = torch.randn(4, 2)
    assert torch.equal(m(x), n(x))


def test_a_method_names_bad_targets_and_maps_its_inputs_to_the_task():
    from mke.methods import Method

    with pytest.raises(ValueError, match=r"Method.targets must be one of \('true', 'pseudo', 'true\+pseudo'\), "
                                         r"got 'labels'"):
        Method("x", "X", ("alpha",), ("D_u",), "labels", True)

    class Task:
        modalities = ("image", "audio")

    m = Method("voice", "voice", ("beta",), ("D_u",), "true", True)
    assert m.modalities(Task()) == ("audio",) and not m.multimodal and not m.needs_teacher
    both = Method("mm", "MM", ("alpha", "beta"), ("D_u",), "pseudo", True)
    assert both.modalities(Task()) == ("image", "audio") and both.multimodal and both.needs_teacher
