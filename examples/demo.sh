#!/usr/bin/env bash
# The demo study end to end with the chorus command: roster, transcripts, codebook,
# coding (by pattern and by hand), analysis by discipline and the findings report.
# Usage: examples/demo.sh OUTPUT_FOLDER   (run by `make demo`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)/pc-study"
out="${1:?give the folder to build the demo study in}"
rm -rf "$out"
chorus init "$out" --name "Palliative care in pediatric oncology (demo)"
cd "$out"

chorus roster import "$here/roster.csv"
chorus groups import "$here/groups.csv"
chorus transcripts import "$here"/transcripts/*
chorus codebook import "$here/codebook.csv"
chorus codebook snapshot --label "codebook before coding"

# First pass by pattern (coder "autocoder"); each rule codes the sentence around a hit.
code() { chorus autocode --coder autocoder --scope sentence --code "$1" --pattern "$2"; }
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

# Second pass by hand (coder "analyst"): what the patterns cannot see.
chorus code FG06 --turn 10 --code "Early integration" --coder analyst
chorus code FG03 --turn 21 --code "Family perceptions of palliative care" --coder analyst
# A second coder (ben) codes four groups independently, by turn, for intercoder agreement.
second() { chorus autocode --coder ben --scope turn --transcript FG01 --transcript FG02 --transcript FG03 --transcript FG04 --code "$1" --keywords "$2"; }
second "Funding" "funding,budget,billable,reimbursement,grant,money,insurance"
second "Collaboration" "team,together,huddle,collaboration,partnership"
second "Communication" "conversation,conversations,language,words,script"
second "Medical opposition" "resist,resists,pushback,ready,giving up,territory"
second "Early integration" "diagnosis,early,earlier"
chorus agreement --coders autocoder,ben --code Funding --code Collaboration --code Communication \
  --code "Medical opposition" --code "Early integration" --out agreement.csv --disagreements disagreements.csv
chorus codebook snapshot --label "after the first coding pass"

chorus memo add "Physicians frame early integration as a question of timing and capacity; nurses as making palliative care ordinary." --code "Early integration" --coder analyst

chorus matrix --by discipline --count participants --out matrix_participants.csv
chorus themes --out themes.csv
chorus saturation --out saturation.csv

# AI assistance, locally: candidate codes from the text, and suggestions for one code to accept or reject.
chorus suggest codes --include-coded --out candidates.csv
chorus suggest codings --code Funding --out suggestions.csv
chorus report --out findings.html --agreement autocoder,ben
chorus log --out audit-log.csv

# De-identification: findings to review (the demo's transcripts are already pseudonymised;
# a real study reviews deid-review.csv, then: chorus deid apply deid-review.csv --key ../locked/key.json).
chorus deid find --out deid-review.csv

# Exchange: the whole study for MAXQDA, NVivo or ATLAS.ti (REFI-QDA), and the codebook alone.
chorus export pc-study.qdpx
chorus codebook export codebook.qdc

# From a recording: a pilot exchange spoken here by espeak-ng in four voices (the demo ships no
# recordings of real people), transcribed locally with speakers named from a mapping file
# (the facilitator is found as the one asking questions). Last, so the report above is of the written transcripts.
if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then
  mkdir -p recordings
  python -c "from chorus.audio.synthetic import FOCUS_GROUP, speak; speak(FOCUS_GROUP, 'recordings/FG01-pilot.wav')"
  printf 'speaker,participant\nS2,Adaeze\nS3,Bernard\nS4,Camila\n' > pilot-speakers.csv
  chorus transcribe recordings/FG01-pilot.wav --group FG01 --speakers 4 --mapping pilot-speakers.csv --no-ask --out FG01-pilot.vtt
else
  echo "skipped transcribing a recording: needs espeak-ng and sox to speak one (apt-get install espeak-ng sox)"
fi
