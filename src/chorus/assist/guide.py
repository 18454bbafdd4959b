"""Each turn under the discussion-guide question it answers: facilitators' turns aligned to the guide by meaning and order.

Facilitators paraphrase, skip and reorder the guide, so a question is matched by
meaning (word vectors and the sentence model, against the question and each of
its probes, and the participants' answers after it) and by order together: a
group's questions are chosen at once (a beam search), a question already asked
has to be clearly meant to be taken again, and a facilitator's turn that asks
nothing (a "Thank you"), follows up ("Can you say more?", "Why is that?") or
matches the current question best keeps it going. A turn is read by the
sentences that ask (not the thanks or recap around them). Each group then
learns from the others' alignment (:data:`ROUNDS` times): how their
facilitators asked each question and what their participants answered under
it, confirmed questions included, so a boundary the researcher confirms in one
group moves the others. A short follow-up that shares a word with another
question ("Why is that, do you think?" and "What do families think it means?")
can jump to it: check the turns with a low confidence. Participants' turns
belong to the question last asked before them. Each aligned turn keeps a confidence (how far the chosen
question led the runner-up), so the researcher checks the uncertain ones first;
a turn the researcher confirmed or moved (:func:`set_question`) is kept by every
later alignment and steers the turns after it.

>>> align_guide(study)                                        # doctest: +SKIP
  transcript  turns  questions    not_asked  confidence                          skipped
0       FG01     40          7  Q4, Q5, Q10       0.889
1       FG09     31          0                      NaN  no facilitator turn, so no ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select

from chorus.assist.embedders import WORD, glove, load_embedder
from chorus.assist.embeddings import embed
from chorus.errors import ChorusError, Way
from chorus.study import jobs as queue
from chorus.study.jobs import Report
from chorus.study.lookup import find_transcript
from chorus.study.models import GuideQuestion, Job, Participant, Transcript, Turn, TurnQuestion
from chorus.study.store import Study, acting_as
from chorus.words import counted

#: A facilitator's follow-up that asks for more of the same rather than a question of the guide.
FOLLOW_UP = re.compile(
    r"^\W*(?:(?:can you )?(?:say|tell (?:me|us)) (?:a bit |a little )?more(?: about (?:that|this|it))?"
    r"|(?:can you )?unpack (?:that|this|it)(?: a little| a bit)?|(?:can you )?give (?:me|us) an example"
    r"|why (?:is that|do you think that is|do you think so)|how so|what do you mean|go on)\W*$",
    re.IGNORECASE,
)
#: A facilitator's prompt without a question mark that still asks ("Tell me more about roles.", "Describe a time ...").
PROMPT = re.compile(r"^\W*(?:tell (?:me|us)|describe|talk (?:to me |to us )?about|say (?:a bit |a little )?more about|walk (?:me|us) through|share)\b",
                    re.IGNORECASE)
#: Handicap of a question asked before in the group (taken up again only when clearly meant), in cosine units.
ASKED_AGAIN = 0.2
#: Handicap per guide question skipped on the way to a new one (three for going back to an earlier one not yet asked).
SKIPPED = 0.02
#: How many of the participants' turns after a facilitator's question are read as its answers.
ANSWERS = 3
#: How many orders of the questions the search keeps at each facilitator turn (50 and 20 gave what 200 gave on the labelled studies).
BEAM = 50
#: How much the other groups' facilitators' askings of a question, and their participants' answers to it, weigh beside the guide's
#: wording (issue 43, ICU / demo: the answers alone 73.4% / 94.9%, the askings alone 73.9% / 94.5%, both 82.6% / 96.5%; askings at
#: 0.5: 85.3% / 94.5%; answers at 1.5 or 2.5: 79.9% / 96.5%).
ASKING = 0.25
ANSWERED = 2.0
#: How many times the groups learn from each other's alignment, each time from the last (ICU / demo: none 71.2% / 92.9%, one
#: 87.0% / 94.5%, two 82.6% / 96.5%, three or four as two).
ROUNDS = 2


class _Matcher:
    """How well a facilitator's question and the answers after it match each guide question.

    Cosine-scale parts, each centred on its mean over the questions, are summed:
    the turn against the question and its probes by the GloVe word vectors and
    by shared rare words (half each), the turn's asking sentences by the
    sentence model (MiniLM: paraphrases such as "keep one thing and ditch one
    thing" for "what single change would you recommend"), and the next
    :data:`ANSWERS` participant turns by the sentence model, because
    participants answer the question even where the facilitator only
    paraphrases it. Once an alignment has been made (:meth:`learn`), two more:
    the asking against how the other groups' facilitators asked each question
    (:data:`ASKING`), and the answers against what the other groups' participants
    answered to it (:data:`ANSWERED`: the ICU study's facilitators tailor their
    questions, so their groups' answers say more than the guide's wording).
    Measured on the ICU sepsis-alert study (written outside the project): 55.4%
    of participant turns under the reader's question with the first part alone,
    73.4% with the first three and the search over the whole group; issue 43
    (participant turns under the reader's question, ICU / demo): the
    facilitators' own askings as more wordings, their own group's included,
    76.6% / 94.9%; the same from the other groups only 65.2% / 92.9%; with the
    asking sentences and the other groups' answers, 82.6% / 96.5%.
    """

    def __init__(self, questions: Sequence[GuideQuestion]):
        self.model = glove()  # its per-word weights say which shared words are rare
        self.sentences = load_embedder("minilm")
        wordings = [[q.text, *[p.strip() for p in q.probes.split(";") if p.strip()]] for q in questions]
        self.vectors = [self.model.encode(w) for w in wordings]
        self.meanings = [self.sentences.encode(w) for w in wordings]
        self.words = [set(self._stems(" ".join(w))) for w in wordings]
        # per question, learned from the alignment before: (group, how its facilitator asked it, what its participants answered)
        self.learned: list[list[tuple[str, np.ndarray, np.ndarray | None]]] = [[] for _ in questions]

    def _stems(self, text: str) -> dict[str, float]:
        weights = {}
        for word in WORD.findall(text.lower()):
            index = self.model.vocabulary.get(word)
            weights[word[:5]] = max(weights.get(word[:5], 0.0), float(self.model.weights[index]) if index is not None else 1.0)
        return weights

    def similarity(self, text: str, vector: np.ndarray, meaning: np.ndarray, answers: np.ndarray | None, group: str) -> np.ndarray:
        """Per question: the turn's words and meaning (``meaning``: its asking sentences'), plus its answers' meaning (a unit vector, or None).

        What the other groups' facilitators and participants said under each
        question (:meth:`learn`) counts as well; never ``group``'s own, which
        would only confirm the alignment it was learned from.
        """
        stems = self._stems(text)
        total = sum(stems.values()) or 1.0
        shared = np.array([sum(w for s, w in stems.items() if s in words) / total for words in self.words])
        words = np.array([float(np.max(v @ vector)) for v in self.vectors])
        score = _centred((words + shared) / 2) + _centred(np.array([float(np.max(v @ meaning)) for v in self.meanings]))
        if answers is not None:
            score += _centred(np.array([float(np.max(v @ answers)) for v in self.meanings]))
        others = [[(asking, said) for g, asking, said in learned if g != group] for learned in self.learned]
        if any(others):
            score += ASKING * _centred(np.array([max((float(a @ meaning) for a, _ in mine), default=np.nan) for mine in others]))
            if answers is not None:
                score += ANSWERED * _centred(np.array([np.mean([float(b @ answers) for _, b in mine if b is not None] or [np.nan]) for mine in others]))
        return score

    def learn(self, asked: dict[int, list[tuple[str, np.ndarray, np.ndarray | None]]]) -> None:
        """Take each question's askings in an alignment (group, the facilitator's asking, the answers' meaning), in place of those before."""
        self.learned = [asked.get(question, []) for question in range(len(self.learned))]


def _centred(scores: np.ndarray) -> np.ndarray:
    """Scores less their mean; a question with none (nan: never asked elsewhere) gets the lowest."""
    known = scores[~np.isnan(scores)]
    if not len(known):
        return np.zeros_like(scores)
    return np.where(np.isnan(scores), known.min(), scores) - known.mean()


def _moved(last: int | None, asked: frozenset[int], question: int) -> float:
    """The handicap of going on to ``question`` from ``last`` having ``asked`` those: none to stay, more to go back than on."""
    if question == last:
        return 0.0
    if question in asked:
        return -ASKED_AGAIN
    before = -1 if last is None else last
    return -SKIPPED * (question - before - 1 if question > before else 3)


def _sequence(steps: Sequence[np.ndarray | int | None], questions: int) -> tuple[list[int], list[float]]:
    """The questions of a group's facilitator turns, chosen together, and each turn's confidence.

    Each step is a turn's similarity to every question, a confirmed question
    (an int: the researcher's), or None for a turn that asks nothing (it keeps
    the question). The order with the highest similarity less :func:`_moved`'s
    handicaps wins (a beam search; orders at the same question having asked the
    same ones go on alike, so only the best of them is kept), so a question
    matched badly early does not push the rest along; a turn's confidence is how
    far the best order leads the best one kept that puts another question there.
    """
    # a beam: (score, current question, questions asked, index of its last choice in ``chosen``)
    chosen: list[tuple[int, int]] = []  # (index of the choice before, question)
    beams: list[tuple[float, int | None, frozenset[int], int]] = [(0.0, None, frozenset(), -1)]
    for step in steps:
        grown = []
        for score, last, asked, at in beams:
            if isinstance(step, int) or (step is None and last is not None):
                options: dict[int, float] = {last if step is None else step: 0.0}  # type: ignore[dict-item]
            else:
                options = {q: float(step[q]) if step is not None else 0.0 for q in range(questions)}
            grown.extend((score + gain + _moved(last, asked, q), q, asked | {q}, at) for q, gain in options.items())
        grown.sort(key=lambda beam: -beam[0])
        kept: dict[tuple[int, frozenset[int]], tuple[float, int, frozenset[int], int]] = {}
        for beam in grown:
            if (beam[1], beam[2]) not in kept and len(kept) < BEAM:
                kept[(beam[1], beam[2])] = beam
        beams = []
        for score, question, asked, at in kept.values():
            chosen.append((at, question))
            beams.append((score, question, asked, len(chosen) - 1))
    orders = []
    for score, _, _, at in beams:
        order = []
        while at >= 0:
            at, question = chosen[at]
            order.append(question)
        orders.append((order[::-1], score))
    best, top = orders[0]
    sure = []
    for k, step in enumerate(steps):
        rival = max((score for order, score in orders if order[k] != best[k]), default=None)
        sure.append(1.0 if isinstance(step, int) or rival is None else round(1 / (1 + math.exp(-12 * (top - rival))), 3))
    return best, sure


def _answers(turns: Sequence[tuple], meanings: np.ndarray, index: int) -> np.ndarray | None:
    """The mean meaning (unit length) of the participants' turns right after turn ``index``, up to :data:`ANSWERS`; None if none."""
    after = []
    for following in range(index + 1, min(index + 1 + ANSWERS, len(turns))):
        if turns[following][3] != "participant":
            break
        after.append(following)
    if not after:
        return None
    mean = meanings[after].mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


@dataclass
class _Group:
    """One transcript's turns as the alignment reads them: ids, roles, texts, their vectors, and the confirmed questions."""

    transcript_id: int
    name: str
    turns: list[tuple[int, int, int, str]]  # turn id, start, end, speaker's role
    texts: list[str]
    vectors: np.ndarray  # GloVe, for the words
    meanings: np.ndarray  # MiniLM, for the meaning
    kept: dict[int, int]  # turn id -> question index, confirmed by the researcher
    asking: dict[int, np.ndarray]  # a facilitator's turn (index) -> its asking sentences' meaning (MiniLM)

    def steps(self, matcher: _Matcher) -> tuple[list[np.ndarray | int | None], list[int]]:
        """:func:`_sequence`'s steps (a similarity, a confirmed question, or None for a turn that asks nothing) and the turns they are."""
        steps: list[np.ndarray | int | None] = []
        at: list[int] = []
        for index, ((turn_id, _, _, role), text) in enumerate(zip(self.turns, self.texts)):
            if turn_id in self.kept:
                steps.append(self.kept[turn_id])
            elif role != "participant":
                asks = _asks(text)
                steps.append(matcher.similarity(text, self.vectors[index], self.asking[index], _answers(self.turns, self.meanings, index), self.name)
                             if asks else None)
            else:
                continue
            at.append(index)
        return steps, at


def _asks(text: str) -> bool:
    """Whether a facilitator's turn asks something: a question mark, or a sentence that opens as a prompt ("Walk me through ..."), not a bare follow-up."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return ("?" in text or any(PROMPT.match(sentence) for sentence in sentences)) and not FOLLOW_UP.match(_asking(text))


def _openers(group: _Group, steps: Sequence[np.ndarray | int | None], at: Sequence[int],
             chosen: Sequence[int]) -> list[tuple[int, np.ndarray, np.ndarray | None]]:
    """The facilitator's turns that moved to another guide question (or a confirmed one): (question, its asking, its answers' meaning)."""
    found, before = [], None
    for step, index, question in zip(steps, at, chosen):
        if step is not None and question != before and index in group.asking:
            found.append((question, group.asking[index], _answers(group.turns, group.meanings, index)))
        before = question
    return found


def _asking(text: str) -> str:
    """The sentences of a facilitator's turn that ask (a question mark, or a prompt), without the thanks and recap around them; all if none."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    asking = [s for s in sentences if "?" in s or PROMPT.match(s)]
    return " ".join(asking) or text


#: The job kind of an alignment the web app runs in the background (:mod:`chorus.study.jobs`); its name is the transcript, or :data:`EVERY`.
KIND = "align"
EVERY = "every transcript"
#: How long a job's stage may be, as the store keeps it.
STAGE_LENGTH = Job.__table__.c.stage.type.length
#: Why a transcript cannot be aligned, said the same by the library, the command line and the guide page.
NO_TURNS = "no turns: its text has no speaker turns"
NO_FACILITATOR = ("no facilitator turn, so no question to align its turns to: give the facilitator the role facilitator on the roster "
                  "and make them the speaker of their turns")
NO_GUIDE = Way("import_guide(study, 'guide.csv')", "chorus guide import guide.csv", "upload it on the Guide page")


def why_not_aligned(turns: int, facilitator_turns: int) -> str | None:
    """Why a transcript with ``turns`` turns, ``facilitator_turns`` of them not a participant's, cannot be aligned; None when it can."""
    if not turns:
        return NO_TURNS
    return None if facilitator_turns else NO_FACILITATOR


def unalignable(study: Study) -> dict[str, str]:
    """The transcripts that cannot be aligned as they stand, each with why (:func:`why_not_aligned`): what the guide page shows beside them."""
    with study.reading() as session:
        counts = session.execute(
            select(Transcript.name, func.count(Turn.id), func.count(Turn.id).filter(Participant.role != "participant"))
            .select_from(Transcript).outerjoin(Turn, Turn.transcript_id == Transcript.id)
            .outerjoin(Participant, Participant.id == Turn.participant_id).group_by(Transcript.name)
        ).all()
    return {name: reason for name, turns, facilitating in counts if (reason := why_not_aligned(turns, facilitating))}


def _no_guide() -> ChorusError:
    return ChorusError("the study has no discussion guide yet: {guide}", arguments={"guide": NO_GUIDE})


def align_guide(study: Study, transcripts: Sequence[str] | None = None, progress: Report | None = None) -> pd.DataFrame:
    """Put every turn of ``transcripts`` (all by default) under a guide question, in one transaction.

    Turns a researcher confirmed keep their question. The study's facilitators
    say each question their own way, so the alignment runs 1 + :data:`ROUNDS`
    times: the questions the facilitators opened in a run (over every
    transcript, whichever are realigned) join the guide's wording and probes as
    ways of asking it, with the answers their participants gave, for the other
    groups in the next (issue 43: one run 71.2% of the ICU study's participant
    turns under the reader's question and 92.9% of the demo's, three 82.6% and
    96.5%). Returns per transcript the
    turns aligned, the questions found asked, the guide's questions never asked
    there (``not_asked``: facilitators skip some) and the facilitator turns' mean confidence.

    A transcript that cannot be aligned (no facilitator speaks in it, as in a
    recorded meeting; or no turns) is skipped, not an error that stops the
    others: its row says why in ``skipped`` ('' for the aligned ones), and its
    turns keep whatever question they had. ``progress(stage, fraction)`` hears
    how far it is (reading the turns' meaning is most of the time on a new study).
    """
    tell = (lambda stage, fraction: progress(_short(stage), fraction)) if progress else (lambda stage, fraction: None)
    tell("reading the transcripts", 0.0)
    with study.reading() as session:
        questions = session.scalars(select(GuideQuestion).order_by(GuideQuestion.ordinal)).all()
        if not questions:
            raise _no_guide()
        wanted = {find_transcript(session, name).name for name in transcripts} if transcripts else None
        index_of = {q.id: i for i, q in enumerate(questions)}
        keys = [(q.id, q.key) for q in questions]
        read, skipped = [], []
        for transcript in session.scalars(select(Transcript).order_by(Transcript.name)):
            turns = [tuple(row) for row in session.execute(
                select(Turn.id, Turn.start, Turn.end, Participant.role).join(Participant, Participant.id == Turn.participant_id)
                .where(Turn.transcript_id == transcript.id).order_by(Turn.ordinal)
            ).all()]
            reason = why_not_aligned(len(turns), sum(role != "participant" for *_, role in turns))
            if reason is not None:
                if wanted is None or transcript.name in wanted:
                    skipped.append({"transcript": transcript.name, "turns": len(turns), "questions": 0, "not_asked": "", "skipped": reason})
                continue
            kept = dict(session.execute(
                select(TurnQuestion.turn_id, TurnQuestion.question_id).join(Turn, Turn.id == TurnQuestion.turn_id)
                .where(Turn.transcript_id == transcript.id, TurnQuestion.confirmed)
            ).all())
            read.append(((transcript.id, transcript.name), turns, [transcript.text[start:end] for _, start, end, _ in turns], {t: index_of[q] for t, q in kept.items()}))
        matcher = _Matcher(questions)
    texts = [text for *_, texts, _ in read for text in texts]
    meanings = embed(study, texts, embedder="minilm",  # the study's cache: a realignment reads none again
                     progress=lambda done, total: tell(f"reading the meaning of {total:,} turns", 0.05 + 0.6 * done / total))
    asked = [(k, index, _asking(text)) for k, (_, turns, texts, _) in enumerate(read)
             for index, ((_, _, _, role), text) in enumerate(zip(turns, texts)) if role != "participant"]
    askings = embed(study, [text for *_, text in asked], embedder="minilm")
    groups, first = [], 0
    for k, (transcript, turns, texts, kept) in enumerate(read):
        asking = {index: askings[n] for n, (g, index, _) in enumerate(asked) if g == k}
        groups.append(_Group(*transcript, turns, texts, matcher.model.encode(texts), meanings[first:first + len(texts)], kept, asking))
        first += len(texts)
    for round_ in range(ROUNDS):
        learned: dict[int, list[tuple[str, np.ndarray, np.ndarray | None]]] = {}
        for k, group in enumerate(groups):
            tell(f"learning how the facilitators ask ({group.name})", 0.65 + 0.15 * (round_ + k / max(len(groups), 1)) / ROUNDS)
            steps, at = group.steps(matcher)
            for question, asking, answers in _openers(group, steps, at, _sequence(steps, len(questions))[0]):
                learned.setdefault(question, []).append((group.name, asking, answers))
        matcher.learn(learned)
    chosen = [group for group in groups if wanted is None or group.name in wanted]
    placed, rows = [], []
    for k, group in enumerate(chosen):
        tell(f"aligning {group.name}", 0.8 + 0.2 * k / max(len(chosen), 1))
        steps, at = group.steps(matcher)
        chosen_questions, confidences = _sequence(steps, len(questions))
        current, confidence, asked, sure, at_step, under = None, 0.0, set(), [], 0, []
        for index, (turn_id, _, _, _) in enumerate(group.turns):
            if at_step < len(at) and at[at_step] == index:
                current, confidence = chosen_questions[at_step], confidences[at_step]
                asked.add(current)
                at_step += 1
                if turn_id in group.kept:
                    continue
                sure.append(confidence)
            if current is not None:
                under.append((turn_id, keys[current][0], confidence))
        placed.append((group.transcript_id, under))
        rows.append({"transcript": group.name, "turns": len(group.turns), "questions": len(asked),
                     "not_asked": ", ".join(key for i, (_, key) in enumerate(keys) if i not in asked),
                     "confidence": round(float(np.mean(sure)), 3) if sure else 1.0, "skipped": ""})
    with study.transaction() as session:  # no progress is reported in here: the job's progress is written on another connection
        for transcript_id, under in placed:
            session.execute(delete(TurnQuestion).where(
                TurnQuestion.turn_id.in_(select(Turn.id).where(Turn.transcript_id == transcript_id)), TurnQuestion.confirmed.is_(False)))
            session.add_all(TurnQuestion(turn_id=turn_id, question_id=question_id, confidence=confidence, confirmed=False)
                            for turn_id, question_id, confidence in under)
    tell(f"aligned {counted(len(rows), 'transcript')}" + (f", skipped {counted(len(skipped), 'transcript')}" if skipped else ""), 1.0)
    table = pd.DataFrame(rows + skipped, columns=["transcript", "turns", "questions", "not_asked", "confidence", "skipped"])
    return table.sort_values("transcript", ignore_index=True)


def skipped_lines(table: pd.DataFrame) -> list[str]:
    """What :func:`align_guide` skipped, one line a transcript ("FG07: no facilitator turn, ..."), for the command line and the pages."""
    return [f"{row.transcript}: {row.skipped}" for row in table.itertuples() if row.skipped]


def submit_alignment(study: Study, by: str, transcript: str | None = None) -> int:
    """Queue an alignment of ``transcript`` (every transcript by default) for person ``by``, as a background job; returns its id.

    A study with no guide, or a transcript it does not have, is refused here rather than in the worker;
    the same alignment asked again while it still waits in the queue (a second click) is the job already there.
    """
    with study.reading() as session:
        if session.scalar(select(func.count()).select_from(GuideQuestion)) == 0:
            raise _no_guide()
        name = find_transcript(session, transcript).name if transcript else EVERY
        waiting = session.scalar(select(Job.id).where(Job.kind == KIND, Job.name == name, Job.state == "queued").limit(1))
    return waiting if waiting is not None else queue.submit(study, KIND, by, name)


def run_alignment(study: Study, job: Job, report: Report) -> None:
    """The worker's part of :func:`submit_alignment`: align, written as the person who asked.

    The finished job's stage names what was aligned and skipped ("aligned 6 transcripts; skipped FG07");
    why each was skipped is :func:`unalignable`'s, which the guide page shows beside the transcript.
    """
    with acting_as(job.created_by):
        table = align_guide(study, None if job.name == EVERY else [job.name], progress=report)
    aligned, skipped = table[table["skipped"] == ""], table[table["skipped"] != ""]
    said = f"aligned {counted(len(aligned), 'transcript')}" + (f"; skipped {', '.join(skipped['transcript'])}" if len(skipped) else "")
    queue.finish(study, job.id, job.created_by, "done", stage=_short(said), fraction=1.0)


def _short(stage: str) -> str:
    """A job's stage cut to what the store keeps (:data:`STAGE_LENGTH` characters)."""
    return stage if len(stage) <= STAGE_LENGTH else stage[:STAGE_LENGTH - 1] + "…"


def set_question(study: Study, transcript: str, turn: int, question: str) -> int:
    """Confirm that ``turn`` of ``transcript`` opens ``question`` (a boundary moved or kept), and realign the transcript.

    The turns after it follow the confirmed question until the facilitator asks
    another; returns how many turns now sit under ``question``.
    """
    transcript_id, question_id = confirm_question(study, transcript, turn, question)
    align_guide(study, [transcript])
    with study.reading() as session:
        return session.scalar(
            select(func.count()).select_from(TurnQuestion).join(Turn, Turn.id == TurnQuestion.turn_id)
            .where(Turn.transcript_id == transcript_id, TurnQuestion.question_id == question_id)
        )


def confirm_question(study: Study, transcript: str, turn: int, question: str) -> tuple[int, int]:
    """Confirm that ``turn`` of ``transcript`` opens ``question``, without realigning (the web app realigns in a job); the transcript's and the question's ids.

    Every later alignment keeps it and lets it steer the turns after it.
    """
    with study.transaction() as session:
        found = find_transcript(session, transcript)
        turn_id = session.scalar(select(Turn.id).where(Turn.transcript_id == found.id, Turn.ordinal == turn))
        if turn_id is None:
            raise ChorusError(f"{transcript} has no turn {turn}")
        question_id = session.scalar(select(GuideQuestion.id).where(GuideQuestion.key == question))
        if question_id is None:
            known = session.scalars(select(GuideQuestion.key).order_by(GuideQuestion.ordinal)).all()
            raise ChorusError(f"the guide has no question {question!r}; it has {', '.join(known) or 'none yet'}")
        session.merge(TurnQuestion(turn_id=turn_id, question_id=question_id, confidence=1.0, confirmed=True))
        return found.id, question_id
