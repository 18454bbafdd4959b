// The code menu that opens beside the selected words: an ARIA combobox whose list is every code, found by any part
// of its path (the coder's recent codes first), chosen with the arrows and Enter or with the mouse. A new code is a
// choice of its own, at the end of the list, made with its parent; it is never made because a name was not found.

/** Whether the letters of ``typed`` appear in ``name`` in order (a misspelling such as "fundng" still finds "funding"). */
function inOrder(typed, name) {
  let at = 0;
  for (const letter of name) if (letter === typed[at]) at++;
  return typed.length > 0 && at === typed.length;
}

export class CodeMenu {
  /**
   * ``codes``: [{path, colour, definition}] in codebook order; ``recent``: the coder's last-used paths, latest first;
   * ``actions``: ``code(span, path)``, ``create(name, parent) -> path`` and ``failed(message)``.
   */
  constructor(root, codes, recent, actions) {
    Object.assign(this, { root, codes: [...codes], recent: [...recent], actions, span: null, options: [], active: 0, returnTo: null });
    this.input = root.querySelector("#code-input");
    this.list = root.querySelector("#code-options");
    this.quote = root.querySelector("#code-quote");
    this.making = root.querySelector("#new-code");
    this.parent = root.querySelector("#new-parent");
    this.input.addEventListener("input", () => { this.active = 0; this.render(); });
    this.input.addEventListener("keydown", event => this.key(event));
    this.list.addEventListener("mousedown", event => event.preventDefault());  // the input keeps the focus
    this.list.addEventListener("click", event => {
      const item = event.target.closest("[role=option]");
      if (item) this.choose(Number(item.dataset.index));
    });
    root.querySelector("#create-code").addEventListener("click", () => this.make());
    root.querySelector("#new-back").addEventListener("click", () => { this.making.hidden = true; this.input.focus(); });
    this.making.addEventListener("keydown", event => {
      if (event.key === "Enter" && event.target === this.parent) { event.preventDefault(); this.make(); }
      if (event.key === "Escape") { event.preventDefault(); this.close(); }
    });
    document.addEventListener("mousedown", event => {
      if (!this.root.hidden && !this.root.contains(event.target)) this.close(false);
    }, true);
  }

  /** Open beside the selected ``span`` ({start, end, text, range}); ``returnTo`` takes the focus back when it closes. */
  open(span, returnTo = null) {
    Object.assign(this, { span, returnTo, active: 0 });
    this.quote.textContent = span.text.length > 50 ? span.text.slice(0, 47) + "…" : span.text;
    this.input.value = "";
    this.making.hidden = true;
    this.render();
    this.root.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    if (globalThis.Highlight && CSS.highlights) CSS.highlights.set("pending", new Highlight(span.range));
    const box = span.range.getBoundingClientRect(), width = this.root.offsetWidth, height = this.root.offsetHeight;
    const left = Math.min(Math.max(8, box.left), document.documentElement.clientWidth - width - 8);
    const below = box.bottom + height + 8 < window.innerHeight || box.top < height + 8;
    this.root.style.left = `${left + window.scrollX}px`;
    this.root.style.top = `${(below ? box.bottom + 6 : box.top - height - 6) + window.scrollY}px`;
    this.input.focus({ preventScroll: true });
  }

  /** Close, handing the focus back to where the selection was made from (when ``refocus``). */
  close(refocus = true) {
    this.root.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    if (globalThis.Highlight && CSS.highlights) CSS.highlights.delete("pending");
    if (refocus && this.returnTo) this.returnTo.focus({ preventScroll: true });
  }

  /** The codes the typed words find, best first: the typed name itself, then recent codes, then names starting with it, then the rest; misspellings last. */
  found(typed) {
    const words = typed.toLowerCase().split(/\s+/).filter(Boolean), whole = words.join(" ");
    const recentAt = new Map(this.recent.map((path, i) => [path, i]));
    const ranked = [];
    this.codes.forEach((code, order) => {
      const path = code.path.toLowerCase(), name = path.slice(path.lastIndexOf("/") + 1);
      let tier;
      if (!words.length) tier = recentAt.has(code.path) ? 1 : 3;
      else if (name === whole || path === whole) tier = 0;
      else if (words.every(w => path.includes(w))) tier = recentAt.has(code.path) ? 1 : name.startsWith(whole) ? 2 : 3;
      else if (inOrder(words.join(""), name)) tier = 4;
      else return;
      ranked.push({ tier, recent: recentAt.get(code.path) ?? Infinity, order, code });
    });
    ranked.sort((a, b) => a.tier - b.tier || a.recent - b.recent || a.order - b.order);
    return ranked;
  }

  /** Fill the list for what is typed: the codes found, and a new code when no code has the typed name. */
  render() {
    const typed = this.input.value.trim();
    const found = this.found(typed);
    this.options = found.slice(0, 60).map(f => ({ path: f.code.path, code: f.code }));
    if (typed && !this.codes.some(c => c.path.toLowerCase() === typed.toLowerCase())) {  // offered, never chosen for the coder
      const cut = typed.lastIndexOf("/"), under = cut > 0 && this.codes.some(c => c.path === typed.slice(0, cut)) ? typed.slice(0, cut) : "";
      this.options.push({ name: under ? typed.slice(cut + 1).trim() : typed, under });
    }
    this.active = Math.min(this.active, Math.max(this.options.length - 1, 0));
    this.list.replaceChildren(...this.options.map((option, index) => this.item(option, index)));
    this.show();
  }

  /** One option of the list, built from text (code names are never read as markup). */
  item(option, index) {
    const item = document.createElement("li");
    Object.assign(item, { id: `code-option-${index}` });
    item.setAttribute("role", "option");
    item.dataset.index = index;
    if (option.code) {
      const swatch = document.createElement("span"), label = document.createElement("span"), above = document.createElement("small");
      swatch.className = "swatch"; swatch.style.setProperty("--c", option.code.colour); swatch.setAttribute("aria-hidden", "true");
      label.className = "path";
      const cut = option.path.lastIndexOf("/");
      above.textContent = cut > 0 ? option.path.slice(0, cut + 1) : "";
      label.append(above, option.path.slice(cut + 1));
      if (option.code.definition) {
        const definition = document.createElement("small");
        definition.className = "definition"; definition.textContent = option.code.definition;
        label.append(definition);
      }
      item.append(swatch, label);
      if (this.recent.includes(option.path)) {
        const recent = document.createElement("span");
        recent.className = "recent"; recent.textContent = "recent";
        item.append(recent);
      }
    } else {
      item.className = "new";
      item.textContent = `New code “${option.name}”${option.under ? ` under ${option.under}` : ""}…`;
    }
    return item;
  }

  /** Mark the active option, for the eye and for a screen reader (aria-activedescendant). */
  show() {
    [...this.list.children].forEach((item, index) => item.setAttribute("aria-selected", String(index === this.active)));
    const active = this.list.children[this.active];
    if (active) { this.input.setAttribute("aria-activedescendant", active.id); active.scrollIntoView({ block: "nearest" }); }
    else this.input.removeAttribute("aria-activedescendant");
  }

  key(event) {
    const count = this.options.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (count) { this.active = (this.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count; this.show(); }
    } else if (event.key === "Enter") {
      if (count) this.choose(this.active);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
  }

  /** Code the selection with the chosen code, or, for a new code, ask for its parent first. */
  choose(index) {
    const option = this.options[index];
    if (!option) return;
    if (!option.code) {
      this.making.hidden = false;
      this.making.querySelector("#new-name").textContent = option.name;
      this.making.dataset.name = option.name;
      this.parent.value = option.under;
      this.parent.focus();
      return;
    }
    this.close();
    this.used(option.path);
    this.actions.code(this.span, option.path);
  }

  /** Make the new code under the parent chosen, then code the selection with it. */
  async make() {
    const span = this.span;
    try {
      const path = await this.actions.create(this.making.dataset.name, this.parent.value);
      this.codes.push({ path, colour: "#999999", definition: "" });
      this.parent.append(new Option(path, path));
      this.close();
      this.used(path);
      await this.actions.code(span, path);
    } catch (error) {
      this.actions.failed(error.message);
    }
  }

  /** Another person changed the codebook (a change from live.js): offer what it is now, never a code merged or removed away. */
  changed(change) {
    const under = (path, top) => path === top || path.startsWith(top + "/");
    if (change.kind === "code.added" && !this.codes.some(c => c.path === change.code)) {
      this.codes.push({ path: change.code, colour: change.colour, definition: "" });
    } else if (change.kind === "code.renamed" || change.kind === "code.moved") {
      for (const code of this.codes) if (under(code.path, change.was)) code.path = change.code + code.path.slice(change.was.length);
      this.recent = this.recent.map(p => (under(p, change.was) ? change.code + p.slice(change.was.length) : p));
    } else if (change.kind === "code.recoloured") {
      for (const code of this.codes) if (code.path === change.code) code.colour = change.colour;
    } else if (change.kind === "code.merged" || change.kind === "code.removed") {
      this.codes = this.codes.filter(c => c.path !== change.was);
      this.recent = this.recent.filter(p => p !== change.was);
    } else {
      return;
    }
    if (!this.root.hidden) this.render();
  }

  used(path) {
    this.recent = [path, ...this.recent.filter(p => p !== path)].slice(0, 8);
  }
}
