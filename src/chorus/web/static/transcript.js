// The transcript page: the recording's player for everyone; for coders, coding the words they select from
// the code menu beside them, the coding drawn in place (no page load, the scroll kept), Ctrl+Z to undo it,
// stances, memos and removing codings; others' codings appear and go as they make them (live.js).
import { send as request } from "./api.js";
import { CodeMenu } from "./codemenu.js";
import { onChange, onPresence, say } from "./live.js";
import { selectByKeyboard, spanOf } from "./selecting.js";

const turns = document.getElementById("turns");
const said = document.getElementById("status");
const settings = document.getElementById("coding-page");
const page = settings ? JSON.parse(settings.textContent) : null;
const listening = JSON.parse(document.getElementById("live-page")?.textContent ?? "null");  // a reader's page has no coding settings
const where = page ?? (listening && { root: listening.root, transcript: listening.page.replace(/^transcript:/, "") });

/** Say something in the page's status line (read out by screen readers); an error in red. */
function tell(text, error = false) {
  said.textContent = text;
  said.classList.toggle("error", error);
}

/** A request to the study's JSON API with the session's CSRF token (see api.js). */
const send = (method, path, body) => request(page.root, page.csrf, method, path, body);

/** Draw again the turns that overlap [start, end), as the server renders them, keeping the first of them where it was on screen. */
async function redraw(start, end) {
  const response = await fetch(`${where.root}/transcripts/${encodeURIComponent(where.transcript)}/turns?start=${start}&end=${end}`);
  if (!response.ok) throw new Error(`the turns could not be drawn again (${response.status}): reload the page`);
  const fresh = document.createElement("template");
  fresh.innerHTML = await response.text();
  const drawn = [...fresh.content.querySelectorAll(".turn")];
  const first = drawn.length && document.getElementById(drawn[0].id);
  const top = first ? first.getBoundingClientRect().top : 0;
  const focused = document.activeElement?.closest?.(".turn")?.id;
  for (const turn of drawn) {
    const old = document.getElementById(turn.id);
    if (old?.querySelector(".said")?.tabIndex === 0) turn.querySelector(".said").tabIndex = 0;  // the turns' one tab stop stays
    old?.replaceWith(turn);
  }
  if (first) window.scrollBy(0, document.getElementById(drawn[0].id).getBoundingClientRect().top - top);
  if (focused && drawn.some(t => t.id === focused)) document.querySelector(`#${focused} .said`)?.focus({ preventScroll: true });
}

const undoable = [];  // this page's codings by this coder, latest last: what Ctrl+Z removes
// The codings this page itself added or removed (it drew them already): their echo on the change stream is not drawn
// again, which would replace turns under the coder's hands (a selection begun, the stance menu open) for nothing.
const ownWrites = new Set();
/** Write through the JSON API and note the coding it added or removed as this page's own. */
async function written(method, path, body) {
  const answer = await send(method, path, body);
  const id = answer?.id ?? Number(path.match(/^\/api\/codings\/(\d+)$/)?.[1]);
  if (id) ownWrites.add(id);
  return answer;
}

/** Code the span with ``code`` (a path), draw it in place, and note it for undo. */
async function code(span, path) {
  const chosen = performance.now();
  try {
    const made = await written("POST", "/api/codings", { transcript: page.transcript, code: path, start: span.start, end: span.end });
    await redraw(span.start, span.end);
    undoable.push({ id: made.id, path, ...span });
    tell(`Coded “${span.text.length > 60 ? span.text.slice(0, 57) + "…" : span.text}” as ${path}. Ctrl+Z undoes it.`);
    requestAnimationFrame(() => performance.measure("coding", { start: chosen, end: performance.now() }));
  } catch (error) {
    tell(error.message, true);
  }
}

/** Whether the person is in the middle of something on the turns (words selected, a menu open): not the moment to redraw them. */
function busy(menu) {
  const selection = window.getSelection();
  const selecting = selection && !selection.isCollapsed && turns.contains(selection.anchorNode);
  return selecting || (menu && !menu.root.hidden) || !(document.getElementById("stance-menu")?.hidden ?? true);
}

/** Others' changes drawn in place: the turns their codings touch, redrawn once for a burst (a merge moves many at once),
 * and held while the person is mid-action. */
function drawLive(menu) {
  let span = null, timer = null;
  const later = (start, end) => {
    span = span ? [Math.min(span[0], start), Math.max(span[1], end)] : [start, end];
    clearTimeout(timer);
    let held = 0;
    const draw = async () => {
      if (busy(menu) && held++ < 30) { timer = setTimeout(draw, 300); return; }  // up to 9 s: a selection left lying holds nothing for long
      const [from, to] = span; span = null;
      try { await redraw(from, to); } catch (error) { say(error.message, true); }
    };
    timer = setTimeout(draw, 150);
  };
  onChange(change => {
    if (change.kind.startsWith("coding.") && ownWrites.delete(change.coding)) return;  // drawn when this page wrote it
    if (change.kind.startsWith("coding.") && change.transcript === where.transcript && change.start != null) later(change.start, change.end);
    else if (change.kind === "codings.imported") say(`${change.actor} imported ${change.rows} codings.`, true);
    else if (change.kind === "transcript.edited" && change.transcript === where.transcript) later(0, 2147483647);
    else if (change.kind === "transcript.removed" && change.transcript === where.transcript) say(`${change.actor} removed this transcript.`, true);
    else if (change.kind.startsWith("code.")) {
      if (menu) menu.changed(change);
      if (change.kind !== "code.added") later(0, 2147483647);  // names and colours of marks and chips
    }
  });
  const present = document.getElementById("present");
  onPresence(people => {
    if (!present) return;
    present.textContent = people.length ? "Also here: " + people.map(p => `${p.name} (${p.did})`).join(", ") : "";
  });
}

if (!page && where) drawLive(null);

if (page) {
  const menu = new CodeMenu(document.getElementById("code-menu"), page.codes, page.recent, {
    code,
    create: async (name, parent) => (await send("POST", "/api/codes", { name, parent: parent || null })).path,
    failed: message => tell(message, true),
  });
  turns.addEventListener("mouseup", event => {
    if (event.target.closest("button, a")) return;
    setTimeout(() => { const span = spanOf(window.getSelection()); if (span) menu.open(span); });
  });
  selectByKeyboard(turns, (span, said) => menu.open(span, said));
  drawLive(menu);

  document.addEventListener("keydown", async event => {
    if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "z" || event.shiftKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;  // their own undo
    event.preventDefault();
    const last = undoable.pop();
    if (!last) { tell("Nothing of yours to undo on this page."); return; }
    try {
      await written("DELETE", `/api/codings/${last.id}`);
      await redraw(last.start, last.end);
      tell(`Undone: the coding of “${last.text.slice(0, 40)}” as ${last.path}.`);
    } catch (error) {
      tell(error.message, true);
    }
  });

  const stances = document.getElementById("stance-menu");
  let stanceOf = null;  // the turn whose stance is being recorded
  turns.addEventListener("click", async event => {
    const button = event.target.closest("button");
    if (!button) return;
    const turn = button.closest(".turn");
    if (button.matches(".pick-stance")) {
      stanceOf = turn; button.after(stances); stances.hidden = false;
    } else if (button.dataset.stance) {
      const span = { start: Number(stanceOf.dataset.start), end: Number(stanceOf.dataset.end) };
      stances.hidden = true; document.body.append(stances);
      try {
        await written("POST", "/api/codings", { transcript: page.transcript, code: "Stance/" + button.dataset.stance, ...span });
        await redraw(span.start, span.end);
      } catch (error) { tell(error.message, true); }
    } else if (button.dataset.memo) {
      const text = prompt("Memo on this coding");
      if (!text) return;
      try { await send("POST", `/api/codings/${button.dataset.memo}/memo`, { text }); tell("Memo saved."); } catch (error) { tell(error.message, true); }
    } else if (button.dataset.remove) {
      try {
        await written("DELETE", `/api/codings/${button.dataset.remove}`);
        await redraw(Number(button.dataset.from), Number(button.dataset.to));
        tell("Coding removed.");
      } catch (error) { tell(error.message, true); }
    }
  });
}

const audio = document.getElementById("audio");
if (audio) {
  turns.addEventListener("click", event => {
    const seek = event.target.closest(".seek");
    if (seek) { audio.currentTime = Number(seek.closest(".turn").dataset.time); audio.play(); }
  });
  let current = null;
  audio.addEventListener("timeupdate", () => {
    let now = null;
    for (const turn of turns.querySelectorAll(".turn[data-time]")) { if (Number(turn.dataset.time) <= audio.currentTime + 0.05) now = turn; else break; }
    if (now === current) return;
    current?.classList.remove("playing");
    current = now;
    if (current) { current.classList.add("playing"); if (document.getElementById("follow").checked) current.scrollIntoView({ block: "center", behavior: "smooth" }); }
  });
}
