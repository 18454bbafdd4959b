"""Benchmark: transcription and diarization, speed and quality, on this machine's CPU (and CUDA when present).

1. Per clip and model, through the call ``chorus transcribe`` makes (``batch.hear``):
   real-time factor (seconds of work per second of audio, reading the file and
   diarization included, models loaded beforehand), and against a baseline
   measured in the same run, recognition alone. Quality of the turns as they
   would be stored: WER and cpWER where the reference has words (the espeak-ng
   focus group made here), DER with a 0.25 s collar from the turns' times and
   speakers, counting overlapped speech and outside it, the diarizer's own
   segments' DER beside it (``DER diar``), and a baseline in the same run that
   gives all speech to one speaker; speakers and turns as stored, of them the turns
   of a voice heard without words (``[inaudible]``, mostly under another voice), and
   the seconds marked as two voices at once (``overlap s``).
2. Batch: the same recordings transcribed one after another here and on a
   two-worker local Dask cluster; wall time per file, ratio Dask/local.
3. A long recording (the spoken focus group repeated, about 19 minutes): real-time
   factor, peak memory and DER, in a fresh process.

Targets (issue 4): real-time factor <= 0.15 with diarization on 2 CPU cores with
tiny.en; DER <= 0.30 on the AMI clips (collar 0.25 s); cpWER <= 0.45 on real
meeting speech with per-speaker reference words; Dask no slower per file.

    make bench            # or: python benchmarks/bench_audio.py [--models tiny.en /path/to/large-v3] [--files 4]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chorus.audio.evaluate import SpeakerTurn, der, read_reference, timed  # noqa: E402
from chorus.audio.media import load_audio, speech_regions  # noqa: E402
from chorus.audio.batch import Job, Options, hear  # noqa: E402
from chorus.audio.quality import score  # noqa: E402
from chorus.audio.synthetic import FOCUS_GROUP, missing_tools, speak  # noqa: E402
from chorus.audio.transcribe import SPLIT_MODELS, recognise, resolve_device, transcribe_audio, warm_up  # noqa: E402

DATA = ROOT / "tests" / "data" / "audio"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Clip = tuple[str, Path, list[list[SpeakerTurn]]]  # name, recording, references (RTTMs last: their times score DER)


def clips(folder: Path, more: list[list[str]]) -> list[Clip]:
    """The spoken focus group, the AMI clips (who spoke when only) and any clips given."""
    found: list[Clip] = []
    if not missing_tools():
        spoken = speak(FOCUS_GROUP, folder / "focus-group.wav")
        found.append(("espeak focus group (4 voices, 56 s)", spoken.path, [spoken.reference]))
    else:
        print(f"(no espeak-ng/sox: the spoken focus group is left out; apt-get install {' '.join(missing_tools())})")
    found.append(("AMI sample (2 speakers, 30 s)", DATA / "sample.wav", [read_reference(DATA / "sample.rttm")]))
    found.append(("AMI tst00 (4 speakers, overlaps, 30 s)", DATA / "tst00.wav", [read_reference(DATA / "tst00.rttm")]))
    for recording, *references in more:
        found.append((Path(recording).name, Path(recording), [read_reference(r) for r in sorted(references, key=lambda r: r.endswith(".rttm"))]))
    return found


def quality(models: list[str], devices: list[str], folder: Path, more: list[list[str]]) -> None:
    print("\n1. Per clip: real-time factor (baseline: transcription alone) and quality (DER baseline: one speaker)")
    header = (f"{'clip':40} {'model':10} {'device':6} {'RTF':>6} {'RTF asr':>8} {'ratio':>6} {'WER':>6} {'cpWER':>6} {'DER':>6} "
              f"{'DER-ov':>7} {'DER diar':>9} {'DER 1spk':>9} {'speakers':>9} {'turns':>6} {'inaudible':>9} {'overlap s':>9}")
    print(header)
    for name, path, references in clips(folder, more):
        audio = load_audio(path)
        when = next((r for r in reversed(references) if timed(r)), [])
        count = len({t.speaker for t in when or references[0]})
        one = der(when, [SpeakerTurn("S1", a, b) for a, b in speech_regions(audio)]).rate if when else float("nan")
        for model in models:
            for device in devices:
                warm_up(model, device)
                started = time.perf_counter()
                recognise(audio, model, device)
                asr = (time.perf_counter() - started) / audio.duration
                started = time.perf_counter()
                result = hear(Job(Path(path), "", Path(path).stem, (count, count), None), Options(model, device)).result
                full = (time.perf_counter() - started) / audio.duration
                measures = {measure: value for reference in references for measure, value in score(reference, result).items()}
                rates = [measures.get(m, float("nan")) for m in ("wer", "cp_wer", "der")]
                print(f"{name:40} {Path(model).name:10} {device:6} {full:6.3f} {asr:8.3f} {full / asr:6.2f} "
                      + " ".join(f"{r:6.3f}" for r in rates)
                      + f" {measures.get('der_skip_overlap', float('nan')):7.3f} {measures.get('der_diarizer', float('nan')):9.3f}"
                      + f" {one:9.3f} {len(result.speakers):9d} {len(result.turns):6d}"
                      + f" {sum(not t.words for t in result.turns):9d} {sum(b - a for a, b in result.overlaps):9.1f}")
        if "tst00" in name:
            one, two = der(when, _best_answer(when, 1)).rate, der(when, _best_answer(when, 2)).rate
            speech = sum(t.end - t.start for t in when)
            print(f"{'':40} tst00 holds {speech:.0f} s of reference speech in {audio.duration:.0f} s: the best possible "
                  f"answer with one voice at a time has DER {one:.2f}, with two at a time {two:.2f} (overlap counted)")
    print(f"peak memory {peak_mib():.0f} MiB")


def _best_answer(reference: list[SpeakerTurn], at_once: int) -> list[SpeakerTurn]:
    """The best answer with at most ``at_once`` voices at a time: at every 10 ms, that many of the reference speakers then."""
    step = 0.01
    end = max(t.end for t in reference)
    turns: list[SpeakerTurn] = []
    last: dict[str, int] = {}  # speaker -> index of their turn that ended last
    for i in range(int(end / step)):
        at = i * step
        for who in sorted({t.speaker for t in reference if t.start <= at < t.end})[:at_once]:
            if who in last and abs(turns[last[who]].end - at) < step / 2:
                turns[last[who]] = SpeakerTurn(who, turns[last[who]].start, at + step)
            else:
                last[who] = len(turns)
                turns.append(SpeakerTurn(who, at, at + step))
    return turns


def batch(files: int, folder: Path) -> None:
    from distributed import LocalCluster

    import chorus
    from chorus.audio import batch as audio_batch
    from chorus.ingest import import_groups, import_roster
    from tests.audio.conftest import GROUPS, ROSTER

    print(f"\n2. Batch of {files} recordings: one after another here, and on a two-worker local Dask cluster")
    if missing_tools():
        print("(left out: needs espeak-ng and sox)")
        return
    spoken = speak(FOCUS_GROUP, folder / "spoken.wav")
    recordings = folder / "recordings"
    recordings.mkdir()
    for n in range(files):
        shutil.copy(spoken.path, recordings / f"FG0{1 + n % 2}_{n}.wav")
    (folder / "roster.csv").write_text(ROSTER)
    (folder / "groups.csv").write_text(GROUPS)
    timings = {}
    for how in ("local", "dask"):
        study = chorus.init(folder / f"study-{how}")
        import_roster(study, folder / "roster.csv")
        import_groups(study, folder / "groups.csv")
        todo, _ = audio_batch.plan(study, [recordings])
        if how == "local":
            warm_up()
            started = time.perf_counter()
            audio_batch.transcribe_recordings(study, todo)
        else:
            from distributed import Client

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                with Client(cluster) as client:
                    client.run(warm_up)  # a standing cluster has its models loaded, as this process has
                started = time.perf_counter()
                audio_batch.transcribe_recordings(study, todo, cluster=cluster.scheduler_address)
        timings[how] = (time.perf_counter() - started) / files
        study.close()
    print(f"per file: local {timings['local']:.1f} s, Dask 2 workers {timings['dask']:.1f} s "
          f"(ratio Dask/local {timings['dask'] / timings['local']:.2f}; models loaded beforehand on both sides)")


def _long(path: str, queue: object) -> None:
    """In a fresh process, so its peak memory is its own: transcribe the long recording."""
    audio = load_audio(path)
    warm_up()
    started = time.perf_counter()
    result = transcribe_audio(audio, min_speakers=4, max_speakers=4)
    queue.put((audio.duration, (time.perf_counter() - started) / audio.duration, peak_mib(), result.speaker_turns()))  # type: ignore[attr-defined]


def long_recording(folder: Path, repeats: int) -> None:
    import multiprocessing

    print(f"\n3. A long recording: the spoken focus group {repeats} times over, tiny.en, in a fresh process")
    if missing_tools():
        print("(left out: needs espeak-ng and sox)")
        return
    spoken = speak(FOCUS_GROUP * repeats, folder / "long.wav")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(target=_long, args=(str(spoken.path), queue))
    worker.start()
    duration, rtf, peak, stored = queue.get()
    worker.join()
    print(f"{duration / 60:.1f} min: real-time factor {rtf:.3f} with diarization, peak memory {peak:.0f} MiB, "
          f"DER of the turns as stored {der(spoken.reference, stored).rate:.3f}")


def available_models() -> list[str]:
    """tiny.en, and the split packaged models that are installed."""
    import importlib.util

    return ["tiny.en"] + [name for name, packages in SPLIT_MODELS.items() if all(importlib.util.find_spec(p) for p in packages)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=available_models(), help="packaged model names or CTranslate2 model folders")
    parser.add_argument("--files", type=int, default=6, help="recordings in the batch comparison")
    parser.add_argument("--long", type=int, default=20, help="repeats of the spoken focus group in the long recording (0: none)")
    parser.add_argument("--clip", nargs="+", action="append", default=[], metavar=("RECORDING", "REFERENCE"),
                        help="score another clip: its recording, then references (.stm/.json/transcript for words, .rttm for times)")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if resolve_device("auto")[0] == "cuda" else [])
    with tempfile.TemporaryDirectory() as folder:
        quality(args.models, devices, Path(folder), args.clip)
        batch(args.files, Path(folder))
        if args.long:
            long_recording(Path(folder), args.long)


if __name__ == "__main__":
    main()
