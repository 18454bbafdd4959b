"""AI-assisted coding, locally: ``chorus suggest``, ``accept``, ``reject``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from chorus.assist import candidates as assist_candidates
from chorus.assist import llm
from chorus.assist import search as assist_search
from chorus.assist import suggest as suggestions
from chorus.assist.candidates import CLUSTERING, CLUSTERINGS, candidate_codes
from chorus.assist.embedders import DEFAULT, EMBEDDERS, load_embedder
from chorus.assist.evaluate import HIDE, evaluable, evaluate, evaluate_llm
from chorus.cli.common import BasisOption, CoderOption, OutOption, console, login_name, open_study, say_basis, show
from chorus.errors import ChorusError
from chorus.ingest.files import read_table
from chorus.study.models import LARGEST_INTEGER

#: This stage's top-level commands (``chorus COMMAND``), listed by :mod:`chorus.cli` in its order.
commands = typer.Typer()

suggest_app = typer.Typer(help="AI-assisted coding, locally: candidate codes from the data, coding suggestions.", no_args_is_help=True)


guide_app = typer.Typer(help="The discussion guide: its questions, and each turn under the question it answers.", no_args_is_help=True)


@guide_app.command("import")
def guide_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX (id, question, probes, section) or a Word document of numbered questions.")],
) -> None:
    """Store the discussion guide (again: questions updated by id, new ones added)."""
    from chorus.ingest.guide import import_guide

    with open_study() as study:
        console.print(f"{import_guide(study, file)} questions in the guide from {file}")


@guide_app.command("align")
def guide_align(
    transcript: Annotated[Optional[list[str]], typer.Option(help="Only this transcript; repeat for several (default: all).")] = None,
    out: OutOption = None,
) -> None:
    """Put every turn under the guide question it answers, matched by meaning and order; confirmed turns are kept."""
    from chorus.assist.guide import align_guide, skipped_lines

    with open_study() as study:
        table = align_guide(study, transcript)
    show(table, "Turns under the guide's questions (check low confidence)", out)
    for line in skipped_lines(table):
        console.print(f"skipped {line}", markup=False, highlight=False, soft_wrap=True)


@guide_app.command("move")
def guide_move(
    transcript: Annotated[str, typer.Argument(help="The transcript.")],
    turn: Annotated[int, typer.Option(min=1, max=LARGEST_INTEGER, help="The turn that opens the question (a facilitator's, as a rule).")],
    question: Annotated[str, typer.Option(help="The question's id in the guide (Q3).")],
) -> None:
    """Confirm or move a boundary: this turn opens this question; the turns after it follow until the next question."""
    from chorus.assist.guide import set_question

    with open_study() as study:
        count = set_question(study, transcript, turn, question)
    console.print(f"{transcript} turn {turn} opens {question}, confirmed: {count} turns under it now")


@guide_app.command("show")
def guide_show(
    by: Annotated[str, typer.Option(help="Split by: discipline, care_team, group, or any roster column.")] = "discipline",
    codes: Annotated[bool, typer.Option(help="Codes by question (participant turns coded) instead of responses.")] = False,
    basis: BasisOption = "auto",
    out: OutOption = None,
) -> None:
    """Responses by question and discipline (participants who answered, turns, words), or codes by question."""
    from chorus.analysis.guide import answered, codes_by_question, responses

    with open_study() as study:
        found = codes_by_question(study, basis) if codes else responses(study, by)
        if codes:
            say_basis(study, basis)
    if found.empty:
        console.print("nothing under a question yet: chorus guide import, then chorus guide align (and code, for --codes)")
        return
    if codes:
        show(found, "Participant turns coded with each code, by question", out, index=True)
        return
    table = answered(found, by)
    table.index = table.index.map(dict(zip(found["question"], found["question"] + " " + found["wording"].str.slice(0, 24) + "…")))
    show(table, f"Participants (turns) answering each question, by {by}", out, index=True, saved=found)


@guide_app.command("answers")
def guide_answers(
    question: Annotated[str, typer.Argument(help="The guide's question id, e.g. Q3.")],
    out: OutOption = None,
) -> None:
    """One question's answers side by side across groups: each participant's turns under it, group by group."""
    from chorus.analysis.guide import answers

    with open_study() as study:
        found = answers(study, question)
    if found.empty:
        console.print(f"no participant turn is under {question}: chorus guide align puts turns under the questions")
        return
    show(found[["group", "turn", "speaker", "discipline", "text"]], f"Answers to {question}, group by group", out, saved=found)


YesOption = Annotated[bool, typer.Option("--yes", help="Agree to what the language model would be sent without being asked.")]
EmbedderOption = Annotated[str, typer.Option(help=f"The local model placing segments by meaning: {', '.join(EMBEDDERS)}.")]
ClusteringOption = Annotated[str, typer.Option(help=f"How segments are grouped: {' or '.join(CLUSTERINGS)}.")]


def _agree(yes: bool) -> Callable[[str], bool]:
    def confirm(disclosure: str) -> bool:
        console.print(disclosure)
        return yes or (sys.stdin.isatty() and typer.confirm("Send it?", default=False))

    return confirm


@suggest_app.command("llm")
def suggest_llm(
    url: Annotated[Optional[str], typer.Option(help="An OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM).")] = None,
    model: Annotated[Optional[str], typer.Option(help="The model name the server expects.")] = None,
    key_variable: Annotated[Optional[str], typer.Option(help="The environment variable holding an API key (the key is never stored).")] = None,
    off: Annotated[bool, typer.Option(help="Turn the language model off again.")] = False,
) -> None:
    """Name the (local) language model used for candidate labels and theme summaries; off by default."""
    with open_study() as study:
        if off:
            llm.forget(study)
            console.print("language model off")
            return
        if not url or not model:
            raise ChorusError("give --url and --model (or --off)")
        endpoint = llm.configure(study, url, model, key_variable)
    console.print(f"language model: {endpoint.model} at {endpoint.url} ({'this machine' if endpoint.local else 'another machine: ' + endpoint.host})")


@suggest_app.command("codes")
def suggest_codes(
    include_coded: Annotated[bool, typer.Option(help="Cluster every segment, not only the uncoded ones.")] = False,
    clusters: Annotated[Optional[int], typer.Option(help="How many candidates (default: about the square root of half the segments).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same candidates.")] = 0,
    llm_labels: Annotated[bool, typer.Option(help="Also ask the configured language model for a name for each (says what it sends first).")] = False,
    yes: YesOption = False,
    embedder: EmbedderOption = DEFAULT,
    clustering: ClusteringOption = CLUSTERING,
    out: OutOption = None,
) -> None:
    """Candidate codes: clusters of similar segments with their distinctive words, sources and central quotes."""
    with open_study() as study:
        with console.status("embedding and clustering segments"):
            frame = candidate_codes(study, include_coded=include_coded, k=clusters, seed=seed, embedder=embedder, method=clustering)
        if llm_labels:
            frame = llm.label_candidates(study, frame, _agree(yes))
    columns = ["candidate", *(["llm_label"] if "llm_label" in frame.columns else []), "label", "size", "disciplines", "groups"]
    show(frame[columns], "Candidate codes (quotes and segments: --out)", out, saved=frame)
    console.print("make one a code: chorus suggest adopt CANDIDATES.csv --candidate N --name NAME [--segment ID ...]")


@suggest_app.command("adopt")
def suggest_adopt(
    candidates: Annotated[Path, typer.Argument(help="The table chorus suggest codes --out wrote.")],
    candidate: Annotated[int, typer.Option(help="The candidate's number.")],
    name: Annotated[str, typer.Option(help="The new code's name.")],
    segment: Annotated[Optional[list[str]], typer.Option(help="Only these of its segments (repeat; default: all of them).")] = None,
    parent: Annotated[Optional[str], typer.Option(help="The code to put it under.")] = None,
    coder: CoderOption = "",
) -> None:
    """Make a candidate a code and code its segments (those you ticked)."""
    rows = [r for r in read_table(candidates) if str(r.values.get("candidate")) == str(candidate)]
    if not rows:
        raise ChorusError(f"{candidates}: no candidate {candidate}")
    members = segment or str(rows[0].values.get("segments", "")).split()
    with open_study() as study:
        coded = assist_candidates.accept(study, members, name, coder or login_name(), parent)
    console.print(f"code {name!r} created with {coded} codings")


@suggest_app.command("dismiss")
def suggest_dismiss(
    candidates: Annotated[Path, typer.Argument(help="The table chorus suggest codes --out wrote.")],
    candidate: Annotated[int, typer.Option(help="The candidate's number.")],
    reason: Annotated[str, typer.Option(help="Why it is not a code (kept with the dismissal).")] = "",
    coder: CoderOption = "",
) -> None:
    """Dismiss a candidate: it is stored (who, when, why, its passages) and no longer offered, even after clustering again."""
    rows = [r for r in read_table(candidates) if str(r.values.get("candidate")) == str(candidate)]
    if not rows:
        raise ChorusError(f"{candidates}: no candidate {candidate}")
    members = str(rows[0].values.get("segments", "")).split()
    with open_study() as study:
        assist_candidates.dismiss(study, members, str(rows[0].values.get("label", "")), coder or login_name(), reason)
    console.print(f"candidate {candidate} dismissed; it stays out of chorus suggest codes")


@suggest_app.command("codings")
def suggest_codings(
    code: Annotated[Optional[str], typer.Option(help="The code (default: every code with enough examples).")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Lowest confidence to suggest (0-1; default: each code's, calibrated on your decisions).")] = None,
    embedder: EmbedderOption = DEFAULT,
    out: OutOption = None,
) -> None:
    """Suggest where a code applies, with a confidence and the coded example each resembles."""
    with open_study() as study, console.status("learning from the codings"):
        frame = suggestions.suggest(study, code=code, threshold=threshold, embedder=embedder)
    show(frame[["suggestion", "code", "confidence", "speaker", "text"]], "Suggestions (accept: chorus accept N; reject: chorus reject N)", out, saved=frame)


@suggest_app.command("queue")
def suggest_queue(
    code: Annotated[Optional[str], typer.Option(help="Only this code's suggestions.")] = None,
    order: Annotated[str, typer.Option(help="confidence (surest first) or informative (nearest the threshold first: teaches the model most).")] = "confidence",
    out: OutOption = None,
) -> None:
    """The suggestions waiting for your decision, in the order you choose."""
    with open_study() as study:
        frame = suggestions.pending(study, code=code, order=order)
    show(frame[["suggestion", "code", "confidence", "threshold", "speaker", "text"]], f"Suggestions waiting, {order} first", out, saved=frame)


@suggest_app.command("evaluate")
def suggest_evaluate(
    embedder: Annotated[Optional[list[str]], typer.Option(help=f"The model(s) to score (repeat; default: all of {', '.join(EMBEDDERS)} that are installed).")] = None,
    llm_shots: Annotated[
        Optional[list[int]],
        typer.Option("--llm", help="Also score the configured language model, given this many coded passages per code (0: zero-shot; repeat)."),
    ] = None,
    hide: Annotated[float, typer.Option(help="Share held out per fold (each transcript, or coding, is hidden once).")] = HIDE,
    unit: Annotated[str, typer.Option(help="Hide whole transcripts (as if not coded yet) or a share of each code's codings.")] = "transcript",
    threshold: Annotated[Optional[float], typer.Option(help="One threshold for every code (default: each code's, calibrated).")] = None,
    clustering: ClusteringOption = CLUSTERING,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same figures.")] = 0,
    clusterings: Annotated[int, typer.Option(help="Cluster this many times (seeds SEED, SEED + 1, ...) and say how often each code is found.")] = 1,
    yes: YesOption = False,
    out: OutOption = None,
) -> None:
    """How much the AI finds on this coded study: suggestion precision, recall and F1, and codes recovered as candidates.

    With --llm, the language model named by chorus suggest llm codes the same
    hidden passages from the codebook's definitions (and coded examples), scored
    the same way. Candidates depend on the clustering's seed: --clusterings 10
    says how many codes are found on average and by how many clusterings all are.
    --out saves the figures per code and model.
    """
    from rich.progress import Progress, TaskID

    names = embedder or ([] if llm_shots else list(EMBEDDERS))
    results = []
    with open_study() as study:
        evaluable(study, unit, hide)  # before any model loads: a study without codings is told so at once
        for name in names:
            if not embedder:  # every model: one not installed is skipped (asked for by name, its absence is an error)
                try:
                    load_embedder(name)
                except ChorusError as problem:
                    console.print(f"{name}: skipped ({problem})")
                    continue
            with console.status(f"evaluating {name}") as status:
                results.append(evaluate(study, embedder=name, hide=hide, unit=unit, threshold=threshold, seed=seed, clustering=clustering,
                                        clusterings=clusterings, progress=lambda stage, _, name=name: status.update(f"{name}: {stage}")))
        endpoint = llm.configured(study) if llm_shots else None
        for shots in llm_shots or []:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task(f"{endpoint.model}, {shots} examples per code", total=None)

                def asked(done: int, total: int, bar: Progress = bar, task: TaskID = task) -> None:
                    bar.update(task, completed=done, total=total)

                result = evaluate_llm(study, endpoint, _agree(yes), shots=shots, hide=hide, unit=unit, seed=seed, progress=asked)
            if result is None:
                console.print("nothing sent")
                continue
            results.append(result)
    if not results:
        raise ChorusError("no model could be evaluated: pip install 'chorus-qda[assist]', or name a language model with chorus suggest llm")
    summaries = [result.summary() for result in results]
    table = pd.DataFrame(summaries)
    table["themes"] = [f"{found} of {of}" if of else "-" for found, of in zip(table["themes_recovered"], table["themes"])]
    shown = table[["embedder", "precision", "recall", "f1", "themes", "embed_first_s", "embed_cached_s"]]
    details = [r.codes.merge(r.themes[["code", "share", "purity", "recovered", "found"]], on="code", how="outer").assign(embedder=r.embedder)
               for r in results]
    show(shown.rename(columns={"embedder": "model", "themes": "codes found", "embed_first_s": "time s", "embed_cached_s": "cached s"}),
         f"Suggestions on hidden {unit}s and codes found as candidates", out, saved=pd.concat(details, ignore_index=True).round(3))
    clustered = [s for s in summaries if s["clusterings"]]  # the language model has no candidates
    if clusterings > 1 and clustered:
        said = [f"{s['embedder']} found {s['themes_mean']:g} of {s['themes']} codes on average, all of them in {s['all_themes']}" for s in clustered]
        console.print(f"Clustered {clusterings} times (seeds {seed} to {seed + clusterings - 1}): {'; '.join(said)}.")


@suggest_app.command("summaries")
def suggest_summaries(
    code: Annotated[Optional[list[str]], typer.Option(help="Only these codes (repeat).")] = None,
    yes: YesOption = False,
    out: OutOption = None,
) -> None:
    """Theme summaries from each code's passages, by the configured language model (says what it sends first)."""
    with open_study() as study:
        frame = llm.summaries(study, _agree(yes), codes=code)
    if frame.empty:
        console.print("nothing sent")
        return
    show(frame, "Theme summaries (by the language model: check them against the passages)", out)


@commands.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="What the passages say, in your words.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many passages.")] = 10,
    code: Annotated[Optional[str], typer.Option(help="Only passages coded with this code (or one under it).")] = None,
    discipline: Annotated[Optional[str], typer.Option(help="Only this discipline's passages.")] = None,
    group: Annotated[Optional[str], typer.Option(help="Only this group's passages.")] = None,
    coder: Annotated[Optional[str], typer.Option(help="Only passages this coder coded.")] = None,
    uncoded: Annotated[bool, typer.Option(help="Only passages nobody has coded.")] = False,
    like: Annotated[Optional[int], typer.Option(help="More like this: the passages nearest this coding's (its number; QUERY is then ignored).")] = None,
    embedder: EmbedderOption = DEFAULT,
    out: OutOption = None,
) -> None:
    """Search by meaning: the passages nearest QUERY, best first, with the Segments page's filters; code them with chorus code."""
    with open_study() as study, console.status("reading the passages"):
        frame = (assist_search.more_like(study, like, limit, embedder=embedder) if like is not None else
                 assist_search.search(study, query, limit, code=code, discipline=discipline, group=group, coder=coder, uncoded=uncoded,
                                      embedder=embedder))
    show(frame[["score", "transcript", "turn", "speaker", "codes", "text"]], f"{len(frame)} passages nearest in meaning (segment ids: --out)", out,
         saved=frame)


@commands.command("accept")
def accept_command(numbers: Annotated[list[int], typer.Argument(min=1, max=LARGEST_INTEGER, help="Suggestion numbers.")], coder: CoderOption = "") -> None:
    """Accept suggestions: each becomes a coding by you; the decision is recorded."""
    with open_study() as study:
        done = suggestions.decide(study, numbers, "accept", coder or login_name())
    console.print(f"accepted {done} suggestions")


@commands.command("reject")
def reject_command(numbers: Annotated[list[int], typer.Argument(min=1, max=LARGEST_INTEGER, help="Suggestion numbers.")], coder: CoderOption = "") -> None:
    """Reject suggestions; they are not proposed again, and the decision is recorded."""
    with open_study() as study:
        done = suggestions.decide(study, numbers, "reject", coder or login_name())
    console.print(f"rejected {done} suggestions")


