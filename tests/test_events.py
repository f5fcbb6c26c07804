"""The event-classification experiment (mke.experiments.events): T's random crop, the control's
shuffled frames, the tables and claims, and the whole chain on tiny data (quick and paper
profiles, the stand-in and real files in AudioSet's and VGGSound's formats)."""
import importlib.util
from dataclasses import replace

import numpy as np
import pytest
import torch

from mke import seeds
from mke.event_models import EventNet
from mke.experiments import events as ev
from mke.methods import METHODS

needs_av = pytest.mark.skipif(importlib.util.find_spec("av") is None,
                              reason="PyAV is not installed (pip install -e .[media])")


def tiny_corpus(n=(12, 12, 12), k=3, f=8, t=20, crop=12, frames=(2, 3, 16, 16), seed=0):
    g = torch.Generator().manual_seed(seed)
    splits = {}
    for name, m in zip(("D_l", "D_u", "test"), n):
        y = torch.arange(m) % k
        audio = torch.randn(m, f, t, generator=g) + y[:, None, None].float()
        video = (torch.rand(m, *frames, generator=g) * 255).to(torch.uint8)
        splits[name] = {"audio": audio, "video": video, "y": y, "y_true": y.clone()}
    return ev.Corpus(splits, tuple(f"class {i}" for i in range(k)), crop, "tiny")


# --- T: the random crop -----------------------------------------------------------------------


def test_clip_crop_cuts_columns_within_each_clip_and_flips_only_frames():
    spec = torch.arange(4 * 3 * 10, dtype=torch.float32).view(4, 3, 10)
    frames = torch.arange(4 * 2 * 3 * 2 * 5, dtype=torch.float32).view(4, 2, 3, 2, 5)
    y = torch.softmax(torch.randn(4, 6), -1)
    crop = ev.ClipCrop(6)
    out, params = crop({"audio": spec, "video": frames, "__y": y}, None, torch.Generator().manual_seed(0))
    assert out["audio"].shape == (4, 3, 6) and out["__y"] is y
    for i in range(4):
        s = int(params.start[i])
        assert 0 <= s <= 4
        assert torch.equal(out["audio"][i], spec[i, :, s:s + 6])
        expect = frames[i].flip(-1) if params.flip[i] else frames[i]
        assert torch.equal(out["video"][i], expect)
    assert crop.apply(params, y) is y  # a clip's class distribution does not move with a crop
    # one generator seed, one draw; every start position is reachable
    again, p2 = crop({"audio": spec, "video": frames}, None, torch.Generator().manual_seed(0))
    assert torch.equal(again["audio"], out["audio"]) and torch.equal(p2.start, params.start)
    starts = crop({"audio": spec.repeat(100, 1, 1)}, None, torch.Generator().manual_seed(1))[1].start
    assert set(starts.tolist()) == set(range(5))
    # without flip_video the frames pass untouched
    out2, _ = ev.ClipCrop(6, flip_video=False)({"audio": spec, "video": frames}, None, torch.Generator())
    assert out2["video"] is frames


def test_clip_crop_rejects_bad_sizes():
    with pytest.raises(ValueError, match="crop_cols must be a positive int"):
        ev.ClipCrop(0)
    with pytest.raises(ValueError, match="narrower than the crop"):
        ev.ClipCrop(12)({"audio": torch.zeros(2, 3, 10)}, None, torch.Generator())


def test_eventnet_hears_the_centre_crop_unless_T_cropped():
    net = EventNet(("audio",), 3, "quick", crop_cols=6).eval()
    spec = torch.randn(2, 8, 10)
    assert torch.equal(net.centre_crop(spec), spec[..., 2:8])
    with torch.no_grad():
        torch.testing.assert_close(net({"audio": spec}), net({"audio": spec[..., 2:8]}))
        assert not torch.allclose(net({"audio": spec}), net({"audio": spec[..., 0:6]}))
    assert torch.equal(net.centre_crop(spec[..., :6]), spec[..., :6])
    with pytest.raises(ValueError, match="crop_cols must be None or a positive int"):
        EventNet(("audio",), 3, "quick", crop_cols=0)


def test_transform_for_each_method():
    assert ev.transform_for(METHODS["mm_student_noreg"], 6) is None
    mm = ev.transform_for(METHODS["mm_student"], 6)
    assert isinstance(mm.geometric, ev.ClipCrop) and mm.geometric.flip_video and mm.input_noise == 0
    assert mm.dropout == ev.FEATURE_DROPOUT > 0
    um = ev.transform_for(METHODS["um_student"], 6)
    assert not um.geometric.flip_video
    noisy = ev.transform_for(METHODS["noisy_student"], 6)
    assert noisy.input_noise == ev.NOISY_INPUT and noisy.geometric.crop_cols == 6


# --- data -------------------------------------------------------------------------------------


def test_standardise_per_clip_over_real_columns():
    spec = torch.randn(3, 4, 10) * 5 + 2
    z = ev.standardise(spec)
    torch.testing.assert_close(z.mean((-2, -1)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std((-2, -1), unbiased=False), torch.ones(3), atol=1e-5, rtol=0)
    cols = torch.tensor([10, 6, 3])
    zc = ev.standardise(spec, cols)
    for i, c in enumerate(cols.tolist()):
        real = zc[i, :, :c]
        assert abs(float(real.mean())) < 1e-5 and abs(float(real.std(unbiased=False)) - 1) < 1e-4
        assert torch.all(zc[i, :, c:] == 0)
        torch.testing.assert_close(real, ev.standardise(spec[i:i + 1, :, :c])[0], atol=1e-5, rtol=1e-5)


def test_cycle_has_no_fixed_point_and_is_a_permutation():
    with pytest.raises(ValueError, match="at least 2 clips"):
        ev.cycle(1)
    for n in (2, 3, 17, 500):
        p = ev.cycle(n, seed=n)
        assert sorted(p.tolist()) == list(range(n)) and not torch.any(p == torch.arange(n))
        # one cycle: following it from 0 visits every clip
        seen, i = set(), 0
        for _ in range(n):
            seen.add(i)
            i = int(p[i])
        assert len(seen) == n


def test_control_task_shuffles_frames_of_du_and_test_only():
    corpus = tiny_corpus()
    task, ctrl = ev.build_task(corpus), ev.build_task(corpus, video_informative=False)
    for split in ("D_u", "test"):
        a, b = task.splits[split], ctrl.splits[split]
        assert torch.equal(a["audio"], b["audio"]) and torch.equal(a["y"], b["y"])
        assert not torch.equal(a["video"], b["video"])
        perm = ev.cycle(len(a["y"]), seeds.derive(0, f"control/{split}", "data"))
        assert torch.equal(b["video"], a["video"][perm])
    assert torch.equal(task.splits["D_l"]["video"], ctrl.splits["D_l"]["video"])
    # each training seed draws its own pairing
    other = ev.build_task(corpus, video_informative=False, seed=1)
    assert not torch.equal(other.splits["D_u"]["video"], ctrl.splits["D_u"]["video"])
    assert task.info["crop_cols"] == 12 and not ctrl.info["video_informative"]


def test_too_few_clips_are_refused_before_training():
    corpus = tiny_corpus(n=(1, 12, 12))
    with pytest.raises(ValueError, match=r"too few clips.*'D_l': 1"):
        ev.build_task(corpus)


def test_parameters_validated_before_any_work(tmp_path):
    ok = ev.PARAMETERS.defaults()
    ev.validate_parameters(**ok)
    with pytest.raises(ValueError, match="profile"):
        ev.validate_parameters(**{**ok, "profile": "huge"})
    csv = tmp_path / "balanced_train_segments.csv"
    csv.write_text("# x\n")
    with pytest.raises(ValueError, match="needs all of.*vggsound_csv"):
        ev.validate_parameters(**{**ok, "audioset_csv": str(csv), "audioset_audio": str(tmp_path)})
    with pytest.raises(ValueError, match="vggsound_csv"):
        ev.validate_parameters(**{**ok, "vggsound_csv": str(tmp_path / "missing.csv")})
    with pytest.raises(ValueError, match="audioset_pattern.*must contain"):
        ev.validate_parameters(**{**ok, "audioset_pattern": "{nope}.wav"})
    with pytest.raises(ValueError, match="audioset_pattern.*pattern string"):
        ev.validate_parameters(**{**ok, "audioset_pattern": 3})
    ev.validate_parameters(**{**ok, "audioset_pattern": "{ytid}_{start:06d}_{end}.flac"})  # any loader pattern


# --- the chain --------------------------------------------------------------------------------


def test_run_seed_tables_and_claims_on_the_quick_standin():
    prof = ev.PROFILE_SETTINGS["quick"]
    corpus = ev.load_standin(prof)
    assert set(corpus.splits) == {"D_l", "D_u", "test"} and len(corpus.names) == 46
    assert corpus.splits["D_u"]["audio"].shape[-1] > corpus.crop_cols  # T has room to crop
    task, ctrl = ev.build_task(corpus), ev.build_task(corpus, False)
    runs = [ev.run_seed(task, prof, s, control=ctrl, du_truth=corpus.splits["D_u"]["y_true"]) for s in (0, 1)]
    assert {k for k in runs[0].cells} == {("main", m) for m in ev.TABLE4_METHODS} | {("control", "mm_student")}
    assert 0 <= runs[0].pseudo["map"] <= 1
    # same seed, same numbers (the teacher comes from its checkpoint, the students are retrained)
    again = ev.run_seed(task, prof, 0, control=None, du_truth=None)
    for m in ev.TABLE4_METHODS:
        assert again.cells[("main", m)].map == runs[0].cells[("main", m)].map
    # the seeds differ
    assert runs[0].cells[("main", "mm_student")].map != runs[1].cells[("main", "mm_student")].map
    rows = ev.table4_rows(runs)
    assert [r["method"] for r in rows if r["table"] == "table4"] == list(ev.TABLE4_METHODS)
    assert next(r for r in rows if r["method"] == "um_teacher")["paper"] == 0.345
    t5, top = ev.table5_rows(runs, list(corpus.names))
    assert len(top) == 5 and len([r for r in t5 if r["table"] == "table5"]) == 15
    gains = {c: np.mean(ev.per_class(runs, "mm_student")[:, list(corpus.names).index(c)]
                        - ev.per_class(runs, "um_teacher")[:, list(corpus.names).index(c)]) for c in corpus.names}
    assert sorted(gains, key=lambda c: -gains[c])[:5] == top
    paper5 = [r for r in t5 if r["table"] == "table5_paper_classes"]
    assert {r["setting"] for r in paper5} == {"basketball bounce", "dog growling", "people belly laughing",
                                               "sliding door", "lawn mowing"}
    assert next(r for r in paper5 if r["setting"] == "dog growling" and r["method"] == "mm_student")["paper"] == 0.516
    claims = ev.claims(runs)
    assert len(claims) == 7
    mm, t = ev.values(runs, "mm_student"), ev.values(runs, "um_teacher")
    assert claims[0]["effect"] == pytest.approx(float(np.mean(mm - t)), abs=1e-4)
    # each claim pairs the right sides: the control's MM student against the main UM student
    sides = [("mm_student", "um_teacher"), ("mm_student", "noisy_student"), ("um_student", "um_teacher"),
             ("mm_student", "um_student"), ("mm_student", "mm_student_noreg"), ("mm_student_sup", "mm_student")]
    for claim, (a, b) in zip(claims, sides):
        assert claim["values"] == pytest.approx(list(ev.values(runs, a) - ev.values(runs, b)), abs=1e-4)
    ctrl = ev.values(runs, "mm_student", "control") - ev.values(runs, "um_student")
    assert claims[-1]["values"] == pytest.approx(list(ctrl), abs=1e-4)
    assert claims[5]["margin"] == -ev.SUP_MARGIN and claims[0]["margin"] == 0
    assert ev.control_rows(runs)[0]["values"] == [round(v, 4) for v in ev.values(runs, "mm_student", "control")]


def test_paper_profile_runs_on_cpu_at_a_tiny_size():
    prof = replace(ev.PROFILE_SETTINGS["paper"], teacher_epochs=1, student_epochs=1, batch_size=6)
    corpus = tiny_corpus(n=(6, 6, 6), k=3, f=16, t=24, crop=16, frames=(2, 3, 16, 16))
    task = ev.build_task(corpus)
    run = ev.run_seed(task, prof, 0, control=None)
    assert len(run.cells) == len(ev.TABLE4_METHODS)
    net = ev.model_factory(prof, 3, 16)(METHODS["mm_student"], 0)
    assert net.backbones["audio"].width == 64 and net.backbones["video"].layout == "res18"


@needs_av
def test_load_real_decodes_audioset_and_vggsound(tmp_path, monkeypatch):
    from mke.data import events as data
    from test_events_data import write_mp4, write_wav

    (tmp_path / "segments.csv").write_text(
        "# Segments csv created Sun Mar  5 10:54:31 2017\n# num_ytids=3, num_segs=3\n"
        "# YTID, start_seconds, end_seconds, positive_labels\n"
        'dogGrowl001, 0.000, 10.000, "/m/0ghcn6"\n'
        'dogGrowl002, 0.000, 10.000, "/m/0ghcn6"\n'
        'broken00001, 0.000, 10.000, "/m/0ghcn6"\n')
    audio = tmp_path / "audio"
    audio.mkdir()
    write_wav(audio / "YdogGrowl001.wav", 2.0)
    write_wav(audio / "YdogGrowl002.wav", 2.0)
    (audio / "Ybroken00001.wav").write_bytes(b"RIFF0000WAVE")
    (tmp_path / "vggsound.csv").write_text("vidTrain001,30,dog growling,train\nvidTrain002,0,basketball bounce,train\n"
                                           "vidTest0001,0,dog growling,test\n")
    video = tmp_path / "video"
    video.mkdir()
    for name in ("vidTrain001_000030", "vidTrain002_000000", "vidTest0001_000000"):
        write_mp4(video / f"{name}.mp4", colours=[(200, 30, 30)] * 8, seconds=1.0 if name == "vidTrain002_000000" else 2.0)
    prof = ev.PROFILE_SETTINGS["quick"]
    args = (tmp_path / "segments.csv", audio, tmp_path / "vggsound.csv", video)
    corpus = ev.load_real(prof, *args)
    cfg = ev.feature_config(prof)
    assert [len(corpus.splits[s]["y"]) for s in ("D_l", "D_u", "test")] == [2, 2, 1]
    assert corpus.names == tuple(data.EVENT_CLASSES) and corpus.crop_cols == cfg.crop_cols
    assert corpus.splits["D_u"]["video"].shape == (2, cfg.n_frames, 3, *cfg.frame_size)
    dl_video = corpus.splits["D_l"]["video"]  # AudioSet has no frames: a placeholder of one clip's zeros
    assert dl_video.shape[0] == 2 and not dl_video.any()
    assert dl_video.untyped_storage().nbytes() == dl_video[0].numel()
    assert "2 kept, 1 skipped" in corpus.skipped["D_l"]
    # every split has the width of max_seconds; a shorter clip sits in the middle of it
    width = data.n_columns(cfg.max_samples, cfg.nperseg, cfg.noverlap)
    assert {corpus.splits[s]["audio"].shape[1:] for s in ("D_l", "D_u", "test")} == {(cfg.freq_bins, width)}
    a = corpus.splits["D_u"]["audio"]
    short = data.n_columns(len(data.decode_audio(video / "vidTrain002_000000.mp4", 8000)), cfg.nperseg, cfg.noverlap)
    left = (width - short) // 2
    assert torch.all(a[1, :, :left] == 0) and torch.all(a[1, :, left + short:] == 0)
    assert abs(float(a[1, :, left:left + short].mean())) < 1e-4 and a[1, :, left:left + short].std() > 0.5
    # the chain runs on it (the NOISY student concatenates D_l and D_u)
    run = ev.run_seed(ev.build_task(corpus), prof, 0, control=None)
    assert set(run.cells) == {("main", m) for m in ev.TABLE4_METHODS}
    # a second call reads the cache: no decoding at all
    import mke.data.events as events_module

    def no_decoding(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(events_module, "load_vggsound", no_decoding)
    monkeypatch.setattr(events_module, "load_audioset", no_decoding)
    again = ev.load_real(prof, *args)
    assert torch.equal(again.splits["D_u"]["audio"], a)
    # a clip added to a folder is noticed
    write_mp4(video / "vidExtra001_000000.mp4", colours=[(0, 0, 200)] * 8)
    with pytest.raises(AssertionError, match="decoded again"):
        ev.load_real(prof, *args)
