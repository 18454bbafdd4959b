// The agreement page: each decision on a disagreement is stored the moment it is chosen, so a refused write of the
// consensus, a reload or a colleague's visit to the page loses none of them.
import { send } from "./api.js";

const settings = document.getElementById("decisions-page");
const page = settings ? JSON.parse(settings.textContent) : null;

/** Store one row's decision; says in the row whether it was stored, or why not (in red). */
async function store(row) {
  const decision = row.querySelector("select[name=decision]").value;
  const recodeTo = row.querySelector("select[name=recode_to]").value;
  const said = row.querySelector(".stored");
  said.classList.remove("error");
  if (decision === "recode" && !recodeTo) {
    said.textContent = "choose the code to recode to";
    return;
  }
  said.textContent = "storing…";
  try {
    await send(page.root, page.csrf, "POST", "/api/decisions", {
      coders: page.coders, unit: page.unit, transcript: row.dataset.transcript, turn: Number(row.dataset.turn),
      sentence: Number(row.dataset.sentence), code: row.dataset.code, decision, recode_to: decision === "recode" ? recodeTo : "",
    });
    said.textContent = decision ? "stored" : "undecided";
  } catch (error) {
    said.textContent = `not stored: ${error.message}`;
    said.classList.add("error");
  }
}

if (page) {
  for (const row of document.querySelectorAll("#disagreements tr[data-code]")) {
    row.addEventListener("change", () => store(row));
  }
}
