"""The emotion chapter's experiment code (Section 4.2) on the quick profile of the stand-in."""
import dataclasses

import numpy as np
import pytest
import torch

pytest.importorskip("librosa", reason="librosa is not installed (pip install -e .[media])")

from mke.experiments import emotion as em  # noqa: E402
from mke.methods import METHODS  # noqa: E402

QUICK = em.PROFILE_SETTINGS["quick"]
GOOD = dict(profile="book", n_seeds=None, device="cpu", data_root=None, split_by_actor=False,
            voice_informative=True, dropout=None, results_dir="results", threads=2)


@pytest.mark.parametrize("name, value, match", [
    ("profile", "fast", "'profile' must be one of"),
    ("n_seeds", 1, "'n_seeds' must lie in"),
    ("device", "gpu", "'device' must be one of"),
    ("data_root", "/no/such/RAVDESS", "'data_root': folder '/no/such/RAVDESS' does not exist"),
    ("split_by_actor", "yes", "'split_by_actor' must be True or False"),
    ("voice_informative", 1, "'voice_informative' must be True or False"),
    ("dropout", 1.0, "'dropout' must lie in"),
    ("threads", 0, "'threads' must lie in"),
])
def test_bad_parameters_are_named(name, value, match):
    em.validate_parameters(**GOOD)
    with pytest.raises(ValueError, match=match):
        em.validate_parameters(**{**GOOD, name: value})


@pytest.fixture(scope="module")
def task():
    return em.build_task(em.load_standin(QUICK))


def test_task_has_the_papers_splits_and_tensor_layout(task):
    sizes = {s: task.size(s) for s in ("D_l", "D_u", "val", "test")}
    assert sizes == {"D_l": 288, "D_u": 921, "val": 115, "test": 116}
    assert task.splits["D_l"]["image"].shape[1:] == (QUICK.n_images, QUICK.size, QUICK.size)
    assert task.splits["D_l"]["audio"].shape[1:] == (1, QUICK.n_mfcc, QUICK.n_frames)
    # MFCCs standardised with D_l and D_u only: those have mean 0 per coefficient, test need not
    fit = torch.cat([task.splits["D_l"]["audio"], task.splits["D_u"]["audio"]])
    assert fit.mean((0, 1, 3)).abs().max() < 1e-4
    assert set(task.inputs("D_u", ("image",))) == {"image"}


def test_stand_in_is_cached_and_the_control_changes_only_the_voice(task):
    again = em.build_task(em.load_standin(QUICK))
    off = em.build_task(em.load_standin(QUICK, voice_informative=False))
    for s in task.splits:
        assert torch.equal(again.splits[s]["audio"], task.splits[s]["audio"])
        assert torch.equal(off.splits[s]["image"], task.splits[s]["image"])
    assert not torch.equal(off.splits["D_u"]["audio"], task.splits["D_u"]["audio"])


def test_split_by_actor_keeps_actors_apart():
    t = em.build_task(em.load_standin(QUICK), split_by_actor=True)
    actors = t.info["actors"]
    assert not set(actors["D_l"]) & set(actors["test"]) and not set(actors["D_u"]) & set(actors["val"])


def test_mean_std_is_the_sample_spread():
    from mke.metrics import mean_std

    assert mean_std([1.0, 3.0]) == "2.00 ± 1.41" and mean_std([1.0, 3.0], signed=True) == "+2.00 ± 1.41"
    assert em.scores([], "mm_student").shape == (0,)


def test_transformations_per_method():
    assert em.transform_for(METHODS["mm_student_noreg"], 0.5) is None
    assert em.transform_for(METHODS["um_teacher"], 0.5) is None
    t = em.transform_for(METHODS["mm_student"], 0.5)
    assert t.dropout == 0.5 and t.input_noise == 0
    noisy = em.transform_for(METHODS["noisy_student"], 0.5)
    assert noisy.dropout == 0.5 and noisy.input_noise == em.NOISY_INPUT


def test_one_seed_end_to_end_is_deterministic_and_fills_table2(task, tmp_path, monkeypatch):
    a = em.run_seed(task, QUICK, seed=3)
    monkeypatch.setenv("MKE_CACHE", str(tmp_path))  # an empty cache: the teacher is trained again, not reloaded
    b = em.run_seed(task, QUICK, seed=3)
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 1  # b trained (and saved) its own teacher
    assert a.scores == b.scores  # same seed, same numbers
    assert all(torch.equal(a.test_pred[m], b.test_pred[m]) for m in em.TABLE2_METHODS)
    assert set(a.scores) == set(em.TABLE2_METHODS)
    y_test = task.labels("test")
    for m in em.TABLE2_METHODS:  # each test score is its model's accuracy on the test split's predictions
        assert a.scores[m]["test"] == pytest.approx(float((a.test_pred[m] == y_test).float().mean() * 100)), m
        n_right = a.scores[m]["val"] * task.size("val") / 100  # a val score counts right clips out of 115
        assert n_right == pytest.approx(round(n_right), abs=1e-3), m
    sizes = {s: task.size(s) for s in task.splits}
    rows = em.table2_rows([a, b], sizes)
    assert rows[1]["resolution"] == pytest.approx(100 / sizes["test"], abs=1e-4)
    claims = em.claims([a, b])
    assert {c["verdict"] for c in claims} <= {"holds", "fails", "inconclusive"} and all(c["n"] == 2 for c in claims)
    assert len(rows) == 12 and {r["metric"] for r in rows} == {"val_acc", "test_acc"}
    teacher = [r for r in rows if r["method"] == "um_teacher" and r["metric"] == "test_acc"][0]
    assert teacher["paper"] == 80.33 and teacher["headline"] and teacher["n_seeds"] == 2
    cm = em.confusion([a], "mm_student", task.labels("test"))
    assert cm.shape == (8, 8) and np.allclose(cm.sum(1), 1)
    rec = em.per_class_recall([a, b], "um_teacher", task.labels("test"))
    assert rec.shape == (2, 8)


def test_soft_labels_and_a_given_teacher(task, monkeypatch):
    """``soft=True`` hands the student the teacher's distributions; the default its arg max. The
    given teacher is the one scored and the one that labels D_u."""
    import inspect

    import mke.algorithm as alg
    from mke.metrics import accuracy
    from mke.train import predict

    teacher = em.teacher_of(task, QUICK, seed=2)  # not the one run_seed(..., 1) would train itself
    pseudos, targets = [], []
    real_run_jobs, real_fit = em.run_jobs, alg.fit

    def spy_run_jobs(*args, **kwargs):
        pseudos.append(inspect.signature(real_run_jobs).bind(*args, **kwargs).arguments["pseudo"])
        return real_run_jobs(*args, **kwargs)

    def spy_fit(model, x, y, *args, **kwargs):  # the student's training targets
        targets.append(y)
        return real_fit(model, x, y, *args, **kwargs)

    monkeypatch.setattr(em, "run_jobs", spy_run_jobs)
    monkeypatch.setattr(alg, "fit", spy_fit)
    proba = torch.softmax(predict(teacher, task.inputs("D_u", ("image",))), -1)  # [921, 8]

    soft = em.run_seed(task, QUICK, 1, methods=("mm_student",), soft=True, teacher=teacher)
    assert len(pseudos) == 1 and pseudos[0].soft is True, "soft=True did not give soft pseudo labels"
    assert pseudos[0].targets.dtype == torch.float32 and torch.allclose(pseudos[0].targets, proba, atol=1e-5)
    assert len(targets) == 1 and targets[0].shape == (921, 8) and torch.allclose(targets[0], proba, atol=1e-5)
    for split in ("val", "test"):
        want = float(accuracy(predict(teacher, task.inputs(split, ("image",))), task.labels(split)))
        assert soft.scores["um_teacher"][split] == pytest.approx(want)

    profile = dataclasses.replace(QUICK, dropout=0.5)
    hard = em.run_seed(task, profile, 1, methods=("mm_student",), teacher=teacher)
    assert hard.r0 == 0.5 and pseudos[1].soft is False
    assert targets[1].dtype == torch.long and torch.equal(targets[1], proba.argmax(-1))


def test_real_loader_on_tiny_ravdess_files(tmp_path):
    pytest.importorskip("av", reason="PyAV is not installed")
    from test_ravdess import write_media

    from mke.data.ravdess import ClipCode

    for actor in (1, 2):
        folder = tmp_path / f"Actor_{actor:02d}"
        folder.mkdir()
        for emotion in range(1, 9):
            for statement in (1, 2):
                code = ClipCode(1, 1, emotion, 1, statement, 1, actor)
                write_media(folder / f"{code.name()}.mp4", seconds=1.0, level=25 * emotion, tone=200.0 + 60 * emotion)
    (tmp_path / "Actor_02" / "01-01-03-01-01-02-02.mp4").write_bytes(b"broken")
    corpus = em.load_ravdess(tmp_path, QUICK)
    assert len(corpus.y) == 32 and len(corpus.skipped) == 1
    assert corpus.images.shape[1:] == (QUICK.n_images, QUICK.size, QUICK.size)
    off = em.load_ravdess(tmp_path, QUICK, voice_informative=False)
    assert torch.equal(off.images, corpus.images) and not torch.equal(off.mfcc, corpus.mfcc)
    assert sorted(off.mfcc.sum((1, 2)).tolist()) == pytest.approx(sorted(corpus.mfcc.sum((1, 2)).tolist()))


def test_paper_profile_is_the_same_code_at_a_tiny_size():
    """``profile=paper`` (meant for a GPU: wide nets, dropout 0.5) runs the very same path on
    CPU when only the input sizes and epochs shrink."""
    paper = em.PROFILE_SETTINGS["paper"]
    tiny = dataclasses.replace(paper, n_images=2, size=16, seconds=0.3, n_mfcc=8, n_frames=8,
                               teacher_epochs=1, student_epochs=1, batch_size=256)
    assert tiny.name == "paper" and tiny.dropout == em.PAPER_DROPOUT
    task = em.build_task(em.load_standin(tiny))
    run = em.run_seed(task, tiny, 0, methods=("mm_student",))
    model = em.model_factory(task, tiny)(METHODS["mm_student"], 0)
    assert model.head.fc1.out_features == 256 and model.branches["image"].out_dim == 4 * 64 * 16
    assert set(run.scores) == {"um_teacher", "mm_student"}


def test_voice_only_and_mm_noisy_students_and_the_class_flow(task):
    """The models beyond Table 2 train through the same runner: the voice-only network sees the
    voice alone, the MM NOISY student faces and voices of D_l + D_u; class_flow counts a class's
    clips and pseudo labels exactly."""
    run = em.run_seed(task, QUICK, seed=3, methods=("voice_sup", "mm_noisy_student"))
    assert set(run.scores) == {"um_teacher", "voice_sup", "mm_noisy_student"}
    assert em.EXTRA_METHODS["voice_sup"].modalities(task) == ("audio",)
    assert em.EXTRA_METHODS["mm_noisy_student"].train_on == ("D_l", "D_u")
    y_u, y_test = task.labels("D_u"), task.labels("test")
    assert run.pseudo_hard.shape == y_u.shape
    f = em.class_flow([run], y_u, y_test, 0)
    p = run.pseudo_hard
    assert f["n_true_D_u"] == int((y_u == 0).sum()) and f["n_true_test"] == int((y_test == 0).sum())
    assert f["pseudo_labelled_k"] == float((p == 0).sum())
    right = float(((p == 0) & (y_u == 0)).sum())
    assert f["pseudo_recall"] == pytest.approx(right / f["n_true_D_u"] * 100)
    assert f["pseudo_precision"] == pytest.approx(right / max(float((p == 0).sum()), 1) * 100)
    pooled = run.test_pred["um_teacher"][y_test == 0]
    top = max(f["um_teacher_labels"], key=f["um_teacher_labels"].get)
    assert f["um_teacher_labels"][top] == pytest.approx(
        float((pooled == em.EMOTIONS.index(top)).float().mean() * 100)) and len(f["um_teacher_labels"]) == 3
    assert "mm_student_labels" not in f  # this run trained no MM student
    # the voice-only network is built with a voice branch alone
    net = em.model_factory(task, QUICK)(em.EXTRA_METHODS["voice_sup"], 0)
    assert net.modalities == ("audio",) and set(net.branches) == {"audio"}
    with pytest.raises(KeyError):
        em.run_seed(task, QUICK, seed=3, methods=("no_such_student",))
