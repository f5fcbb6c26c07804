"""Algorithm 1 iterated: every generation's student is trained under the same T."""
import mke.algorithm as alg
from mke.experiments.twomoon import model_factory
from mke.train import TrainConfig
from mke.transforms import T1, T3


def test_every_generation_gets_the_given_T(twomoon, monkeypatch):
    seen = []
    real = alg.train_student

    def spy(task, method, make_model, pseudo, cfg, T, seed, *args, **kwargs):
        seen.append((method.name, T, pseudo))
        return real(task, method, make_model, pseudo, cfg, T, seed, *args, **kwargs)

    monkeypatch.setattr(alg, "train_student", spy)
    T = T1(1.0) + T3(0.2)
    out = alg.expand(twomoon, model_factory(False), TrainConfig(epochs=20), TrainConfig(epochs=10), T, seed=3,
                     teacher_seed=39, generations=3)
    assert [name for name, _, _ in seen] == ["mm_student"] * 3
    for g, (_, got, _) in enumerate(seen, start=1):
        assert got is T, f"generation {g} was trained with T={got!r}, not the given {T.describe()}"
    # each generation learns from the pseudo labels expand returns for it
    assert len(out["pseudo_labels"]) == 3
    assert all(p is q for (_, _, p), q in zip(seen, out["pseudo_labels"]))
