"""The RAVDESS loader on tiny files in RAVDESS's format, made here with PyAV."""
import re

import numpy as np
import pytest

av = pytest.importorskip("av", reason="PyAV is not installed (pip install -e .[media])")
pytest.importorskip("librosa", reason="librosa is not installed (pip install -e .[media])")

from mke.data import ravdess as rv  # noqa: E402
from test_events_parsing import needs_x264, write_frames  # noqa: E402


def tone_wave(seconds=2.0, sr=44100, tone=440.0):
    """The tone :func:`write_media` writes (before its 16-bit or float encoding)."""
    t = np.arange(int(seconds * sr)) / sr
    return 0.5 * np.sin(2 * np.pi * tone * t)


def write_media(path, seconds=2.0, fps=4, video=True, audio=True, tone=440.0, level=128, sr=44100):
    """An .mp4 (mpeg4 video, aac audio) or a .wav (pcm) with a flat grey picture and a tone.

    ``level`` is one grey level for every frame, or a sequence of one level per frame."""
    container = av.open(str(path), "w")
    vs = as_ = None
    if video:
        vs = container.add_stream("mpeg4", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
    if audio:
        as_ = container.add_stream("pcm_s16le" if str(path).endswith(".wav") else "aac", rate=sr, layout="mono")
    if video:
        for i in range(int(seconds * fps)):
            img = np.full((32, 32, 3), level[i] if np.ndim(level) else level, np.uint8)
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in vs.encode():
            container.mux(packet)
    if audio:
        wave = tone_wave(seconds, sr, tone)
        fmt = "s16" if str(path).endswith(".wav") else "fltp"
        for start in range(0, len(wave), 1024):
            chunk = wave[start:start + 1024]
            data = (chunk * 32767).astype(np.int16)[None] if fmt == "s16" else chunk.astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
            frame.sample_rate, frame.pts = sr, start
            for packet in as_.encode(frame):
                container.mux(packet)
        for packet in as_.encode():
            container.mux(packet)
    container.close()


@pytest.fixture
def corpus(tmp_path):
    """Two actors: audio-video mp4s, a video-only + audio-only pair, a song, junk and a bad file."""
    for actor in (1, 2):
        folder = tmp_path / f"Actor_{actor:02d}"
        folder.mkdir()
        for emotion in (1, 2, 6, 8):
            code = rv.ClipCode(1, 1, emotion, 1, 1, 1, actor)
            write_media(folder / f"{code.name()}.mp4", level=30 * emotion)
    a2 = tmp_path / "Actor_02"
    write_media(a2 / "02-01-05-02-02-01-02.mp4", audio=False)  # video-only ...
    write_media(a2 / "03-01-05-02-02-01-02.wav", video=False, sr=48000)  # ... and its audio
    write_media(a2 / "01-02-03-01-01-01-02.mp4")  # song: not speech
    (a2 / "notes.mp4").write_bytes(b"x")  # malformed name
    (a2 / "01-01-03-01-01-02-02.mp4").write_bytes(b"not a video")  # unreadable
    write_media(a2 / "01-01-03-01-01-01-01.mp4")  # actor code 01 in folder Actor_02
    return tmp_path


def test_parse_name_and_codes():
    c = rv.parse_name("Actor_12/02-01-06-01-02-01-12.mp4")
    assert (c.modality, c.vocal_channel, c.emotion, c.intensity, c.statement, c.repetition, c.actor) == (2, 1, 6, 1, 2, 1, 12)
    assert c.emotion_name == "fearful" and c.label == 5 and c.name() == "02-01-06-01-02-01-12"


@pytest.mark.parametrize("name, match", [("03-01-09-01-01-01-01.wav", "emotion code 09"),
                                         ("01-01-01-02-01-01-01.mp4", "neutral"),
                                         ("01-01-01-01-01-01.mp4", "seven two-digit codes"),
                                         ("01-01-02-01-01-01-25.mp4", "actor code 25")])
def test_malformed_names_are_rejected_with_the_reason(name, match):
    with pytest.raises(rv.RavdessNameError, match=match):
        rv.parse_name(name)


def test_scan_pairs_modalities_and_counts_skips(corpus):
    report = rv.scan(corpus)
    assert len(report.clips) == 4 + 4 + 1 + 1  # 8 AV, 1 video+audio pair, 1 unreadable (found at decode)
    pair = [c for c in report.clips if c.code.emotion == 5][0]
    assert pair.video.name.startswith("02-") and pair.audio.suffix == ".wav"
    reasons = " | ".join(report.skipped.values())
    assert "seven two-digit codes" in reasons and "actor code 01 in folder Actor_02" in reasons
    assert all(c.code.vocal_channel == 1 for c in report.clips)  # the song is not speech
    with pytest.raises(FileNotFoundError, match="no Actor_XX folders"):
        rv.scan(corpus / "Actor_01")


def test_decoding_frames_audio_and_mfcc(corpus):
    clip = corpus / "Actor_01" / "01-01-06-01-01-01-01.mp4"
    frames = rv.decode_frames(clip, every=0.5, size=16)
    assert frames.shape == (4, 16, 16)  # 2 s, one frame every 0.5 s
    assert frames.mean() == pytest.approx(30 * 6 / 255, abs=0.08)  # the grey level written
    audio = rv.decode_audio(clip, sr=16000)
    assert len(audio) == pytest.approx(2.0 * 16000, rel=0.06)
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(len(audio), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=5)
    wav = rv.decode_audio(corpus / "Actor_02" / "03-01-05-02-02-01-02.wav", sr=16000)  # 48 kHz resampled
    assert len(wav) == pytest.approx(2.0 * 16000, rel=0.01)
    assert rv.mfcc(audio, 16000, n_mfcc=20, n_frames=50).shape == (20, 50)


def test_load_features_skips_and_counts_unreadable_files(corpus):
    feats = rv.load_features(corpus, n_images=4, size=16, n_mfcc=20, n_frames=40)
    assert feats.images.shape == (9, 4, 16, 16) and feats.mfcc.shape == (9, 20, 40)
    assert sorted(set(feats.y)) == [0, 1, 4, 5, 7]
    unreadable = [p for p, why in feats.report.skipped.items() if why.startswith("unreadable")]
    assert len(unreadable) == 1 and unreadable[0].endswith("01-01-03-01-01-02-02.mp4")


def test_splits_follow_the_paper_and_by_actor():
    # RAVDESS speech: 24 actors x 60 clips (neutral 4, each other emotion 8) = 1440
    per_actor = np.array([0] * 4 + [e for e in range(1, 8) for _ in range(8)])
    y, actor = np.tile(per_actor, 24), np.repeat(np.arange(1, 25), 60)
    s = rv.split_indices(y, actor, seed=0)
    sizes = {k: len(v) for k, v in s.items()}
    assert sizes == {"D_l": 288, "D_u": 921, "val": 115, "test": 116}
    assert len(np.unique(np.concatenate(list(s.values())))) == 1440
    expected = np.bincount(y) * 0.2
    assert np.all(np.abs(np.bincount(y[s["D_l"]]) - expected) <= 1)  # stratified
    assert all(np.array_equal(s[k], rv.split_indices(y, actor, seed=0)[k]) for k in s)  # seeded
    by = rv.split_indices(y, actor, seed=0, by_actor=True)
    groups = [set(actor[v]) for v in by.values()]
    assert all(not (a & b) for i, a in enumerate(groups) for b in groups[i + 1:])  # no actor in two splits


# --- issue 10: pins that make the mutants of mke.data.ravdess fail --------------------------------


def exactly(message):
    """A pytest.raises pattern that matches ``message`` and nothing more."""
    return "^" + re.escape(message) + "$"


FIELD_CODES = dict(modality=1, vocal_channel=1, emotion=2, intensity=1, statement=1, repetition=1,
                   actor=1)  # 01-01-02-01-01-01-01: calm, normal speech


def _name(**codes):
    return "-".join(f"{v:02d}" for v in {**FIELD_CODES, **codes}.values())


@pytest.mark.parametrize("field, lo, hi", [("modality", 1, 3), ("vocal_channel", 1, 2), ("emotion", 1, 8),
                                           ("intensity", 1, 2), ("statement", 1, 2), ("repetition", 1, 2),
                                           ("actor", 1, 24)])
def test_each_code_is_accepted_at_its_limits_and_rejected_one_past(field, lo, hi):
    """Every field's range, both ends inclusive: lo and hi parse, lo - 1 and hi + 1 are rejected
    with the name, the field, the code and the range (kills < / <= swaps and the message's None)."""
    for v in (lo, hi):
        assert getattr(rv.parse_name(_name(**{field: v}) + ".mp4"), field) == v
    for v in (lo - 1, hi + 1):
        name = _name(**{field: v}) + ".mp4"
        expected = f"{name!r}: {field} code {v:02d} is outside {lo:02d}-{hi:02d}"
        with pytest.raises(rv.RavdessNameError, match=exactly(expected)):
            rv.parse_name(name)


@pytest.mark.parametrize("name", ["1-01-01-01-01-01-01.mp4", "01-01-01-01-01-01-01-01.mp4", "01_01_01_01_01_01_01",
                                  "01-01-01-01-01-01-0a.wav", "x01-01-01-01-01-01-01.mp4", "notes.mp4"])
def test_a_name_that_is_not_seven_two_digit_codes_is_rejected_with_the_layout(name):
    """The whole stem must be seven two-digit codes; the error names the file and the layout."""
    expected = (f"{name!r}: expected seven two-digit codes MM-VV-EE-II-SS-RR-AA "
                f"(modality-vocal channel-emotion-intensity-statement-repetition-actor)")
    with pytest.raises(rv.RavdessNameError, match=exactly(expected)):
        rv.parse_name(name)


def test_only_neutral_lacks_a_strong_intensity():
    """Neutral (01) strong (02) is rejected; every other emotion has a strong take, and neutral a
    normal one (kills == 1 / == 2 flips, their numbers and `and` -> `or`)."""
    expected = "'01-01-01-02-01-01-01': neutral (emotion 01) has no strong intensity (02)"
    with pytest.raises(rv.RavdessNameError, match=exactly(expected)):
        rv.parse_name("01-01-01-02-01-01-01")
    assert rv.parse_name("01-01-01-01-01-01-01").intensity == 1
    for emotion in range(2, 9):
        c = rv.parse_name(f"Actor_05/01-01-{emotion:02d}-02-01-01-05.mp4")
        assert (c.emotion, c.intensity, c.label, c.actor) == (emotion, 2, emotion - 1, 5)


@pytest.fixture
def names(tmp_path):
    """Empty files with RAVDESS names (scan reads names only): every pairing case and every skip reason,
    non-media files and folders that are not Actor_XX. Sorted, the junk comes first in its folder."""
    files = {
        "Actor_01": [".DS_Store",  # not media: ignored, and scanning goes on
                     "00-01-01-01-01-01-01.mp4",  # malformed (modality 00), sorts first
                     "01-01-01-01-01-01-01.mp4",  # audio-video: a clip on its own
                     "01-01-02-01-01-01-01.MP4",  # suffixes are case-insensitive
                     "01-01-03-01-01-01-01.wav",  # audio-video code in a .wav
                     "02-01-05-01-01-01-01.mp4", "03-01-05-01-01-01-01.wav",  # video-only + audio-only: a pair
                     "02-01-06-01-01-01-01.mp4",  # video-only, no audio
                     "03-01-04-01-01-01-01.mp4",  # audio-only code in an .mp4
                     "03-01-07-01-01-01-01.wav",  # audio-only, no video
                     "01-01-08-01-01-01-01.mp4", "02-01-08-01-01-01-01.mp4", "03-01-08-01-01-01-01.wav",  # all three
                     "01-02-03-01-01-01-01.mp4"],  # song
        "Actor_02": ["01-01-02-01-01-01-03.mp4",  # actor 03 in Actor_02
                     "01-01-02-02-02-02-02.mp4"],
        "Actor_3": ["01-01-02-01-01-01-03.mp4"],  # not Actor_XX: ignored
        "Extras": ["01-01-02-01-01-01-01.mp4"],  # not an actor folder: ignored
    }
    for folder, names in files.items():
        (tmp_path / folder).mkdir()
        for n in names:
            (tmp_path / folder / n).write_bytes(b"")
    (tmp_path / "Actor_04").write_bytes(b"")  # a file, not a folder: ignored
    return tmp_path


def test_scan_clips_pair_and_order_exactly(names):
    """Which files make which clip, in clip_key order: 01 alone; 02 + 03 as a pair; 01 wins over
    02 + 03; the song and non-Actor_XX folders never count (kills `in` / `and` swaps, the file
    dictionary's keys, continue -> break and the default vocal channel)."""
    report = rv.scan(names)
    got = [(c.code.emotion, c.code.actor, c.video.name, c.audio.name) for c in report.clips]
    assert got == [(1, 1, "01-01-01-01-01-01-01.mp4", "01-01-01-01-01-01-01.mp4"),
                   (2, 1, "01-01-02-01-01-01-01.MP4", "01-01-02-01-01-01-01.MP4"),
                   (2, 2, "01-01-02-02-02-02-02.mp4", "01-01-02-02-02-02-02.mp4"),
                   (5, 1, "02-01-05-01-01-01-01.mp4", "03-01-05-01-01-01-01.wav"),
                   (8, 1, "01-01-08-01-01-01-01.mp4", "01-01-08-01-01-01-01.mp4")]
    assert all(c.video.parent.name == f"Actor_{c.code.actor:02d}" for c in report.clips)
    assert report.summary() == "5 clips, 6 files skipped"
    songs = rv.scan(names, vocal_channel=2)
    assert [c.video.name for c in songs.clips] == ["01-02-03-01-01-01-01.mp4"]


def test_scan_counts_every_skipped_file_under_its_path_with_its_reason(names):
    """The skip report maps each file's full path to the exact reason; non-media files, songs and
    files made redundant by an audio-video one are not in it (kills str(path) -> str(None), the
    reasons' strings and their `2 in files` choice)."""
    a1, a2 = names / "Actor_01", names / "Actor_02"
    assert rv.scan(names).skipped == {
        str(a1 / "00-01-01-01-01-01-01.mp4"): "'00-01-01-01-01-01-01.mp4': modality code 00 is outside 01-03",
        str(a1 / "01-01-03-01-01-01-01.wav"): "modality 01 should be a .mp4 file",
        str(a1 / "03-01-04-01-01-01-01.mp4"): "modality 03 should be a .wav file",
        str(a2 / "01-01-02-01-01-01-03.mp4"): "actor code 03 in folder Actor_02",
        str(a1 / "02-01-06-01-01-01-01.mp4"): "no matching audio (03) for this video-only file",
        str(a1 / "03-01-07-01-01-01-01.wav"): "no matching video (01 or 02) for this audio-only file",
    }


def test_scan_refuses_a_root_that_is_not_a_folder(tmp_path):
    """A missing root and a file root are refused with the path and what a root should hold."""
    for root in (tmp_path / "missing", tmp_path / "file.zip"):
        if root.name == "file.zip":
            root.write_bytes(b"")
        expected = f"RAVDESS root {str(root)!r} is not a folder (expected Actor_01 ... Actor_24 inside)"
        with pytest.raises(FileNotFoundError, match=exactly(expected)):
            rv.scan(root)
    expected = f"no Actor_XX folders under {str(tmp_path)!r}: is this the unpacked RAVDESS?"
    with pytest.raises(FileNotFoundError, match=exactly(expected)):
        rv.scan(tmp_path)


STEPS = [255, 20, 200, 60, 150, 100, 120, 0]  # one grey level per frame: 2 s at 4 fps, neighbours far apart


@pytest.fixture
def steps(tmp_path):
    """An audio-video clip whose 8 frames (t = 0, 0.25, ..., 1.75 s) each have their own grey level."""
    path = tmp_path / "01-01-06-01-01-01-01.mp4"
    write_media(path, level=STEPS)
    return path


def levels(frames):
    return (frames.mean(axis=(1, 2)) * 255).round().tolist()


def test_decode_frames_takes_the_first_frame_at_or_after_each_step(steps):
    """Defaults: every 0.5 s, 48 x 48, float32, so t = 0, 0.5, 1, 1.5 -> frames 0, 2, 4, 6 (not the
    ones just after, nor all 8); white is exactly 1.0 and black 0.0 (kills the defaults, the start
    time, `t + 1e-6` -> `t - 1e-6`, `+=` -> `-=` / `=`, `/ 255` -> `/ 256`, astype(None))."""
    frames = rv.decode_frames(steps)
    assert frames.shape == (4, 48, 48) and frames.dtype == np.float32
    assert levels(frames) == pytest.approx([255, 200, 150, 120], abs=2)
    assert frames[0].min() == 1.0
    every_frame = rv.decode_frames(steps, every=0.25, size=16)
    assert every_frame.shape == (8, 16, 16) and every_frame[-1].max() == 0.0
    assert levels(every_frame) == pytest.approx(STEPS, abs=2)


def test_decode_frames_stops_at_max_frames(steps):
    """max_frames frames exactly, the first ones (kills >= -> > and break -> return)."""
    frames = rv.decode_frames(steps, every=0.25, size=8, max_frames=3)
    assert frames.shape == (3, 8, 8)
    assert levels(frames) == pytest.approx(STEPS[:3], abs=2)
    assert rv.decode_frames(steps, every=0.25, size=8, max_frames=8).shape == (8, 8, 8)


def test_decode_frames_tolerates_a_timestamp_up_to_1e6_s_early(steps):
    """A frame at most 1e-6 s before a step (a rounded-down timestamp) counts as on it, the limit
    included: every = 0.5 + 1e-6 still takes the frame at 0.5 s; 0.5 + 2e-6 takes the next one."""
    for every, second in ((0.5 + 1e-6, STEPS[2]), (0.5 + 2e-6, STEPS[3])):
        assert levels(rv.decode_frames(steps, every, size=8, max_frames=2)) == pytest.approx([255, second], abs=2)


def test_decode_frames_refuses_a_video_stream_without_frames(tmp_path):
    """An (AVI) video stream that holds no frame is an error that names the file."""
    path = tmp_path / "empty.avi"
    container = av.open(str(path), "w")
    vs = container.add_stream("mpeg4", rate=4)
    vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
    container.start_encoding()
    container.close()
    with pytest.raises(ValueError, match=exactly(f"{path}: no video frames decoded")):
        rv.decode_frames(path)


def pcm(seconds=2.0, sr=44100):
    """What a 16-bit .wav of write_media's tone decodes to: its int16 samples / 32767, float32."""
    return (tone_wave(seconds, sr) * 32767).astype(np.int16).astype(np.float32) / np.float32(32767)


def test_decode_audio_at_the_native_rate_is_the_scaled_pcm(tmp_path):
    """Default sr 16 kHz: a 16 kHz .wav comes back sample for sample as int16 / 32767 in float32,
    not resampled (kills the default, the int scaling's None / `*=` / `=`, astype(None))."""
    path = tmp_path / "03-01-02-01-01-01-01.wav"
    write_media(path, video=False, sr=16000)
    y = rv.decode_audio(path)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, pcm(2.0, 16000))


def test_decode_audio_resamples_with_kaiser_best(tmp_path):
    """48 kHz -> 16 kHz is librosa's 'kaiser_best' on the float32 samples, bit for bit (librosa's
    default resampler differs by ~4e-4; a float64 pipeline by ~4e-7)."""
    librosa = pytest.importorskip("librosa")
    path = tmp_path / "03-01-02-01-01-01-01.wav"
    write_media(path, video=False, sr=48000)
    expected = librosa.resample(pcm(2.0, 48000), orig_sr=48000, target_sr=16000, res_type="kaiser_best")
    np.testing.assert_array_equal(rv.decode_audio(path, sr=16000), expected)


def test_decode_audio_refuses_files_without_audio(tmp_path):
    """No audio stream, and an audio stream without samples: two errors that name the file."""
    video_only = tmp_path / "02-01-02-01-01-01-01.mp4"
    write_media(video_only, audio=False)
    with pytest.raises(ValueError, match=exactly(f"{video_only}: no audio stream")):
        rv.decode_audio(video_only)
    empty = tmp_path / "03-01-02-01-01-01-01.wav"
    container = av.open(str(empty), "w")
    container.add_stream("pcm_s16le", rate=16000, layout="mono")
    container.start_encoding()
    container.close()
    with pytest.raises(ValueError, match=exactly(f"{empty}: no audio samples decoded")):
        rv.decode_audio(empty)


def test_mfcc_defaults_and_zero_padding():
    """Defaults: sr 16 kHz, 40 coefficients, 128 frames, hop 256. 25600 samples make 101 librosa frames,
    zero-padded on the right to 128 (kills every default, the pad widths, `-` -> `+`, astype(None))."""
    librosa = pytest.importorskip("librosa")
    y = pcm(1.6, 16000)
    assert len(y) == 25600
    m = rv.mfcc(y)
    assert m.shape == (40, 128) and m.dtype == np.float32
    full = librosa.feature.mfcc(y=y, sr=16000, n_mfcc=40, hop_length=256).astype(np.float32)
    assert full.shape == (40, 101)
    np.testing.assert_array_equal(m[:, :101], full)
    assert not m[:, 101:].any()


def test_mfcc_crops_a_long_clip_to_its_first_frames():
    """More frames than n_frames: the first n_frames, unchanged (an exact fit is returned whole)."""
    librosa = pytest.importorskip("librosa")
    y = pcm(2.0, 8000)
    full = librosa.feature.mfcc(y=y, sr=8000, n_mfcc=13, hop_length=128).astype(np.float32)
    assert full.shape == (13, 126)
    np.testing.assert_array_equal(rv.mfcc(y, 8000, n_mfcc=13, n_frames=50, hop_length=128), full[:, :50])
    np.testing.assert_array_equal(rv.mfcc(y, 8000, n_mfcc=13, n_frames=126, hop_length=128), full)


@pytest.fixture
def one_clip(tmp_path, steps):
    """A RAVDESS root with one audio-video clip (actor 01, fearful) with a level per frame."""
    (tmp_path / "Actor_01").mkdir()
    return tmp_path, steps.rename(tmp_path / "Actor_01" / steps.name)


def test_load_features_defaults(one_clip):
    """Defaults: 6 images of 48 x 48 every 0.5 s (a 2 s clip has 4: its last is repeated), MFCCs of
    16 kHz audio, 40 x 128, hop 256; labels, actors and codes per clip (kills each default, the short
    clip's padding, and the appends and arrays of actors and codes)."""
    root, path = one_clip
    feats = rv.load_features(root)
    assert feats.images.shape == (1, 6, 48, 48) and feats.mfcc.shape == (1, 40, 128)
    frames = rv.decode_frames(path, 0.5, 48)
    np.testing.assert_array_equal(feats.images[0], np.concatenate([frames, frames[[3, 3]]]))
    np.testing.assert_array_equal(feats.mfcc[0], rv.mfcc(rv.decode_audio(path, 16000), 16000, 40, 128, 256))
    assert feats.y.tolist() == [5] and feats.actor.tolist() == [1]
    assert feats.codes == [rv.parse_name(path.name)] and feats.report.skipped == {}


def test_load_features_passes_every_argument_on(one_clip):
    """Non-default arguments reach decode_frames, decode_audio and mfcc (kills each dropped or None
    argument whose default would otherwise match)."""
    root, path = one_clip
    args = dict(n_images=2, every=0.25, size=16, sr=22050, n_mfcc=13, n_frames=100, hop_length=512)
    feats = rv.load_features(root, **args)
    assert feats.images.shape == (1, 2, 16, 16) and feats.mfcc.shape == (1, 13, 100)
    assert levels(feats.images[0]) == pytest.approx(STEPS[:2], abs=2)
    np.testing.assert_array_equal(feats.mfcc[0], rv.mfcc(rv.decode_audio(path, 22050), 22050, 13, 100, 512))


def test_load_features_names_the_exception_of_an_unreadable_clip(one_clip):
    """A clip that fails to decode is skipped under its video's path with 'unreadable: <type>: <message>'
    (here an audio-video .mp4 without audio: decode_audio's ValueError); the others still load."""
    root, path = one_clip
    silent = root / "Actor_01" / "01-01-03-01-01-01-01.mp4"
    write_media(silent, audio=False)
    feats = rv.load_features(root, n_images=2, size=8, n_frames=8)
    assert feats.codes == [rv.parse_name(path.name)]
    assert feats.report.skipped == {str(silent): f"unreadable: ValueError: {silent}: no audio stream"}


def test_load_features_refuses_a_root_where_nothing_decodes(tmp_path):
    """Every clip unreadable: an error naming the root and the scan's counts, not an empty result."""
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / "01-01-02-01-01-01-01.mp4").write_bytes(b"not a video")
    expected = f"no clip under {str(tmp_path)!r} could be decoded (1 clips, 1 files skipped)"
    with pytest.raises(ValueError, match=exactly(expected)):
        rv.load_features(tmp_path)


def ravdess_speech(n_actors=24):
    """RAVDESS speech's labels and actors: per actor 60 clips (neutral 4, each other emotion 8)."""
    per_actor = np.array([0] * 4 + [e for e in range(1, 8) for _ in range(8)])
    return np.tile(per_actor, n_actors), np.repeat(np.arange(1, n_actors + 1), 60)


SHARES = {"D_l": 0.2, "D_u": 0.64, "val": 0.08, "test": 0.08}


def test_split_by_clip_is_stratified_in_every_split_and_seeded_with_0():
    """Each split holds each emotion's share to within one clip (all three train_test_split calls
    stratify); the default seed is 0 and another seed gives another split."""
    y, actor = ravdess_speech()
    s = rv.split_indices(y, actor)
    for k, share in SHARES.items():
        assert np.all(np.abs(np.bincount(y[s[k]], minlength=8) - share * np.bincount(y)) < 1), k
    seeded = rv.split_indices(y, actor, seed=0)
    assert all(np.array_equal(s[k], seeded[k]) for k in SHARES)
    assert not np.array_equal(s["D_l"], rv.split_indices(y, actor, seed=1)["D_l"])


def test_split_by_actor_sizes_and_seed():
    """24 actors -> 4 : 16 : 2 : 2 whole actors (240 : 960 : 120 : 120 clips), every actor once;
    seeded with 0 by default (kills the train sizes' None, random_state None, the default seed)."""
    y, actor = ravdess_speech()
    by = rv.split_indices(y, actor, by_actor=True)
    assert {k: len(set(actor[v].tolist())) for k, v in by.items()} == {"D_l": 4, "D_u": 16, "val": 2, "test": 2}
    assert {k: len(v) for k, v in by.items()} == {"D_l": 240, "D_u": 960, "val": 120, "test": 120}
    assert sorted(np.concatenate(list(by.values())).tolist()) == list(range(1440))
    again = rv.split_indices(y, actor, seed=0, by_actor=True)
    assert all(np.array_equal(by[k], again[k]) for k in by)
    other = rv.split_indices(y, actor, seed=1, by_actor=True)
    assert not all(np.array_equal(by[k], other[k]) for k in by)


PLAN = "too little data for the split (D_l 20%, D_u 64%, val 8%, test 8%): the smallest split, 'val', "


def test_split_refuses_too_few_actors_or_clips_with_the_plan():
    """The errors name the protocol, the shares (each split's key and share), the smallest split and
    the unit counted: 12 actors are too few by actor (13 needed) but enough by clip; 12 clips of each
    emotion are too few both ways (kills the shares' numbers, keys and operators, the names and units)."""
    y, actor = ravdess_speech(12)
    expected = "RAVDESS split by actor: " + PLAN + "needs at least 13 actors to hold 1 of each; found 12."
    with pytest.raises(ValueError, match=exactly(expected)):
        rv.split_indices(y, actor, by_actor=True)
    assert sum(len(v) for v in rv.split_indices(y, actor).values()) == 720
    y, actor = np.arange(8).repeat(12), np.arange(96) % 24 + 1
    few = ("needs at least 13 clips per class to hold 1 of each; 8 of 8 classes have fewer: "
           + ", ".join(f"class {c}: 12" for c in range(8)) + " (96 clips in all).")
    for by_actor, protocol in ((False, "by clip"), (True, "by actor")):
        with pytest.raises(ValueError, match=exactly(f"RAVDESS split {protocol}: " + PLAN + few)):
            rv.split_indices(y, actor, by_actor=by_actor)


def write_two_frames_nut(path, far_pts):
    """A NUT clip (time base 1/3, which NUT stores as 1/49152) of two mpeg4 frames, black at pts 0
    and white at ``far_pts(time_base)``; returns the stream's time base and that pts."""
    from fractions import Fraction

    container = av.open(str(path), "w", format="nut")
    vs = container.add_stream("mpeg4", rate=4)
    vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
    vs.time_base = Fraction(1, 3)
    packets = []
    for level in (0, 255):
        packets += vs.encode(av.VideoFrame.from_ndarray(np.full((32, 32, 3), level, np.uint8), format="rgb24"))
    packets += vs.encode()
    container.start_encoding()
    tb = vs.time_base
    pts = far_pts(tb)
    for i, packet in enumerate(packets):
        packet.time_base, packet.pts, packet.dts = tb, pts if i else 0, pts if i else 0
        container.mux(packet)
    container.close()
    return tb, pts


def test_decode_frames_times_a_frame_by_its_exact_pts_times_time_base(tmp_path):
    """A frame's time is ``pts * time_base`` as an exact fraction rounded once to a float, not PyAV's
    ``frame.time`` (``float(pts) * num / den``, which rounds a pts above 2**53 first): a frame at a
    pts where the two differ is taken by a step at exactly its time, and skipped by the next float."""
    def far_pts(tb):  # the first pts >= 2**60 where rounding pts first changes the time
        return next(p for p in range(2**60, 2**60 + 10**6) if float(p) * tb.numerator / tb.denominator != float(p * tb))

    path = tmp_path / "far.nut"
    tb, pts = write_two_frames_nut(path, far_pts)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    assert stream.time_base == tb and [f.pts for f in frames] == [0, pts]  # the container keeps them
    exact = float(pts * tb)
    assert frames[1].time != exact
    assert levels(rv.decode_frames(path, every=exact, size=8)) == pytest.approx([0, 255], abs=2)
    assert levels(rv.decode_frames(path, every=np.nextafter(exact, np.inf), size=8)) == pytest.approx([0], abs=2)


@needs_x264
def test_decode_frames_of_a_stream_without_timestamps(tmp_path):
    """A raw h264 stream carries no timestamps (every frame's pts is None); its frames should still
    be decoded (at k / rate, as mke.data.events.decode_frames places them)."""
    path = tmp_path / "raw.h264"
    write_frames(path, range(4), 4, fmt="h264", codec="libx264")
    with av.open(str(path)) as c:
        assert all(f.pts is None and f.time is None for f in c.decode(c.streams.video[0]))
    with av.open(str(path)) as c:  # the rate PyAV reads back for the raw stream
        if not c.streams.video[0].average_rate:
            pytest.skip("this FFmpeg reads no frame rate for a raw h264 stream")
        rate = float(c.streams.video[0].average_rate)
    # frame k at k / rate: every frame when the step is shorter than a frame, every other at 2 / rate
    assert len(rv.decode_frames(path, every=0.5 / rate, size=8)) == 4
    kept = rv.decode_frames(path, every=2 / rate, size=8)
    assert len(kept) == 2
    np.testing.assert_allclose(kept[1], rv.decode_frames(path, every=0.5 / rate, size=8)[2])


def test_decode_frames_refuses_frames_with_neither_timestamp_nor_rate(monkeypatch, tmp_path):
    """Without a pts and without a frame rate a frame has no time: the error names the file and the frame."""
    class Frame:
        pts = None
        time = None

    class Stream:
        average_rate = None
        time_base = None

    class Container:
        streams = type("Streams", (), {"video": [Stream()]})()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def decode(self, stream):
            yield Frame()

    monkeypatch.setattr(av, "open", lambda path: Container())
    path = tmp_path / "clip.h264"
    with pytest.raises(ValueError, match=re.escape(f"{path}: video frame 0 has no timestamp and the stream no "
                                                   "frame rate")):
        rv.decode_frames(path)
