"""The denoising analysis' scorers on hand-made labels: which teacher mistakes a student corrects,
which right labels it breaks (Section 3.3's M(theta_t) and its complement)."""
import pytest
import torch

from mke.algorithm import PseudoLabels
from mke.data.task import Task
from mke.experiments.twomoon import denoising_scorers, teacher_wrong_mask

Y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
TEACHER = torch.tensor([0, 0, 1, 1, 1, 1, 0, 1, 0, 0])  # wrong on 2, 3, 6, 9; right on the other six
WRONG = torch.tensor([False, False, True, True, False, False, True, False, False, True])


def _logits(pred: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(pred, 2).float() * 4.0 - 2.0


@pytest.fixture
def setup():
    split = {"alpha": torch.zeros(10, 1), "beta": torch.zeros(10, 1), "y": Y}
    task = Task("hand-made", {"D_u": split, "test": split})
    # soft teacher probabilities whose arg max is TEACHER
    proba = torch.where(torch.nn.functional.one_hot(TEACHER, 2).bool(), 0.7, 0.3)
    return task, PseudoLabels(proba)


def test_teacher_wrong_mask(setup):
    task, pseudo = setup
    assert torch.equal(teacher_wrong_mask(task, pseudo), WRONG)


def test_corrected_and_broken_are_shares_of_the_teachers_wrong_and_right_points(setup):
    task, pseudo = setup
    scorers = denoising_scorers(task, pseudo)
    assert {k: split for k, (split, _) in scorers.items()} == {"test": "test", "D_u": "D_u", "corrected": "D_u",
                                                                "broken": "D_u"}
    # member 0 corrects 2 of the 4 mistakes (points 2, 3) and breaks 1 of the 6 right labels (point 0);
    # member 1 corrects 3 of 4 (2, 6, 9) and breaks 3 of 6 (1, 4, 8)
    pred0 = TEACHER.clone()
    pred0[[2, 3]] = Y[[2, 3]]
    pred0[0] = 1 - Y[0]
    pred1 = TEACHER.clone()
    pred1[[2, 6, 9]] = Y[[2, 6, 9]]
    pred1[[1, 4, 8]] = 1 - Y[[1, 4, 8]]
    logits = torch.stack([_logits(pred0), _logits(pred1)])  # [E, N, K], an ensemble's output
    _, corrected = scorers["corrected"]
    _, broken = scorers["broken"]
    assert corrected(logits, Y).tolist() == pytest.approx([50.0, 75.0])
    assert broken(logits, Y).tolist() == pytest.approx([100 / 6, 50.0])
    # one model's [N, K] logits give one number
    assert float(corrected(logits[1], Y)) == pytest.approx(75.0)
    assert float(broken(logits[0], Y)) == pytest.approx(100 / 6)
    # the teacher itself corrects nothing and breaks nothing; the truth corrects all, breaks none
    assert (float(corrected(_logits(TEACHER), Y)), float(broken(_logits(TEACHER), Y))) == (0.0, 0.0)
    assert (float(corrected(_logits(Y), Y)), float(broken(_logits(Y), Y))) == (100.0, 0.0)
    # D_u accuracy = its right share of the teacher's 4 mistakes and of its 6 right labels
    _, acc = scorers["D_u"]
    for e in range(2):
        expected = (corrected(logits, Y)[e] * 4 + (100 - broken(logits, Y)[e]) * 6) / 10
        assert float(acc(logits, Y)[e]) == pytest.approx(float(expected))
