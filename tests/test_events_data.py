"""The event chapter's real-data loaders on tiny files in AudioSet's and VGGSound's formats.

The CSVs are written here byte for byte as the datasets ship them (AudioSet's three '#' lines,
comma+space separators and quoted label lists; VGGSound's header-less rows); the media are
written with scipy (a 22.05 kHz stereo WAV) and PyAV (mp4: h264 video + aac audio).
"""
import importlib.util
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import scipy.signal

from mke.data import events as ev

needs_av = pytest.mark.skipif(importlib.util.find_spec("av") is None,
                              reason="PyAV is not installed (pip install -e .[media])")

BASKET, GROWL, MARIMBA = (ev.EVENT_CLASSES.index(n) for n in
                          ("basketball bounce", "dog growling", "playing marimba, xylophone"))

# --- the classes ---------------------------------------------------------------------------------


def test_shipped_classes_follow_the_stated_rule():
    meta = json.loads(resources.files("mke.data").joinpath("events_classes.json").read_text())
    assert "OUR choice" in meta["_about"]
    audioset = {c.mid: c.name for c in ev.audioset_classes()}
    assert len(audioset) == 527 and [c.index for c in ev.audioset_classes()] == list(range(527))
    assert len(ev.VGGSOUND_LABELS) == 309 and len(meta["vggsound_classes_in_audioset"]) == 164
    assert len(ev.EVENT_CLASSES) == len(set(ev.EVENT_CLASSES)) == 46
    assert list(ev.EVENT_CLASSES) == sorted(ev.EVENT_CLASSES)  # class id = alphabetical position
    assert set(ev.PAPER_TABLE5) <= set(ev.EVENT_CLASSES)
    assert set(ev.EVENT_CLASSES) <= ev.VGGSOUND_LABELS
    assert set(ev.EVENT_CLASSES) <= set(meta["vggsound_classes_in_audioset"])
    mids = [m for name in ev.EVENT_CLASSES for m in ev.AUDIOSET_MIDS[name]]
    assert set(mids) <= set(audioset) and len(mids) == len(set(mids))  # no mid names two classes
    # the rule, re-derived from the shipped lists, gives the shipped choice
    assert ev.derive_event_classes() == ev.AUDIOSET_MIDS
    assert ev.AUDIOSET_MIDS["dog growling"] == ("/m/0ghcn6",) and audioset["/m/0ghcn6"] == "Growling"
    assert audioset[ev.AUDIOSET_MIDS["playing violin, fiddle"][0]] == "Violin, fiddle"
    # the rule's boundary: rank 41 (907 clips) is in, rank 42 (906 clips) is not
    assert "playing ukulele" in ev.EVENT_CLASSES and "skidding" not in ev.EVENT_CLASSES


# --- CSV files -----------------------------------------------------------------------------------

SEGMENTS = '''\
# Segments csv created Sun Mar  5 10:54:31 2017
# num_ytids=7, num_segs=7, num_unique_labels=6, num_positive_labels=12
# YTID, start_seconds, end_seconds, positive_labels
-0Ab1_x-yz, 30.000, 40.000, "/m/018w8,/m/09x0r"
dogGrowl001, 0.000, 10.000, "/m/0bt9lr,/m/0ghcn6"
twoClasses1, 10.000, 20.000, "/m/05r5c,/m/02y_763"
unknownMid1, 5.000, 15.000, "/m/018w8,/m/zzzzzz"
speechOnly1, 0.000, 10.000, "/m/09x0r"
missingClip, 0.000, 10.000, "/m/05r5c"
shortClip01, 0.000, 10.000, "/m/02y_763"
'''
VGGSOUND = '''\
---g-f_I2yQ,1,people marching,test
vidBasket01,30,basketball bounce,train
vidBird0001,0,"bird chirping, tweeting",train
vidPiano001,12,playing piano,test
vidUnknown1,0,made up sound,train
vidEmpty001,0,dog growling,train
vidNoAudio1,0,sliding door,train
vidMissing1,0,lawn mowing,train
vidShort001,5,"playing marimba, xylophone",train
vidBasket01,30,basketball bounce,train
'''


def test_audioset_segments_with_and_without_header_and_spaces(tmp_path):
    (tmp_path / "a.csv").write_text(SEGMENTS)
    plain = "".join(line.replace(", ", ",") + "\n" for line in SEGMENTS.splitlines() if not line.startswith("#"))
    (tmp_path / "b.csv").write_text(plain)
    (tmp_path / "c.csv").write_text("YTID,start_seconds,end_seconds,positive_labels\n" + plain)
    rows = ev.read_audioset_segments(tmp_path / "a.csv")
    assert len(rows) == 7
    assert rows[0] == ev.AudioSetSegment("-0Ab1_x-yz", 30.0, 40.0, ("/m/018w8", "/m/09x0r"))
    assert rows[2].labels == ("/m/05r5c", "/m/02y_763")
    assert ev.read_audioset_segments(tmp_path / "b.csv") == rows == ev.read_audioset_segments(tmp_path / "c.csv")
    (tmp_path / "bad.csv").write_text("# header\nabc, 0.000, 10.000, /m/018w8,/m/09x0r\n")  # list not quoted
    with pytest.raises(ValueError, match=r"line 2: .*5 fields \(is the label list quoted"):
        ev.read_audioset_segments(tmp_path / "bad.csv")


def test_class_indices_quoted_names_with_and_without_header(tmp_path):
    body = '0,/m/09x0r,Speech\n1,/m/05zppz,"Male speech, man speaking"\n465,/m/018w8,Basketball bounce\n'
    (tmp_path / "h.csv").write_text("index,mid,display_name\n" + body)
    (tmp_path / "n.csv").write_text(body)
    classes = ev.read_class_indices(tmp_path / "h.csv")
    assert classes == ev.read_class_indices(tmp_path / "n.csv")
    assert classes[1] == ev.AudioSetClass(1, "/m/05zppz", "Male speech, man speaking")
    assert [c.index for c in classes] == [0, 1, 465]


def test_select_audioset_counts_every_reason():
    segs = [ev.AudioSetSegment(*r) for r in [("-0Ab1_x-yz", 30.0, 40.0, ("/m/018w8", "/m/09x0r")),
                                             ("dogGrowl001", 0.0, 10.0, ("/m/0bt9lr", "/m/0ghcn6")),
                                             ("twoClasses1", 10.0, 20.0, ("/m/05r5c", "/m/02y_763")),
                                             ("unknownMid1", 5.0, 15.0, ("/m/018w8", "/m/zzzzzz")),
                                             ("speechOnly1", 0.0, 10.0, ("/m/09x0r",)),
                                             ("dogGrowl001", 0.0, 10.0, ("/m/0ghcn6",))]]
    kept, report = ev.select_audioset(segs)
    assert [(s.ytid, y) for s, y in kept] == [("-0Ab1_x-yz", BASKET), ("dogGrowl001", GROWL)]
    assert report.counts == {"several chapter classes": 1, "unknown label": 1, "no chapter class": 1,
                             "duplicate row": 1}
    assert ("twoClasses1_000010", "several chapter classes") in report.items
    assert report.kept == 2 and report.skipped == 3  # the row with no chapter class is left out by design
    assert "several chapter classes: 1" in report.summary() and "left out by design: no chapter class: 1" \
        in report.summary()


def test_vggsound_rows_and_selection(tmp_path):
    (tmp_path / "vggsound.csv").write_text(VGGSOUND)
    rows = ev.read_vggsound(tmp_path / "vggsound.csv")
    assert rows[0] == ev.VGGSoundRow("---g-f_I2yQ", 1, "people marching", "test")
    assert rows[2].label == "bird chirping, tweeting" and rows[8].label == "playing marimba, xylophone"
    kept, report = ev.select_vggsound(rows, "train")
    assert [(r.ytid, y) for r, y in kept] == [("vidBasket01", BASKET), ("vidEmpty001", GROWL),
                                              ("vidNoAudio1", ev.EVENT_CLASSES.index("sliding door")),
                                              ("vidMissing1", ev.EVENT_CLASSES.index("lawn mowing")),
                                              ("vidShort001", MARIMBA)]
    assert report.counts == {"other split": 2, "not a chapter class": 1, "unknown label": 1, "duplicate row": 1}
    kept, _ = ev.select_vggsound(rows, "test")
    assert [r.ytid for r, _ in kept] == ["vidPiano001"]
    (tmp_path / "bad.csv").write_text("abc,0,bird chirping, tweeting,train\n")  # comma label unquoted
    with pytest.raises(ValueError, match="line 1: .*5 fields"):
        ev.read_vggsound(tmp_path / "bad.csv")


def test_file_name_patterns():
    assert ev.audio_path("f", "-ab_c", 30.0, "Y{ytid}.wav") == Path("f/Y-ab_c.wav")
    assert ev.audio_path("f", "abc", 30.0, "{ytid}_{start}.wav") == Path("f/abc_30.wav")
    assert ev.audio_path("f", "abc", 30.0, "{ytid}_{start:06d}.mp4") == Path("f/abc_000030.mp4")
    flac = ev.audio_path("f", "abc", 30.0, "{ytid}_{start:.3f}_{end:.3f}.flac", 40.0)
    assert flac == Path("f/abc_30.000_40.000.flac")
    assert ev.clip_id("abc", 5) == "abc_000005"
    for bad in ("{start}.wav", "{ytid}_{foo}.wav", "{ytid"):
        with pytest.raises(ValueError, match="pattern"):
            ev.check_pattern(bad)


# --- features ------------------------------------------------------------------------------------


def test_spectrogram_shapes_paper_and_cpu_profiles():
    rng = np.random.default_rng(0)
    assert ev.log_spectrogram(rng.uniform(-1, 1, 5 * 16000)).shape == (257, 500)
    assert ev.audio_features(rng.uniform(-1, 1, 7 * 16000), ev.PAPER_FEATURES).shape == (257, 500)
    assert ev.PAPER_FEATURES.crop_cols == 500 and ev.PAPER_FEATURES.hop == 159
    cpu = ev.CPU_FEATURES
    y = rng.uniform(-1, 1, cpu.crop_samples)
    full = ev.log_spectrogram(y, 8000, 256, 56)
    assert full.shape == (129, 63) and cpu.crop_cols == 63
    pooled = cpu.spectrogram(y)
    assert pooled.shape == (64, 63)
    _, _, power = scipy.signal.spectrogram(y, 8000, nperseg=256, noverlap=56)  # pooled in power, Nyquist dropped
    np.testing.assert_allclose(pooled[5], np.log(power[10:12].mean(0) + 1e-7), rtol=1e-5)
    with pytest.raises(ValueError, match="divisor of 128"):
        ev.EventFeatureConfig(sr=8000, crop_seconds=1.6, nperseg=256, noverlap=56, n_freq=100)


def test_crop_in_spectrogram_domain_equals_hop_aligned_waveform_crop():
    cpu = ev.CPU_FEATURES
    y = np.random.default_rng(1).uniform(-1, 1, 3 * 8000)
    whole = cpu.spectrogram(y)
    assert whole.shape[1] == ev.n_columns(len(y), 256, 56) == 119
    for start in (0, 7, 56):
        wave = y[start * cpu.hop: start * cpu.hop + cpu.crop_samples]
        np.testing.assert_allclose(ev.crop_columns(whole, cpu.crop_cols, start), cpu.spectrogram(wave),
                                   rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="does not fit"):
        ev.crop_columns(whole, 63, 57)


def test_centre_and_random_crops():
    assert ev.centre_start(100, 20) == 40 and ev.centre_start(101, 20) == 40 and ev.centre_start(20, 20) == 0
    rng = np.random.default_rng(0)
    starts = [ev.random_start(100, 20, rng) for _ in range(400)]
    assert min(starts) == 0 and max(starts) == 80 and len(set(starts)) > 60
    # the waveform pipeline: a 7 s clip whose only sound is in its central 5 s
    y = np.zeros(7 * 16000)
    y[16000:6 * 16000] = np.random.default_rng(2).uniform(-0.5, 0.5, 5 * 16000)
    np.testing.assert_allclose(ev.audio_features(y), ev.standardise(ev.log_spectrogram(y[16000:96000])), atol=1e-5)
    start = int(np.random.default_rng(3).integers(0, 2 * 16000 + 1))
    np.testing.assert_allclose(ev.audio_features(y, rng=np.random.default_rng(3)),
                               ev.standardise(ev.log_spectrogram(y[start:start + 80000])), atol=1e-5)


def test_padding_is_centred_and_standardise_is_per_clip():
    padded, note = ev.fit_length(np.ones(10), 15, 20)
    assert note == "padded" and padded.tolist() == [0, 0] + [1] * 10 + [0, 0, 0]
    cut, note = ev.fit_length(np.arange(30.0), 15, 20)
    assert note == "cut" and cut.tolist() == list(range(5, 25))
    same, note = ev.fit_length(np.arange(17.0), 15, 20)
    assert note is None and len(same) == 17
    spec, note = ev.clip_spectrogram(np.full(8000, 0.1), ev.CPU_FEATURES)  # 1 s < the 1.6 s crop
    assert note == "padded" and spec.shape == (64, 63)
    batch = np.random.default_rng(4).normal(3.0, 5.0, (3, 64, 63)) * np.array([1, 2, 3])[:, None, None]
    z = ev.standardise(batch)
    np.testing.assert_allclose(z.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(1, 2)), 1, atol=1e-5)


# --- media ---------------------------------------------------------------------------------------


def write_mp4(path, seconds=2.0, fps=4, colours=None, audio=True, video=True, sr=16000):
    """A tiny mp4: h264 (mpeg4 where PyAV lacks an h264 encoder) 32 x 24 frames + aac mono tone."""
    import av

    container = av.open(str(path), "w")
    if video:  # every stream is added before the first packet is muxed
        codec = "h264" if _can_encode("h264") else "mpeg4"
        vs = container.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = 32, 24, "yuv420p"
    if audio:
        as_ = container.add_stream("aac", rate=sr, layout="mono")
    if video:
        for i in range(int(seconds * fps)):
            rgb = colours[i] if colours else (128, 128, 128)
            frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), rgb, np.uint8), format="rgb24")
            frame.pts = i
            for packet in vs.encode(frame):
                container.mux(packet)
        for packet in vs.encode():
            container.mux(packet)
    if audio:
        wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * sr)) / sr)).astype(np.float32)
        for s in range(0, len(wave), 1024):
            frame = av.AudioFrame.from_ndarray(wave[None, s:s + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sr, s
            for packet in as_.encode(frame):
                container.mux(packet)
        for packet in as_.encode():
            container.mux(packet)
    container.close()


def _can_encode(name):
    import av

    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:
        return False


def write_wav(path, seconds, sr=22050, left=0.6, right=0.2):
    t = np.arange(int(round(seconds * sr))) / sr
    tone = np.sin(2 * np.pi * 440 * t)
    scipy.io.wavfile.write(path, sr, (np.stack([left * tone, right * tone], 1) * 32767).astype(np.int16))


@needs_av
def test_decode_wav_resamples_to_16k_mono(tmp_path):
    write_wav(tmp_path / "a.wav", 1.5)  # 33,075 samples at 22.05 kHz, stereo
    y = ev.decode_audio(tmp_path / "a.wav")
    assert y.dtype == np.float32 and y.shape == (24000,)
    # channels averaged: (0.6 + 0.2) / 2 = 0.4 (FFmpeg's own downmix would give 0.8 / sqrt 2)
    assert abs(np.abs(y[1000:-1000]).max() - 0.4) < 0.01
    assert abs(np.sqrt(np.mean(y[1000:-1000] ** 2)) - 0.4 / np.sqrt(2)) < 0.01


@needs_av
def test_decode_mp4_audio_and_evenly_spaced_frames(tmp_path):
    colours = [(10 + 20 * i, 5 + 10 * i, 200 - 20 * i) for i in range(8)]  # 8 frames, 4 fps, 2 s
    write_mp4(tmp_path / "v.mp4", colours=colours)
    y = ev.decode_audio(tmp_path / "v.mp4", sr=8000)
    assert abs(len(y) - 16000) < 400  # aac adds up to a frame of priming/padding
    frames = ev.decode_frames(tmp_path / "v.mp4", 4, (24, 32))
    assert frames.shape == (4, 3, 24, 32) and frames.dtype == np.uint8
    # centres of 4 equal parts of 2 s: 0.25, 0.75, 1.25, 1.75 s -> frames 1, 3, 5, 7
    np.testing.assert_allclose(frames[:, :, 12, 16], [colours[i] for i in (1, 3, 5, 7)], atol=4)
    window = ev.decode_frames(tmp_path / "v.mp4", 4, (12, 16), start=1.0, end=2.0)
    assert window.shape == (4, 3, 12, 16)
    np.testing.assert_allclose(window[:, :, 6, 8], [colours[i] for i in (4, 5, 6, 7)], atol=4)


@needs_av
def test_bad_media_raise_typed_errors(tmp_path):
    write_mp4(tmp_path / "silent.mp4", audio=False)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 10)
    write_mp4(tmp_path / "blind.mp4", video=False)
    cases = [("silent.mp4", ev.decode_audio, "no audio stream"), ("empty.mp4", ev.decode_audio, "empty file"),
             ("junk.mp4", ev.decode_audio, "undecodable"), ("gone.mp4", ev.decode_audio, "missing clip"),
             ("blind.mp4", lambda p: ev.decode_frames(p, 2, (8, 8)), "no video stream")]
    for name, fn, reason in cases:
        with pytest.raises(ev.MediaError) as info:
            fn(tmp_path / name)
        assert info.value.reason == reason, name


@needs_av
def test_load_vggsound_pairs_files_and_counts_skips(tmp_path):
    (tmp_path / "vggsound.csv").write_text(VGGSOUND)
    videos = tmp_path / "video"
    videos.mkdir()
    write_mp4(videos / "vidBasket01_000030.mp4", colours=[(200, 30, 30)] * 8)
    write_mp4(videos / "vidBasket01_30.mp4", colours=[(0, 0, 0)] * 8)  # not VGGSound's name: ignored
    (videos / "vidEmpty001_000000.mp4").write_bytes(b"")
    write_mp4(videos / "vidNoAudio1_000000.mp4", audio=False)
    write_mp4(videos / "vidShort001_000005.mp4", seconds=1.0)  # shorter than the 1.6 s crop
    clips = ev.load_vggsound(tmp_path / "vggsound.csv", videos, "train", ev.CPU_FEATURES)
    assert clips.ids == ["vidBasket01_000030", "vidShort001_000005"]
    assert clips.y.tolist() == [BASKET, MARIMBA] and clips.y.dtype == np.int64
    assert clips.report.counts == {"other split": 2, "not a chapter class": 1, "unknown label": 1, "duplicate row": 1,
                                   "empty file": 1, "no audio stream": 1, "missing clip": 1, "padded": 1}
    assert clips.report.kept == 2 and clips.report.skipped == 5
    assert ("vidShort001_000005", "padded") in clips.report.items
    assert clips.frames.shape == (2, 4, 3, 32, 32) and clips.frames.dtype == np.uint8
    assert clips.frames[0, :, 0].min() > 150 and clips.frames[0, :, 2].max() < 80  # red, channels first
    n_basket = ev.n_columns(len(ev.decode_audio(videos / "vidBasket01_000030.mp4", 8000)), 256, 56)
    assert clips.cols.tolist() == [n_basket, 63] and clips.spec.shape == (2, 64, n_basket)
    assert clips.spec.dtype == np.float16 and np.all(clips.spec[1, :, 63:] == np.float16(np.log(1e-7)))
    crop = clips.audio(0)
    assert crop.shape == (64, 63)
    start = ev.centre_start(n_basket, 63)
    np.testing.assert_allclose(crop, ev.standardise(clips.spec[0][:, start:start + 63]), atol=1e-6)
    assert clips.audio(1, rng=np.random.default_rng(0)).shape == (64, 63)  # a padded clip has one crop
    with pytest.raises(ValueError, match="no VGGSound test clip could be loaded.*missing clip: 1"):
        ev.load_vggsound(tmp_path / "vggsound.csv", videos, "test", ev.CPU_FEATURES)


@needs_av
def test_load_audioset_wavs(tmp_path):
    (tmp_path / "balanced_train_segments.csv").write_text(SEGMENTS)
    audio = tmp_path / "audio"
    audio.mkdir()
    for ytid, seconds in [("-0Ab1_x-yz", 2.0), ("dogGrowl001", 2.0), ("shortClip01", 0.5), ("twoClasses1", 2.0)]:
        write_wav(audio / f"Y{ytid}.wav", seconds)
    clips = ev.load_audioset(tmp_path / "balanced_train_segments.csv", audio, "Y{ytid}.wav", cfg=ev.CPU_FEATURES)
    assert clips.ids == ["-0Ab1_x-yz_000030", "dogGrowl001_000000", "shortClip01_000000"]
    assert clips.y.tolist() == [BASKET, GROWL, ev.EVENT_CLASSES.index("sliding door")] and clips.frames is None
    assert clips.report.counts == {"several chapter classes": 1, "unknown label": 1, "no chapter class": 1,
                                   "missing clip": 1, "padded": 1}
    assert ("missingClip_000000", "missing clip") in clips.report.items
    assert clips.cols.tolist() == [79, 79, 63]  # 2 s at 8 kHz: 1 + (16000 - 256) // 200; the short clip padded
    # a user's class list that lacks a chapter mid is refused before any decoding
    (tmp_path / "classes.csv").write_text('0,/m/09x0r,Speech\n1,/m/05zppz,"Male speech, man speaking"\n')
    with pytest.raises(ValueError, match="lacks the chapter's AudioSet mids"):
        ev.load_audioset(tmp_path / "balanced_train_segments.csv", audio, "Y{ytid}.wav", tmp_path / "classes.csv")


def test_bad_parameters_fail_before_any_work(tmp_path):
    (tmp_path / "v").mkdir()
    (tmp_path / "vggsound.csv").write_text("this is not, a VGGSound file\n")
    with pytest.raises(ValueError, match=r"must contain \{ytid\}"):  # before the (bad) CSV is read
        ev.load_vggsound(tmp_path / "vggsound.csv", tmp_path / "v", "train", pattern="{start}.mp4")
    with pytest.raises(FileNotFoundError, match="VGGSound video folder .*nowhere"):
        ev.load_vggsound(tmp_path / "vggsound.csv", tmp_path / "nowhere", "train")
    with pytest.raises(FileNotFoundError, match="VGGSound CSV .*missing.csv"):
        ev.load_vggsound(tmp_path / "missing.csv", tmp_path / "v", "train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        ev.load_vggsound(tmp_path / "vggsound.csv", tmp_path / "v", "val")
    with pytest.raises(FileNotFoundError, match="AudioSet segments CSV"):
        ev.load_audioset(tmp_path / "missing.csv", tmp_path / "v", "Y{ytid}.wav")
    with pytest.raises(ValueError, match="noverlap"):
        ev.EventFeatureConfig(nperseg=256, noverlap=256)
