// The candidates page: a candidate's passages listed, all ticked, for the coder to untick those that do not belong
// before adopting it; and "Dismiss", stored (audited, and not offered again after reclustering) the moment it is pressed.
import { send } from "./api.js";

const page = JSON.parse(document.getElementById("candidates-page").textContent);
const status = document.getElementById("status");

/** Say ``text`` in the page's status line (in red when ``failed``). */
function say(text, failed = false) {
  status.textContent = text;
  status.className = failed ? "error" : "muted";
}

/** List the candidate's passages in its <details>, each a ticked checkbox of the adopt form; the form then codes only the ticked. */
async function listPassages(details) {
  if (details.dataset.listed) return;
  details.dataset.listed = "yes";
  const card = details.closest(".candidate"), list = details.querySelector(".list");
  let passages;
  try {
    passages = await send(page.root, page.csrf, "GET", `/api/candidates/${details.dataset.job}/${card.dataset.candidate}`);
  } catch (error) {
    list.textContent = error.message;
    list.className = "list error";
    delete details.dataset.listed;
    return;
  }
  list.replaceChildren(...passages.map((passage) => {
    const label = document.createElement("label"), box = document.createElement("input");
    box.type = "checkbox"; box.name = "segment"; box.value = passage.segment; box.checked = true;
    label.style.display = "block"; label.style.margin = "4px 0"; label.style.color = "var(--text, inherit)";
    const who = document.createElement("span");
    who.className = "muted"; who.textContent = ` ${passage.speaker} (${passage.discipline}, ${passage.group}): `;
    label.append(box, who, passage.text);
    return label;
  }));
  list.className = "list";
  // the ticked boxes are what the form sends now, not every member
  details.closest("form").querySelector("input[name=segments]").disabled = true;
}

document.querySelectorAll("details.passages").forEach((details) => details.addEventListener("toggle", () => {
  if (details.open) listPassages(details);
}));

document.querySelectorAll("form.adopt").forEach((form) => form.addEventListener("submit", (event) => {
  const boxes = form.querySelectorAll("input[name=segment]");
  if (boxes.length && ![...boxes].some((box) => box.checked)) {
    event.preventDefault();
    say("tick at least one passage to adopt the candidate with", true);
  }
}));

document.querySelectorAll("button.dismiss").forEach((button) => button.addEventListener("click", async () => {
  const card = button.closest(".candidate");
  const segments = card.querySelector("input[name=segments]").value;
  button.disabled = true;
  try {
    await send(page.root, page.csrf, "POST", "/api/candidates/dismiss", { segments, label: card.dataset.label });
  } catch (error) {
    button.disabled = false;
    say(error.message, true);
    return;
  }
  say(`candidate ${card.dataset.candidate} dismissed: it is not offered again`);
  card.remove();
}));
