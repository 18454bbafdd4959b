"""Audio: recordings to speaker-attributed transcripts, on this machine.

A recording is read and checked (:mod:`~chorus.audio.media`), its speech
recognised with word times by faster-whisper and its speakers told apart by a
packaged speaker encoder (:mod:`~chorus.audio.transcribe`,
:mod:`~chorus.audio.diarize`), the anonymous speakers named from the roster
(:mod:`~chorus.audio.speakers`) and the transcript stored like an imported one
(:mod:`~chorus.audio.store`), one recording or a folder, here or on a Dask
cluster (:mod:`~chorus.audio.batch`). :mod:`~chorus.audio.evaluate` scores the
result (WER, cpWER, DER) and :mod:`~chorus.audio.export` writes it as WebVTT,
SRT, MAXQDA text or Word.

The heavy parts (faster-whisper, torch) load only when used, and come with the
``audio`` extra: ``pip install "chorus-qda[audio]"``.

>>> from chorus.audio import batch                                       # doctest: +SKIP
>>> todo, done = batch.plan(study, ["recordings/"])                       # doctest: +SKIP
>>> batch.transcribe_recordings(study, todo)                              # doctest: +SKIP
"""
