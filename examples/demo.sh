#!/usr/bin/env bash
# The demo study end to end with the chorus command: roster, transcripts, codebook,
# coding (by pattern and by hand), analysis by discipline and the findings report.
# Usage: examples/demo.sh OUTPUT_FOLDER   (run by `make demo`)
# Each step prints one line; what the commands print goes to demo-log.txt in the study folder
# (the focus-group tables at the end are printed on screen too),
# and the tables to the files the steps name.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)/pc-study"
out="${1:?give the folder to build the demo study in}"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
study="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
log="$(mktemp)"
step() {  # step "what it does" command...: one line on screen, the command's output in the log
  [ -z "$1" ] || printf '  %s\n' "$1"
  shift
  if ! "$@" >>"$log" 2>&1; then
    echo "failed: $*" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
}
trap 'mv -f "$log" "$study/demo-log.txt" 2>/dev/null || true' EXIT

echo "Building the demo study in $out"
step "create the study (SQLite store)" chorus init "$study" --name "Palliative care in pediatric oncology (demo)"
cd "$study"
step "roster: 37 participants and 2 facilitators" chorus roster import "$here/roster.csv"
step "8 focus groups" chorus groups import "$here/groups.csv"
step "transcripts (.docx, .vtt, .txt, .md)" chorus transcripts import "$here"/transcripts/*
step "codebook: 12 codes under Benefits and Challenges" chorus codebook import "$here/codebook.csv"
step "codebook version 1" chorus codebook snapshot --label "codebook before coding"

# First pass by pattern (coder "autocoder"); each rule codes the sentence around a hit.
code() { step "code by pattern: $1" chorus autocode --coder autocoder --scope sentence --code "$1" --pattern "$2"; }
code "Early integration" 'at diagnosis|from day one|early integration|early palliative|\bearl(y|ier) (referral|involvement|consult)|(brought|bring|involved|introduce[sd]?|seen)\b[^.]{0,40}\bearl(y|ier)\b|the earlier the better|when the diagnosis is made|moment of diagnosis'
code "Normalizing palliative care" 'normali[sz]e|\bnormal\b|routine|standard (part|of care)|ordinary|special (event|consult)|like the dietitian|part of (every|what every)|for every family'
code "Collaboration" 'collaborat|team ?work|huddle|interdisciplinary|on the same page|as (a|one) team|co-?manage|partnership|work(ing)? closely|plan together|share tips'
code "Communication" 'communicat|conversations?\b|language|the words? (we use|matter)|same words|script|how (i|we) (talk|describe|introduce)|goals of care|talk (with|to) (the )?(families|family|child|parents)'
code "Funding" 'fund|budget|reimburs|billable|billing|philanthrop|\bgrant\b|donation|insurance|money|revenue|cost centre'
code "Medical opposition" 'push(es|ed)? back|resist|gatekeep|territor|giving up|not on board|not ready|not there yet|refuse a referral|take away hope|frighten the parents|cancel(led)? a consult|do not need palliative'
code "Unclear interdisciplinary roles" '\broles?\b|who is supposed to|who owns|whose job|stepping on toes|our scope|overlap with ours|conflicting orders|who does what|whom to page|what i am allowed to say'
code "Family perceptions of palliative care" 'hospice|(parents?|famil(y|ies)|mother|father) (\w+ )?(hear|think|thinks|thought|associate|asked me if)|old people|dying team|letting his daughter die'
code "Staff moral distress" 'moral distress|burn ?out|cried|lost sleep|stays with you|carry (it|some of those)|\btoll\b|\bheavy\b|grieve|debrief|staff support|staff need care|think about some of those families'
code "Education and training" 'training|\btaught\b|teach|education|curriculum|simulation|workshop|course|lecture|onboarding|\blearn(ed)?\b'

# Second pass by hand (coder "analyst"): every turn the patterns left uncoded, read against the codebook,
# for themes said without their words; the codings come as a table, as from a coder's spreadsheet.
step "code by hand: what the patterns cannot see" chorus codings import "$here/coded-by-hand.csv"
# A second coder (ben) codes four groups independently, by turn, for intercoder agreement.
second() { step "second coder: $1 in FG01-FG04" chorus autocode --coder ben --scope turn --transcript FG01 --transcript FG02 --transcript FG03 --transcript FG04 --code "$1" --keywords "$2"; }
second "Funding" "funding,budget,billable,reimbursement,grant,money,insurance"
second "Collaboration" "team,together,huddle,collaboration,partnership"
second "Communication" "conversation,conversations,language,words,script"
second "Medical opposition" "resist,resists,pushback,ready,giving up,territory"
second "Early integration" "diagnosis,early,earlier"
step "intercoder agreement -> agreement.csv, disagreements.csv" \
  chorus agreement --coders autocoder,ben --code Funding --code Collaboration --code Communication \
  --code "Medical opposition" --code "Early integration" --out agreement.csv --disagreements disagreements.csv
# The coders meet over their disagreements: where the pattern (written from the codebook) found the code they keep it,
# where only the second coder's broad keywords did they drop it. The consensus is what the findings count in FG01-FG04.
step "the meeting's decisions -> decided.csv" python -c "import csv, sys
rows = list(csv.DictReader(open('disagreements.csv', encoding='utf-8')))
for row in rows: row['decision'] = 'keep' if 'autocoder' in row['coded_by'] else 'drop'
out = csv.DictWriter(open('decided.csv', 'w', encoding='utf-8', newline=''), fieldnames=list(rows[0]))
out.writeheader(); out.writerows(rows)"
step "consensus of autocoder and ben, written from the decisions" chorus consensus --coders autocoder,ben --decisions decided.csv \
  --code Funding --code Collaboration --code Communication --code "Medical opposition" --code "Early integration"
step "codebook version 2" chorus codebook snapshot --label "after the first coding pass"

step "a memo on Early integration" chorus memo add "Physicians frame early integration as a question of timing and capacity; nurses as making palliative care ordinary." --code "Early integration" --coder analyst

step "code x discipline matrix -> matrix_participants.csv" \
  chorus matrix --by discipline --count participants --out matrix_participants.csv
step "themes by discipline -> themes.csv" chorus themes --out themes.csv
step "saturation across groups -> saturation.csv" chorus saturation --out saturation.csv
step "group dynamics (who spoke how much, Gini, flags) -> dynamics.csv" chorus dynamics --out dynamics.csv
step "who followed whom in FG03 -> FG03-turn-taking.svg" chorus dynamics --group FG03 --network FG03-turn-taking.svg
step "discussion guide: 10 questions" chorus guide import "$here/guide.csv"
step "every turn under the guide question it answers" chorus guide align
step "responses by question and discipline -> responses.csv" chorus guide show --out responses.csv
step "codes by question -> codes-by-question.csv" chorus guide show --codes --out codes-by-question.csv
# Micro-interlocutor analysis: stances proposed from how turns open, reviewed by the analyst (one proposal is
# an answer to the facilitator, not a dissent: rejected), and one dissent coded by hand.
step "stance proposals from how turns open -> stance-proposals.csv" chorus stances propose --out stance-proposals.csv
review() { awk -F, -v want="$1" 'NR > 1 && (($2 "/" $3 == "FG02/26") == (want == "reject")) { print $1 }' stance-proposals.csv; }
step "analyst keeps the proposals that hold" chorus accept $(review accept) --coder analyst
step "" chorus reject $(review reject) --coder analyst
step "a dissent coded by hand: FG06 turn 10" chorus code FG06 --turn 10 --code "Stance/Dissents" --coder analyst
step "themes consensual, contested or one voice -> stances.csv" chorus stances summary --out stances.csv

# AI assistance, locally: candidate codes from the text, and suggestions for one code to accept or reject.
step "candidate codes, found locally -> candidates.csv" chorus suggest codes --include-coded --out candidates.csv
step "suggested Communication codings -> suggestions.csv" chorus suggest codings --code Communication --out suggestions.csv
step "how much the AI finds here, two models -> ai-evaluation.csv" \
  chorus suggest evaluate --embedder minilm --embedder glove --clusterings 10 --out ai-evaluation.csv
step "findings report -> findings.html, findings_tables/, findings.docx" chorus report --out findings.html --agreement autocoder,ben \
    --docx findings.docx --characteristics years_in_oncology --quotes 2
step "audit trail -> audit-log.csv" chorus log --out audit-log.csv

# De-identification: findings to review (the demo's transcripts are already pseudonymised;
# a real study reviews deid-review.csv, then: chorus deid apply deid-review.csv --key ../locked/key.json).
step "de-identification findings to review -> deid-review.csv" chorus deid find --out deid-review.csv

# What a focus-group tool adds, on screen: who answered each question of the guide, each group's
# dynamics, where the unit of analysis changes a theme's disciplines, who took which stance to each
# question in FG03, and how each theme was held across the groups (the report has them too).
echo
echo "What only a focus-group tool shows (also in the report):"
chorus guide show
chorus dynamics
chorus themes --units
chorus stances matrix --group FG03
chorus stances summary
echo

# A second study in another voice (home monitoring after heart failure, coded by meaning, not by
# pattern), so the AI's figures do not come only from the text its features were tried on.
second="$study/second-study"
step "second study: 6 groups, 82 codings by meaning (examples/hf-study)" chorus init "$second" --name "Home monitoring after heart failure"
( cd "$second"
  step "" chorus roster import "$here/../hf-study/roster.csv"
  step "" chorus groups import "$here/../hf-study/groups.csv"
  step "" chorus transcripts import "$here"/../hf-study/transcripts/*.txt
  step "" chorus codebook import "$here/../hf-study/codebook.csv"
  step "" chorus codings import "$here/../hf-study/codings.csv"
  step "how much the AI finds there -> second-study/ai-evaluation.csv" \
    chorus suggest evaluate --embedder minilm --embedder glove --clusterings 10 --out ai-evaluation.csv )

# Exchange: the whole study for MAXQDA, NVivo or ATLAS.ti (REFI-QDA), and the codebook alone.
step "REFI-QDA project for MAXQDA, NVivo, ATLAS.ti -> pc-study.qdpx" chorus export pc-study.qdpx
step "REFI-QDA codebook -> codebook.qdc" chorus codebook export codebook.qdc

# From a recording: a pilot exchange spoken here by espeak-ng in four voices (the demo ships no
# recordings of real people), transcribed locally with speakers named from a mapping file
# (the facilitator is found as the one asking questions). Last, so the report above is of the written transcripts.
if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then
  mkdir -p recordings
  step "speak a pilot recording (espeak-ng, four voices)" \
    python -c "from chorus.audio.synthetic import FOCUS_GROUP, speak; speak(FOCUS_GROUP, 'recordings/FG01-pilot.wav')"
  printf 'speaker,participant\nS2,Adaeze\nS3,Bernard\nS4,Camila\n' > pilot-speakers.csv
  step "transcribe it locally, speakers named -> FG01-pilot.vtt" \
    chorus transcribe recordings/FG01-pilot.wav --group FG01 --speakers 4 --mapping pilot-speakers.csv --no-ask --out FG01-pilot.vtt
else
  echo "  skipped transcribing a recording: needs espeak-ng and sox to speak one"
  echo "  (apt-get install espeak-ng sox, or brew install espeak-ng sox)"
fi

cat <<DONE

Done. Open the findings report: $out/findings.html
  its tables:       $out/findings_tables/ (CSV; all in tables.xlsx)
  the manuscript:   $out/findings.docx (methods, Table 1, Table 2, figures, COREQ)
  MAXQDA, NVivo, ATLAS.ti: $out/pc-study.qdpx, codebook.qdc
  what each step printed: $out/demo-log.txt
DONE
