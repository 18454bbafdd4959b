"""Who spoke when, on this machine: speaker turns from a recording, speakers not yet named.

The default backend embeds overlapping 1.6 s windows of speech with the GE2E
speaker encoder that ships inside the ``resemblyzer`` package (its weights are in
the wheel, nothing is downloaded), then clusters the windows by cosine
similarity with spectral clustering, choosing the number of speakers by the
largest eigengap within the bounds the roster allows. The result is anonymous
speakers ``S1``, ``S2``, ... numbered in order of first speech; :mod:`chorus.audio.roster`
names them.

A pyannote pipeline is used instead when the user has one on disk
(``diarizer="pyannote:/path/to/pipeline"``, with ``pyannote.audio`` installed);
it is never fetched from a hub.

>>> turns = diarize(audio, max_speakers=8)          # doctest: +SKIP
>>> turns[0]                                          # doctest: +SKIP
SpeakerTurn(speaker='S1', start=0.27, end=5.57, words='')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from chorus.audio.evaluate import SpeakerTurn
from chorus.audio.media import SAMPLE_RATE, Audio, speech_regions
from chorus.compute import cpu_threads
from chorus.errors import ChorusError

WINDOW = 1.6  # seconds of audio per speaker embedding, fixed by the encoder
RATE = 4.0  # embeddings per second of audio
BATCH = 256  # windows through the encoder at once
MEL_CHUNK = 60.0  # seconds of audio whose spectrogram is computed at once
MOST_CLUSTERED = 2000  # windows clustered directly (about 8 minutes of speech); the rest join the nearest cluster
RELIABLE = 0.6  # share of a window that must be speech for its voice print to be trusted
SHORT_REGION = 1.2  # seconds: a stretch of speech this short is printed on its own, not by windows reaching past it


class Diarizer(Protocol):
    """A diarization backend: anonymous speaker turns for a recording."""

    def __call__(self, audio: Audio, min_speakers: int, max_speakers: int) -> list[SpeakerTurn]: ...


@dataclass(frozen=True)
class Windows:
    """Speaker embeddings of windows of speech, each with the time at its centre."""

    centres: np.ndarray  # seconds
    embeddings: np.ndarray  # one unit vector per row


def _resemblyzer() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # webrtcvad's pkg_resources deprecation notice
        import resemblyzer
    return resemblyzer


@lru_cache(maxsize=1)
def speaker_encoder() -> Any:
    """The packaged GE2E speaker encoder, loaded once (on the CPU: it is small)."""
    return _resemblyzer().VoiceEncoder(device="cpu", verbose=False)


def speaker_windows(audio: Audio, rate: float = RATE) -> Windows:
    """Speaker embeddings of the windows whose centre falls in speech, each mostly speech.

    A window that is less than ``RELIABLE`` speech (at the edge of a stretch of
    speech, reaching over a pause) is left out, and a stretch shorter than
    ``SHORT_REGION`` (an interjection between pauses: "Right.") is printed on its
    own (:func:`tiled_prints`): the windows around it hear mostly its neighbours.
    Measured on the espeak-ng focus group and the AMI clips (stored-turn DER):
    0.063 -> 0.060, sample 0.055 unchanged, tst00 0.79 -> 0.77.

    Windows go through the encoder a batch at a time, so an hour-long recording
    needs no more memory than a short one beyond its samples.
    """
    import torch

    torch.set_num_threads(cpu_threads())
    encoder, resemblyzer = speaker_encoder(), _resemblyzer()
    samples = resemblyzer.audio.normalize_volume(audio.samples, -30, increase_only=True)
    wav_slices, mel_slices = encoder.compute_partial_slices(len(samples), rate, 0.5)
    centres = np.array([(s.start + s.stop) / 2 / SAMPLE_RATE for s in wav_slices])
    regions = speech_regions(audio)
    in_speech = np.zeros(len(centres), dtype=bool)
    for start, end in regions:
        in_speech |= (centres >= start) & (centres < end)
    in_speech &= speech_share(centres, regions, WINDOW) >= RELIABLE
    alone = [(a, b) for a, b in regions if b - a < SHORT_REGION or not in_speech[(centres >= a) & (centres < b)].any()]
    for start, end in alone:
        in_speech &= ~((centres >= start) & (centres < end))
    mel = mel_frames(samples, mel_slices[-1].stop)
    kept = encode(encoder, [mel[s] for s, keep in zip(mel_slices, in_speech) if keep])
    # a stretch printed on its own counts as many windows as its length would give, at times spread over it
    copies = [max(1, round((b - a) * rate)) for a, b in alone]
    embeddings = np.concatenate([kept, np.repeat(tiled_prints(samples, alone), copies, axis=0)])
    times = np.concatenate([centres[in_speech], *[np.linspace(a, b, n + 2)[1:-1] for (a, b), n in zip(alone, copies)]])
    order = np.argsort(times, kind="stable")
    return Windows(times[order], embeddings[order])


def speech_share(centres: np.ndarray, regions: list[tuple[float, float]], width: float) -> np.ndarray:
    """The share of each window (``width`` seconds around each centre) that falls in the speech ``regions``.

    A window at the edge of speech holds silence, or the other side of a pause:
    its voice print is less the speaker's than one inside speech.

    >>> speech_share(np.array([1.0, 2.0]), [(0.0, 1.5)], 1.0).round(2).tolist()
    [1.0, 0.0]
    """
    lows, highs = centres - width / 2, centres + width / 2
    share = np.zeros(len(centres))
    for start, end in regions:
        share += np.clip(np.minimum(highs, end) - np.maximum(lows, start), 0, None)
    return share / width


def encode(encoder: Any, frames: list[np.ndarray]) -> np.ndarray:
    """Voice prints of windows of mel frames, a batch at a time (no gradients kept)."""
    import torch

    pieces = [np.zeros((0, 256), dtype=np.float32)]
    with torch.no_grad():
        for at in range(0, len(frames), BATCH):
            pieces.append(encoder(torch.from_numpy(np.stack(frames[at : at + BATCH]))).numpy())
    return np.concatenate(pieces)


def tiled_prints(samples: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """One voice print per span of ``samples`` (seconds), the span repeated to fill the encoder's window.

    A window around a word or two ("Right.") between pauses holds mostly silence and
    the neighbours' voices; repeated end to end, the span alone fills the window, so
    its print is of that voice only.
    """
    from resemblyzer import hparams

    frames = hparams.partials_n_frames
    wanted = (frames + 2) * int(SAMPLE_RATE * hparams.mel_window_step / 1000)
    windows = []
    for start, end in spans:
        piece = samples[int(start * SAMPLE_RATE) : max(int(end * SAMPLE_RATE), int(start * SAMPLE_RATE) + 1)]
        tiled = np.tile(piece, -(-wanted // len(piece)))
        windows.append(mel_frames(tiled, frames + 1)[1:])  # the first frame is centred on the silence before the start
    return encode(speaker_encoder(), windows)


def mel_frames(samples: np.ndarray, count: int, chunk: float = MEL_CHUNK) -> np.ndarray:
    """The speaker encoder's mel frames of ``samples``: ``count`` frames 10 ms apart, silence past the end.

    The same frames as Resemblyzer's ``wav_to_mel_spectrogram`` (librosa's power mel
    spectrogram, each 25 ms frame centred on its 10 ms step), ``chunk`` seconds of audio
    at a time: that call takes the Fourier transform of the whole recording at once,
    about 0.8 GB for an hour. Computed here with NumPy: importing librosa's spectral
    features (numba, scipy.signal) took 2-3 s of every transcription's start.
    """
    from resemblyzer import hparams

    n_fft = int(SAMPLE_RATE * hparams.mel_window_length / 1000)
    hop = int(SAMPLE_RATE * hparams.mel_window_step / 1000)
    basis = mel_filters(n_fft, hparams.mel_n_channels)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)  # periodic Hann
    per_chunk = max(1, int(chunk * SAMPLE_RATE) // hop)
    frames = np.empty((count, hparams.mel_n_channels), dtype=np.float32)
    for first in range(0, count, per_chunk):
        last = min(first + per_chunk, count)
        start, end = first * hop - n_fft // 2, (last - 1) * hop - n_fft // 2 + n_fft  # frame i: samples around i * hop
        piece = np.zeros(end - start, dtype=np.float32)  # silence before the start and past the end
        inside = slice(max(start, 0), min(end, len(samples)))
        if inside.stop > inside.start:
            piece[inside.start - start : inside.stop - start] = samples[inside]
        spectrum = np.fft.rfft(np.lib.stride_tricks.sliding_window_view(piece, n_fft)[::hop] * window, axis=1)
        frames[first:last] = (np.abs(spectrum) ** 2).astype(np.float32) @ basis.T
    return frames


def mel_filters(n_fft: int, n_mels: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Triangular filters from 0 Hz to half ``rate`` on the Slaney mel scale, each of unit area (librosa's default)."""

    def mel(hz: np.ndarray) -> np.ndarray:  # linear below 1 kHz, logarithmic above
        return np.where(hz < 1000, hz * 3 / 200, 15 + np.log(np.maximum(hz, 1000) / 1000) * 27 / np.log(6.4))

    def hz(mels: np.ndarray) -> np.ndarray:
        return np.where(mels < 15, mels * 200 / 3, 1000 * np.exp((mels - 15) * np.log(6.4) / 27))

    edges = hz(np.linspace(mel(np.array(0.0)), mel(np.array(rate / 2)), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1 / rate)
    rising = (bins[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    falling = (edges[2:, None] - bins[None, :]) / np.diff(edges)[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling)) * (2 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def voice_print(audio: Audio) -> np.ndarray:
    """One unit vector for the voice in ``audio`` (an enrolment clip), from its speech only."""
    windows = speaker_windows(audio, rate=2.0)
    if not len(windows.embeddings):
        windows = speaker_windows(audio.with_all_speech(), rate=2.0)
    mean = windows.embeddings.mean(axis=0)
    return mean / np.linalg.norm(mean)


def _affinity(embeddings: np.ndarray) -> np.ndarray:
    """Cosine affinity, each row kept to its strongest neighbours and symmetrised (Wang et al., 2018)."""
    similarity = np.clip(embeddings @ embeddings.T, 0.0, 1.0)
    n = len(similarity)
    keep = max(2, int(np.ceil(0.25 * n)))
    threshold = -np.sort(-similarity, axis=1)[:, keep - 1 : keep]
    pruned = np.where(similarity >= threshold, similarity, 0.01 * similarity)
    return np.maximum(pruned, pruned.T)


def cluster(
    embeddings: np.ndarray, min_speakers: int = 1, max_speakers: int = 10, seed: int = 0, most: int = MOST_CLUSTERED
) -> np.ndarray:
    """A speaker number per embedding, the count chosen by the largest eigengap in [min, max].

    Over ``most`` embeddings (a long recording), an evenly spread sample of them
    is clustered and every embedding joins the nearest cluster's centre: the
    affinity matrix grows with the square of the windows.
    """
    from scipy.linalg import eigh
    from scipy.sparse.csgraph import laplacian
    from sklearn.cluster import KMeans

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n > most:
        sampled = embeddings[np.linspace(0, n - 1, most).round().astype(int)]
        labels = cluster(sampled, min_speakers, max_speakers, seed, most)
        centres = np.stack([sampled[labels == k].mean(axis=0) for k in range(labels.max() + 1)])
        return np.argmax(embeddings @ (centres / np.linalg.norm(centres, axis=1, keepdims=True)).T, axis=1)
    max_speakers = max(1, min(max_speakers, n - 1))
    min_speakers = max(1, min(min_speakers, max_speakers))
    if max_speakers == 1:
        return np.zeros(n, dtype=int)
    values, vectors = eigh(laplacian(_affinity(embeddings), normed=True), subset_by_index=[0, max_speakers])
    gaps = np.diff(values)
    k = min_speakers + int(np.argmax(gaps[min_speakers - 1 : max_speakers]))
    spectral = vectors[:, :k]
    spectral = spectral / np.maximum(np.linalg.norm(spectral, axis=1, keepdims=True), 1e-12)
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(spectral)


def _smooth(labels: np.ndarray, width: int = 5) -> np.ndarray:
    """Majority label over a running window, so one odd window does not make a turn."""
    if len(labels) < width:
        return labels
    half = width // 2
    padded = np.pad(labels, half, mode="edge")
    counts = np.stack([np.bincount(padded[i : i + width], minlength=labels.max() + 1) for i in range(len(labels))])
    return counts.argmax(axis=1)


def label_regions(audio: Audio, windows: Windows, labels: np.ndarray) -> list[SpeakerTurn]:
    """Speaker turns: each stretch of speech given the cluster label of the nearest window, runs merged."""
    if not len(labels):
        return []
    step = 0.05
    turns: list[SpeakerTurn] = []
    for start, end in speech_regions(audio):
        times = np.arange(start, end, step)
        nearest = np.searchsorted(windows.centres, times).clip(1, len(windows.centres) - 1)
        left_closer = np.abs(windows.centres[nearest - 1] - times) <= np.abs(windows.centres[nearest] - times)
        nearest = np.where(left_closer, nearest - 1, nearest)
        who = labels[nearest]
        edges = np.flatnonzero(np.diff(who)) + 1
        for a, b in zip(np.r_[0, edges], np.r_[edges, len(who)]):
            turns.append(SpeakerTurn(str(who[a]), float(times[a]), float(min(times[b - 1] + step, end))))
    return turns


def _numbered(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """The turns with their speakers renamed S1, S2, ... in order of first speech, whatever the backend called them."""
    order: dict[str, str] = {}
    for t in sorted(turns, key=lambda t: t.start):
        order.setdefault(t.speaker, f"S{len(order) + 1}")
    return [SpeakerTurn(order[t.speaker], t.start, t.end) for t in turns]


def resemblyzer_diarizer(audio: Audio, min_speakers: int = 1, max_speakers: int = 10) -> list[SpeakerTurn]:
    """Anonymous speaker turns from the packaged GE2E encoder and spectral clustering."""
    windows = speaker_windows(audio)
    labels = _smooth(cluster(windows.embeddings, min_speakers, max_speakers))
    return label_regions(audio, windows, labels)


def pyannote_diarizer(pipeline_path: str | Path) -> Diarizer:
    """A diarizer running the pyannote pipeline stored at ``pipeline_path`` (never fetched from a hub)."""
    path = Path(pipeline_path)
    if not path.exists():
        raise ChorusError(f"no pyannote pipeline at {path}; give the folder holding its config.yaml")
    try:
        from pyannote.audio import Pipeline
    except ImportError:
        raise ChorusError('the pyannote diarizer needs pyannote.audio: pip install "pyannote.audio"') from None
    pipeline = Pipeline.from_pretrained(path)

    def run(audio: Audio, min_speakers: int = 1, max_speakers: int = 10) -> list[SpeakerTurn]:
        import torch

        waveform = {"waveform": torch.from_numpy(audio.samples[None, :]), "sample_rate": SAMPLE_RATE}
        result = pipeline(waveform, min_speakers=min_speakers, max_speakers=max_speakers)
        annotation = getattr(result, "speaker_diarization", result)
        return [SpeakerTurn(str(s), seg.start, seg.end) for seg, _, s in annotation.itertracks(yield_label=True)]

    return run


def diarizer(name: str = "resemblyzer") -> Diarizer:
    """The backend called ``name``: ``resemblyzer`` (packaged) or ``pyannote:/path/to/pipeline``."""
    if name == "resemblyzer":
        return resemblyzer_diarizer
    if name.startswith("pyannote:"):
        return pyannote_diarizer(name.split(":", 1)[1])
    raise ChorusError(f"unknown diarizer {name!r}; use 'resemblyzer' or 'pyannote:/path/to/pipeline'")


def diarize(
    audio: Audio,
    min_speakers: int = 1,
    max_speakers: int = 10,
    backend: str | Diarizer = "resemblyzer",
) -> list[SpeakerTurn]:
    """Anonymous speaker turns (S1, S2, ... by first speech) for ``audio``."""
    run: Callable[..., list[SpeakerTurn]] = diarizer(backend) if isinstance(backend, str) else backend
    return _numbered(run(audio, min_speakers, max_speakers))
