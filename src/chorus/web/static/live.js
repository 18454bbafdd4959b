// What others change, as they change it: the page listens to the study's change stream (server-sent events,
// GET /api/live) from the audit entry it was drawn at, and catches up from the last one it heard after any break.
// The transcript page (transcript.js) draws codings in place through onChange; the code system page keeps its
// counts, names and colours; the segments and matrix pages say "n new codings" rather than move under the reader.

const settings = document.getElementById("live-page");
const live = settings ? JSON.parse(settings.textContent) : null;
const notice = document.getElementById("live-notice");
const handlers = [], presenceHandlers = [];

/** Call ``handler(change)`` for every change the stream brings (``change.kind``: "coding.added", "code.merged", ...). */
export function onChange(handler) { handlers.push(handler); }

/** Call ``handler(people)`` whenever who else has this page open changes: [{name, did, at}]. */
export function onPresence(handler) { presenceHandlers.push(handler); if (present) handler(present); }

/** Say something in the page's live notice, with a link that loads the page again when ``reload``. */
export function say(text, reload = false) {
  if (!notice) return;
  notice.replaceChildren(text);
  if (reload) {
    const again = document.createElement("a");
    again.href = location.href; again.textContent = "Refresh";
    notice.append(" ", again);
  }
  notice.hidden = false;
}

let heard = live ? live.after : 0, source = null, stopped = false, present = null, wait = 2000;

/** Listen from the last entry heard; a stream the server ends is opened again by EventSource itself, one that fails here. */
function listen() {
  const query = new URLSearchParams({ after: heard });
  if (live.page) query.set("page", live.page);
  source = new EventSource(`${live.root}/api/live?${query}`);
  source.onmessage = event => {
    const change = JSON.parse(event.data);
    heard = Math.max(heard, Number(event.lastEventId) || heard);
    for (const handler of handlers) handler(change);
  };
  source.addEventListener("at", event => { heard = Math.max(heard, Number(event.data)); document.body.dataset.heard = heard; });
  source.addEventListener("presence", event => { present = JSON.parse(event.data); for (const handler of presenceHandlers) handler(present); });
  source.addEventListener("reload", event => {
    stopped = true; source.close();
    say(`${JSON.parse(event.data).why}.`, true);
  });
  source.onopen = () => { wait = 2000; };
  source.onerror = () => {  // a server restarting, a proxy's error page, a session ended: EventSource gives up on those; try again, less often
    if (stopped || source.readyState !== EventSource.CLOSED) return;
    setTimeout(() => { if (!stopped) listen(); }, wait);
    wait = Math.min(wait * 2, 60000);
  };
}

/** The code system page: counts, names and colours as they change; a new or moved code asks for a refresh. */
function codeSystem() {
  const rows = () => [...document.querySelectorAll(".code[data-path]")];
  const row = path => rows().find(r => r.dataset.path === path);
  const count = (path, by) => {
    const cell = row(path)?.querySelector(".num");
    if (!cell) return;
    const n = Math.max(0, (parseInt(cell.textContent.replace(/[^0-9]/g, ""), 10) || 0) + by);
    cell.textContent = `${n} coding${n === 1 ? "" : "s"}`;
  };
  onChange(change => {
    if (change.kind === "coding.added") count(change.code, 1);
    else if (change.kind === "coding.removed") count(change.code, -1);
    else if (change.kind === "coding.moved") { count(change.was, -1); count(change.code, 1); }
    else if (change.kind === "code.renamed") {
      for (const r of rows()) {
        if (r.dataset.path !== change.was && !r.dataset.path.startsWith(change.was + "/")) continue;
        if (r.dataset.path === change.was) {
          r.querySelector("summary b").textContent = change.code.split("/").pop();
          const name = r.querySelector("[name=name]");
          if (name) name.value = change.code.split("/").pop();
          if (change.version) r.dataset.version = change.version;
        }
        r.dataset.path = change.code + r.dataset.path.slice(change.was.length);
      }
    } else if (change.kind === "code.recoloured") {
      const r = row(change.code);
      if (r) {
        r.querySelector(".swatch").style.background = change.colour;
        const colour = r.querySelector("[name=colour]");
        if (colour) colour.value = change.colour;
        if (change.version) r.dataset.version = change.version;
      }
    } else if (change.kind === "code.described" && change.version && row(change.code)) {
      row(change.code).dataset.version = change.version;
      say(`${change.actor} changed the definition of “${change.code}”.`, true);
    } else if (["code.added", "code.moved", "code.merged", "code.removed"].includes(change.kind)) {
      const what = { "code.added": `added “${change.code}”`, "code.moved": `moved “${change.was}”`,
                     "code.merged": `merged “${change.was}” into “${change.code}”`, "code.removed": `removed “${change.was}”` }[change.kind];
      say(`${change.actor} ${what}.`, true);
    }
  });
}

/** The segments and matrix pages: a count of what changed since they were drawn, never the table moving under the reader. */
function counting() {
  let codings = 0, codes = 0;
  onChange(change => {
    if (change.kind.startsWith("coding")) codings += change.kind === "codings.imported" ? change.rows : 1;
    else if (change.kind.startsWith("code.") || change.kind.startsWith("transcript.")) codes += 1;
    else return;
    const parts = [];
    if (codings) parts.push(`${codings} new coding${codings === 1 ? "" : "s"}`);
    if (codes) parts.push(`${codes} change${codes === 1 ? "" : "s"} to the codebook or transcripts`);
    say(`${parts.join(" and ")} since this page was drawn.`, true);
  });
}

if (live && "EventSource" in window) {
  if (live.page === "codes") codeSystem();
  else if (live.page === "segments" || live.page === "matrix") counting();
  window.addEventListener("pagehide", () => { stopped = true; source?.close(); });
  // the page's modules (transcript.js) all run before DOMContentLoaded: their handlers are in place before the first change
  if (document.readyState === "complete") listen();
  else document.addEventListener("DOMContentLoaded", listen);
}
