// Selections in a transcript: where a selection lies in the transcript's text, and selecting by keyboard
// (a turn takes the focus; Shift+arrows select in it, as in a text editor; C or Enter opens the code menu).

/** The transcript offset of a DOM position inside a turn's words (``.said``), or null outside them. */
export function offsetIn(node, offset) {
  const said = (node.nodeType === Node.TEXT_NODE ? node.parentElement : node).closest(".said");
  if (!said) return null;
  const range = document.createRange();
  range.setStart(said, 0);
  range.setEnd(node, offset);
  return Number(said.dataset.start) + range.toString().length;
}

/** The selected span ``{start, end, text, range}`` in transcript offsets, or null when nothing inside the turns' words is selected. */
export function spanOf(selection) {
  if (!selection.rangeCount || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  const start = offsetIn(range.startContainer, range.startOffset), end = offsetIn(range.endContainer, range.endOffset);
  const text = range.toString().trim();
  if (start === null || end === null || end <= start || !text) return null;
  return { start, end, text, range: range.cloneRange() };
}

/** The DOM position (text node, offset) ``offset`` characters into a turn's words. */
function position(said, offset) {
  const walker = document.createTreeWalker(said, NodeFilter.SHOW_TEXT);
  let node, seen = 0, last = null;
  while ((node = walker.nextNode())) {
    if (seen + node.length >= offset) return [node, offset - seen];
    seen += node.length; last = node;
  }
  return last ? [last, last.length] : [said, 0];
}

/** The next place a word starts (forwards) or the start of this word (backwards) from ``at`` in ``text``. */
function wordStep(text, at, forwards) {
  if (forwards) {
    const next = /\s+\S|$/g; next.lastIndex = at;
    const found = next.exec(text);
    return found.index + found[0].length - (found[0].length ? 1 : 0);
  }
  let i = at;
  while (i > 0 && /\s/.test(text[i - 1])) i--;
  while (i > 0 && !/\s/.test(text[i - 1])) i--;
  return i;
}

/**
 * Let a keyboard select words: the turns' words are focusable one at a time (a roving tab stop), ↑ and ↓ move
 * between turns, Shift+← and Shift+→ select a character (with Ctrl or Alt a word), Shift+Home and Shift+End to the
 * turn's ends, and C or Enter calls ``open(span)`` on the selection.
 */
export function selectByKeyboard(container, open) {
  let anchor = 0, head = 0;  // the selection in the focused turn, as offsets into its words
  const first = container.querySelector(".said");
  if (first) first.tabIndex = 0;

  const show = said => {
    const [a, aOffset] = position(said, anchor), [h, hOffset] = position(said, head);
    window.getSelection().setBaseAndExtent(a, aOffset, h, hOffset);
  };
  const move = (said, to) => {
    container.querySelectorAll(".said[tabindex='0']").forEach(s => { s.tabIndex = -1; });
    to.tabIndex = 0;
    to.focus();
    to.scrollIntoView({ block: "nearest" });
    window.getSelection().removeAllRanges();
    anchor = head = 0;
  };

  container.addEventListener("focusin", event => {
    const said = event.target.closest(".said");
    if (!said) return;
    const span = spanOf(window.getSelection());  // a selection made with the mouse in this turn is kept
    const start = Number(said.dataset.start);
    const inside = span && span.start >= start && span.end <= start + said.textContent.length;
    anchor = inside ? span.start - start : 0; head = inside ? span.end - start : 0;
  });

  container.addEventListener("keydown", event => {
    const said = event.target.closest?.(".said");
    if (!said || event.target !== said) return;
    const text = said.textContent, turns = [...container.querySelectorAll(".said")], at = turns.indexOf(said);
    if (!event.shiftKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      const next = turns[at + (event.key === "ArrowDown" ? 1 : -1)];
      if (next) move(said, next);
    } else if (event.shiftKey && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
      const forwards = event.key === "ArrowRight";
      head = event.ctrlKey || event.altKey ? wordStep(text, head, forwards) : Math.max(0, Math.min(text.length, head + (forwards ? 1 : -1)));
      show(said);
    } else if (event.shiftKey && (event.key === "Home" || event.key === "End")) {
      head = event.key === "Home" ? 0 : text.length;
      show(said);
    } else if ((event.key === "c" || event.key === "C" || event.key === "Enter") && !event.ctrlKey && !event.metaKey) {
      const span = spanOf(window.getSelection());
      if (span) open(span, said);
    } else if (event.key === "Escape") {
      anchor = head = 0;
      window.getSelection().removeAllRanges();
    } else {
      return;
    }
    event.preventDefault();
  });
}
