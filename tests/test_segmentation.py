"""The segmentation experiment end to end at a tiny size, its tasks, its parameters and its tables."""
import dataclasses

import numpy as np
import pytest
import torch

from mke.experiments import segmentation as sg
from mke.kinds import DENSE

QUICK = sg.PROFILE_SETTINGS["quick"]


@pytest.fixture(scope="module")
def corpus():
    return sg.load_standin(QUICK, 32)


@pytest.fixture(scope="module")
def tasks(corpus):
    return sg.build_tasks(corpus, 32)


def test_tasks_share_d_l_and_test_and_nest_d_u(corpus, tasks):
    big, small = tasks[32], tasks[16]
    assert big.kind is DENSE and big.modalities == ("rgb", "hha")
    assert big.size("D_l") == 795 and big.size("test") == 654
    assert big.size("D_u") == 32 and small.size("D_u") == 16
    assert torch.equal(big.splits["D_u"]["rgb"][:16], small.splits["D_u"]["rgb"])
    assert big.splits["D_l"]["rgb"].shape[1:] == (3, QUICK.height, QUICK.width)
    assert big.labels("test").dtype == torch.int64


def test_control_moves_hha_between_frames_and_keeps_rgb(corpus, tasks):
    ctl = sg.build_tasks(corpus, 32, depth_informative=False)
    for split in ("D_l", "D_u", "test"):
        a, b = tasks[32].splits[split], ctl[32].splits[split]
        assert torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["y"], b["y"])
        assert not torch.equal(a["hha"], b["hha"])
        # the same HHA images, in another order
        assert torch.allclose(a["hha"].sum(0), b["hha"].sum(0), atol=1e-3)


def test_standardisation_uses_d_l_and_d_u_only(corpus):
    """Changing the test frames must not change the training inputs."""
    lab = dict(corpus.labeled)
    from mke.data.nyuv2 import official_split

    test_rows = torch.from_numpy(official_split()["test"])
    rgb = lab["rgb"].clone()
    rgb[test_rows] = 255
    altered = dataclasses.replace(corpus, labeled={**lab, "rgb": rgb})
    a, b = sg.build_tasks(corpus, 32)[32], sg.build_tasks(altered, 32)[32]
    assert torch.equal(a.splits["D_l"]["rgb"], b.splits["D_l"]["rgb"])
    assert not torch.equal(a.splits["test"]["rgb"], b.splits["test"]["rgb"])


def test_too_few_unlabeled_frames_is_an_error(corpus):
    with pytest.raises(ValueError, match="n_unlabeled=64"):
        sg.build_tasks(corpus, 64)


def test_one_seed_fills_every_cell_the_tables_need(tasks, corpus):
    ctl = sg.build_tasks(corpus, 32, depth_informative=False)
    runs = [sg.run_seed(tasks, QUICK, s, 32, "deep", True, False, "cpu", ctl) for s in (0, 1)]
    rows = sg.table_rows(runs, 32, "deep", True, test_pixels=1000)
    tables = {r["table"] for r in rows}
    assert tables == {"table3", "table6", "table7", "table8"}
    assert all(r["n_seeds"] == 2 and len(r["values"]) == 2 for r in rows)
    assert all(0 <= v <= 100 for r in rows for v in r["values"])
    t3 = [r for r in rows if r["table"] == "table3"]
    assert [r["method"] for r in t3] == list(sg.TABLE3_METHODS)
    assert t3[0]["paper"] == 44.15
    claims = sg.claims(runs, 32, "deep", True)
    assert len(claims) == 12 and all(c["verdict"] in ("holds", "fails", "inconclusive") for c in claims)
    # one teacher per architecture and seed: Table 6's teacher is Table 3's, scored on the same test set
    names = sg.settings(32, "deep", True)
    assert np.array_equal(sg.get(runs, "table6", "um_teacher", names), sg.get(runs, "table3", "um_teacher", names))
    # the soft column of Table 8 is Table 7's deeper-teacher row
    assert np.array_equal(sg.get(runs, "soft", "mm_student", names), sg.get(runs, "table7_main", "mm_student", names))
    assert runs[0].omega["omega"].shape == (QUICK.height, QUICK.width)
    assert ((runs[0].omega["omega"] >= 0) & (runs[0].omega["omega"] <= 1)).all()
    assert set(runs[0].pseudo_miou) == {("deep", 32), ("deep", 16), ("shallow", 32), ("shallow", 16)}
    ctrl = sg.control_rows(runs, 32, "deep", True)
    assert [r["method"] for r in ctrl] == ["mm_student", "um_student"]


def test_two_workers_give_the_numbers_of_one(tasks):
    """Trainings side by side (each op on one thread) equal the same trainings in turn on one
    thread: every network is built and trained from its own seeded streams, whatever the
    interleaving (models are built under mke.seeds' lock)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = sg.run_seed(tasks, QUICK, 3, 32, "deep", True, False, "cpu", None, workers=1)
        two = sg.run_seed(tasks, QUICK, 3, 32, "deep", True, False, "cpu", None, workers=2)
    finally:
        torch.set_num_threads(before)
    assert set(one.cells) == set(two.cells) and len(one.cells) == 17
    for key in one.cells:
        assert one.cells[key].miou == two.cells[key].miou, key
        assert torch.equal(one.cells[key].pred, two.cells[key].pred), key


def test_transforms_are_the_papers(monkeypatch):
    from mke.methods import METHODS

    assert sg.transform_for(METHODS["mm_student_noreg"]) is None
    T = sg.transform_for(METHODS["mm_student"])
    assert T.geometric is not None and T.input_noise == 0
    # T is applied to every baseline identically (the paper, Section 4): the NOISY student's T is
    # the MM student's flip + scale with no extra input noise, unless NOISY_INPUT asks for some
    noisy = sg.transform_for(METHODS["noisy_student"])
    assert sg.NOISY_INPUT == 0 and noisy.input_noise == 0 and noisy.geometric is not None
    monkeypatch.setattr(sg, "NOISY_INPUT", 0.1)
    assert sg.transform_for(METHODS["noisy_student"]).input_noise == 0.1
    assert sg.transform_for(METHODS["mm_student"]).input_noise == 0
    # the paper's scaling range in every profile; transform_for draws from the range it is given
    assert all(p.scale == (0.5, 1.75) for p in sg.PROFILE_SETTINGS.values())
    scale = sg.transform_for(METHODS["mm_student"], (0.75, 1.25)).geometric.augs[-1]
    assert (scale.low, scale.high) == (0.75, 1.25)


@pytest.mark.parametrize("name,value,match", [("profile", "huge", "profile"), ("n_unlabeled", 3, "n_unlabeled"),
                                              ("teacher_arch", "res152", "teacher_arch"),
                                              ("soft_labels", "yes", "soft_labels")])
def test_bad_parameters_are_named(name, value, match):
    values = sg.PARAMETERS.defaults()
    values[name] = value
    with pytest.raises((ValueError, TypeError), match=match):
        sg.validate_parameters(**values)


def test_data_root_without_nyu_files_is_named(tmp_path):
    values = sg.PARAMETERS.defaults()
    values["data_root"] = str(tmp_path)
    with pytest.raises(FileNotFoundError, match="nyu_depth_v2_labeled.mat"):
        sg.validate_parameters(**values)
