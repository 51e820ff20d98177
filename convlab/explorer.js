// The renderer of Fold & Unfold's explorers (package data of convlab).
//
// It draws a *scene* computed in Python by convlab/scenes.py (its docstring
// defines the format) as SVG, with a slider per parameter and First / Back /
// Play / Next controls over the frames. It looks values up and draws them:
// no formula of a convolution is written here. Two hosts mount it:
// - the static site: convlab/widgets.py embeds the scenes of a grid of
//   parameter values (gzip + base64) and calls mountStatic on the element;
// - JupyterLab: anywidget loads this file as the widget's ES module (the
//   default export); moving a slider asks Python for the new scene.
// Tested by tests/browser/test_explorer_js.py (this file alone, on made-up
// scenes) and tests/browser/test_site_explorers.py (the built site, against torch).

const SVG = "http://www.w3.org/2000/svg";
// text sizes are in explorer.css: labels 13 px, row and column numbers 12 px,
// tags 11 px (the smallest text: the browser tests check it stays >= 11 px)
const CELL_H = 30;
const CELL_H_TAGGED = 42;
const INTERVAL_MS = 900;

function node(tag, attrs, parent, text) {
  const el = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) el.setAttribute(k, v);
  }
  if (text !== undefined) el.textContent = text;
  if (parent) parent.appendChild(el);
  return el;
}

// ---- the scene's lookups (the same rules as convlab.scenes, in Python) ------
export function row(table, f) {
  return table.data.slice(f * table.width, (f + 1) * table.width);
}

export function cellLabel(panel, i) {
  if (panel.ids) return panel.ids[i] < 0 ? "0" : panel.prefix + panel.ids[i];
  return panel.labels ? panel.labels[i] : "";
}

function isPad(panel, i) {
  return !!panel.ids && panel.ids[i] < 0;
}

function markCells(scene, m, f) {
  const mark = scene.marks[m];
  const cells = row(scene.tables[mark.table], f);
  const tags = mark.tags ? row(scene.tables[mark.tags], f) : cells.map(() => -1);
  const out = [];
  cells.forEach((c, j) => {
    if (c >= 0) out.push([c, tags[j]]);
  });
  return out;
}

// a template filled for frame f (convlab.scenes.fill is the same rule in Python)
const PLACEHOLDER = /\{(?:(terms|count|s|range):)?(\d+)(?::(\d+):(\w+))?\}/g;

export function fill(scene, template, f) {
  const cap = scene.caption;
  const values = cap.values ? row(scene.tables[cap.values], f) : [];
  return template.replace(PLACEHOLDER, (_, kind, arg, arg2, word) => {
    const i = parseInt(arg, 10);
    if (!kind) return String(values[i]);
    if (kind === "s") return values[i] === 1 ? "" : "s";
    if (kind === "range") {
      const lo = values[i];
      const hi = values[parseInt(arg2, 10)];
      return lo === hi ? `${word} ${lo}` : `${word}s ${lo}..${hi}`;
    }
    const cells = markCells(scene, i, f);
    if (kind === "count") return String(cells.length);
    const mark = scene.marks[i];
    const panel = scene.panels[mark.panel];
    const terms = cells
      .filter(([c]) => !isPad(panel, c))
      .map(([c, t]) => mark.tagLabels[t] + "*" + cellLabel(panel, c));
    return terms.length ? terms.join(" + ") : "0";
  });
}

// the caption template of frame f: which[f], or 0 without a which table
function templateOf(scene, f) {
  const cap = scene.caption;
  return cap.which ? row(scene.tables[cap.which], f)[0] : 0;
}

export function formatCaption(scene, f) {
  return fill(scene, scene.caption.templates[templateOf(scene, f)], f);
}

// how many of frames 0..f highlighted each cell, for every tally mark's panel
export function tallies(scene, f) {
  const counts = {};
  scene.marks.forEach((mark, m) => {
    if (!mark.tally) return;
    const c = (counts[mark.panel] = counts[mark.panel] || {});
    for (let g = 0; g <= f; g++) {
      for (const [cell] of markCells(scene, m, g)) c[cell] = (c[cell] || 0) + 1;
    }
  });
  return counts;
}

// a list of frame labels is indexed like the caption's templates
export function frameText(scene, f) {
  const label = Array.isArray(scene.frameLabel)
    ? scene.frameLabel[templateOf(scene, f)]
    : scene.frameLabel;
  return `frame ${f + 1} of ${scene.frames}: ${fill(scene, label, f)}`;
}

// ---- drawing -------------------------------------------------------------
function panelGeometry(scene, p) {
  const panel = scene.panels[p];
  const tagged = scene.marks.some((m) => m.panel === p && m.tags);
  let longest = 1;
  for (let i = 0; i < panel.rows * panel.cols; i++) {
    longest = Math.max(longest, cellLabel(panel, i).length);
  }
  for (const t of panel.colLabels || []) longest = Math.max(longest, t.length);
  scene.marks.forEach((m) => {
    if (m.panel === p && m.tagLabels) {
      m.tagLabels.forEach((t) => (longest = Math.max(longest, t.length)));
    }
  });
  const cw = Math.max(30, Math.ceil(longest * 8 + 10));
  const ch = tagged ? CELL_H_TAGGED : CELL_H;
  let left = 4;
  if (panel.rowLabels) {
    const w = Math.max(...panel.rowLabels.map((s) => s.length));
    left = Math.ceil(w * 8 + 10);
  }
  return { cw, ch, left, top: panel.colLabels ? 20 : 4, tagged };
}

// the kind of zero a cell holds that is not a pixel: padding (-1) or inserted (-2)
function zeroClass(panel, i) {
  if (!isPad(panel, i)) return "";
  return panel.ids[i] === -2 ? " cx-gap" : " cx-pad";
}

function drawPanel(scene, p, parent) {
  const panel = scene.panels[p];
  const g = panelGeometry(scene, p);
  const wrap = node("div", { class: "cx-panel", "data-panel": panel.name }, parent);
  node("div", { class: "cx-panel-title" }, wrap, panel.title);
  const scroller = node("div", { class: "cx-scroll" }, wrap);
  const width = g.left + panel.cols * g.cw + 6;
  const height = g.top + panel.rows * g.ch + 6;
  const svg = node(
    "svg:svg",
    { width, height, viewBox: `0 0 ${width} ${height}`, "aria-hidden": "true" },
    scroller
  );
  const hatch = `${parent.dataset.uid}-${p}-hatch`;
  const pattern = node(
    "svg:pattern",
    { id: hatch, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
    node("svg:defs", {}, svg)
  );
  node("svg:rect", { width: 6, height: 6, fill: "#e9e9e9" }, pattern);
  node("svg:line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#b0b0b0", "stroke-width": 2 }, pattern);
  const bg = node("svg:g", { class: "cx-cells" }, svg);
  const marks = node("svg:g", { class: "cx-marks" }, svg);
  const text = node("svg:g", { class: "cx-labels" }, svg);
  const tags = node("svg:g", { class: "cx-tags" }, svg);
  const labels = [];
  const cells = [];
  (panel.colLabels || []).forEach((t, c) => {
    node("svg:text", { x: g.left + (c + 0.5) * g.cw, y: g.top - 6, class: "cx-collabel" }, text, t);
  });
  for (let r = 0; r < panel.rows; r++) {
    for (let c = 0; c < panel.cols; c++) {
      const i = r * panel.cols + c;
      const zero = zeroClass(panel, i);
      const rect = node(
        "svg:rect",
        {
          x: g.left + c * g.cw,
          y: g.top + r * g.ch,
          width: g.cw,
          height: g.ch,
          class: "cx-cell" + zero,
          style: zero === " cx-pad" ? `fill: url(#${hatch})` : null,
          "data-cell": i,
        },
        bg
      );
      cells.push(rect);
      const label = node(
        "svg:text",
        {
          x: g.left + (c + 0.5) * g.cw,
          y: g.top + r * g.ch + (g.tagged ? g.ch - 9 : g.ch / 2 + 5),
          class: zero ? "cx-label cx-pad-label" : "cx-label",
          "data-cell": i,
        },
        text,
        panel.tally ? "0" : cellLabel(panel, i)
      );
      labels.push(label);
    }
    if (panel.rowLabels) {
      node(
        "svg:text",
        { x: g.left - 5, y: g.top + r * g.ch + g.ch / 2 + 5, class: "cx-rowlabel" },
        text,
        panel.rowLabels[r]
      );
    }
  }
  wrap.scrollHint = node("p", { class: "cx-hint", hidden: "" }, wrap, "scroll sideways ⇆");
  return { panel, g, svg, marks, tags, labels, cells, scroller, wrap, hatch };
}

// a mark on one cell (row r, column c), inset 1.5 px inside its border
function insetCell(pv, r, c, attrs) {
  const { g } = pv;
  return node(
    "svg:rect",
    { x: g.left + c * g.cw + 1.5, y: g.top + r * g.ch + 1.5, width: g.cw - 3, height: g.ch - 3, ...attrs },
    pv.marks
  );
}

function drawRect(pv, mark, [r, c, h, w], cls) {
  const { g, panel } = pv;
  if (h <= 0 || w <= 0) return null;
  const rect = node(
    "svg:rect",
    {
      x: g.left + c * g.cw,
      y: g.top + r * g.ch,
      width: w * g.cw,
      height: h * g.ch,
      class: cls,
      "data-role": mark.role,
      "data-rect": [r, c, h, w].join(","),
    },
    pv.marks
  );
  // padding cells under the highlight keep their hatching and dashed border
  for (let i = r; i < r + h; i++) {
    for (let j = c; j < c + w; j++) {
      if (i >= panel.rows || j >= panel.cols || !isPad(panel, i * panel.cols + j)) continue;
      if (zeroClass(panel, i * panel.cols + j) !== " cx-pad") continue;
      insetCell(pv, i, j, {
        class: "cx-pad-over",
        style: `fill: url(#${pv.hatch})`,
        "data-cell": i * panel.cols + j,
      });
    }
  }
  return rect;
}

function drawFrame(view, scene, f) {
  view.panels.forEach((pv) => {
    pv.marks.replaceChildren();
    pv.tags.replaceChildren();
  });
  const counts = tallies(scene, f);
  view.panels.forEach((pv, p) => {
    if (!pv.panel.tally) return;
    const c = counts[p] || {};
    pv.labels.forEach((label, i) => {
      const n = c[i] || 0;
      label.textContent = String(n);
      if (isPad(pv.panel, i)) return; // padding keeps its hatching
      // one scale for every frame, computed in Python (panel.tallyColors[count])
      pv.cells[i].style.fill = pv.panel.tallyColors[n];
      pv.cells[i].classList.toggle("cx-uncovered", n === 0);
      label.classList.toggle("cx-uncovered-label", n === 0);
    });
  });
  scene.marks.forEach((mark, m) => {
    const pv = view.panels[mark.panel];
    const { g, panel } = pv;
    const cls = `cx-mark cx-${mark.role}`;
    // a history mark shows what the earlier frames marked
    const frames = mark.history ? [...Array(f).keys()] : [f];
    for (const h of frames) {
      if (mark.kind === "rect") {
        drawRect(pv, mark, row(scene.tables[mark.table], h), cls);
        continue;
      }
      for (const [cell, tag] of markCells(scene, m, h)) {
        const r = Math.floor(cell / panel.cols);
        const c = cell % panel.cols;
        insetCell(pv, r, c, {
          // on padding the highlight lets the hatching show through
          class: isPad(panel, cell) ? `${cls} cx-mark-pad` : cls,
          "data-role": mark.role,
          "data-cell": cell,
          "data-label": cellLabel(panel, cell),
        });
        if (tag >= 0) {
          node(
            "svg:text",
            { x: g.left + (c + 0.5) * g.cw, y: g.top + r * g.ch + 14, class: "cx-tag" },
            pv.tags,
            mark.tagLabels[tag]
          );
        }
      }
    }
  });
  // a panel that scrolls shows what the frame marks
  for (const pv of view.panels) {
    const current = [...pv.marks.children].filter(
      (r) => r.dataset.role && !r.classList.contains("cx-done")
    );
    if (!current.length || pv.scroller.scrollWidth <= pv.scroller.clientWidth + 1) continue;
    const xs = current.map((r) => +r.getAttribute("x"));
    const x0 = Math.min(...xs);
    const x1 = Math.max(...current.map((r) => +r.getAttribute("x") + +r.getAttribute("width")));
    const { scrollLeft, clientWidth } = pv.scroller;
    if (x0 < scrollLeft || x1 > scrollLeft + clientWidth) {
      pv.scroller.scrollLeft = Math.max(0, x0 - (clientWidth - (x1 - x0)) / 2);
    }
  }
  return formatCaption(scene, f);
}

const LEGEND_SWATCH = {
  block: "cx-block",
  span: "cx-span",
  column: "cx-column",
  output: "cx-output",
  done: "cx-done",
  outline: "cx-outline",
  tally: "cx-tally",
  uncovered: "cx-uncovered",
  padding: "cx-pad",
  gap: "cx-gap",
  added: "cx-added",
};

function drawLegend(scene, parent) {
  parent.replaceChildren();
  for (const [role, words] of scene.legend) {
    const item = node("li", {}, parent);
    const svg = node("svg:svg", { width: 22, height: 16, "aria-hidden": "true" }, item);
    node(
      "svg:rect",
      { x: 2, y: 2, width: 18, height: 12, class: "cx-swatch " + LEGEND_SWATCH[role] },
      svg
    );
    node("span", {}, item, words);
  }
}

// a panel wider than its box scrolls sideways: a visible hint, and keyboard access
function markScroll(pv) {
  const wide = pv.scroller.scrollWidth > pv.scroller.clientWidth + 1;
  pv.wrap.scrollHint.hidden = !wide;
  if (wide) {
    pv.scroller.setAttribute("tabindex", "0");
    pv.scroller.setAttribute("role", "group");
    pv.scroller.setAttribute("aria-label", pv.panel.title + ", scrolls sideways");
  } else {
    for (const a of ["tabindex", "role", "aria-label"]) pv.scroller.removeAttribute(a);
  }
}

// ---- the explorer: controls + figure ------------------------------------------
let counter = 0;

export function mount(root, source) {
  // source: {title, controls: [{name, values}], initial: {name: value}, scene(params) -> Promise}
  counter += 1;
  const uid = "cx" + counter + "-" + Math.random().toString(36).slice(2, 7);
  root.classList.add("convlab-explorer");
  root.replaceChildren();
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", source.title);
  const params = { ...source.initial };
  // what the sliders can take, and the parameters that have none (the tests read both)
  const fixed = { ...params };
  for (const ctl of source.controls) delete fixed[ctl.name];
  root.setAttribute("data-controls", JSON.stringify(source.controls));
  root.setAttribute("data-fixed", JSON.stringify(fixed));
  const controls = node("div", { class: "cx-controls" }, root);
  const paramBox = node("div", { class: "cx-params" }, controls);
  for (const ctl of source.controls) {
    const box = node("div", { class: "cx-param" }, paramBox);
    const id = `${uid}-${ctl.name}`;
    const label = node("label", { for: id }, box);
    node("code", {}, label, ctl.label || ctl.name);
    const index = Math.max(0, ctl.values.indexOf(params[ctl.name]));
    const input = node(
      "input",
      {
        type: "range",
        id,
        min: 0,
        max: ctl.values.length - 1,
        step: 1,
        value: index,
        "aria-valuetext": String(ctl.values[index]),
        "data-param": ctl.name,
      },
      box
    );
    const shown = node("output", { for: id, "aria-hidden": "true" }, box, String(ctl.values[index]));
    input.addEventListener("input", () => {
      const v = ctl.values[parseInt(input.value, 10)];
      input.setAttribute("aria-valuetext", String(v));
      shown.textContent = String(v);
      params[ctl.name] = v;
      load(true, performance.now());
    });
  }
  const steps = node("div", { class: "cx-steps" }, controls);
  // each button's name is its word; the arrow before or after it is decoration
  const button = (act, word, glyph, after) => {
    const b = node("button", { type: "button", "data-act": act, class: "cx-button" }, steps);
    const icon = () => node("span", { class: "cx-glyph", "aria-hidden": "true" }, b, glyph);
    if (!after) icon();
    node("span", {}, b, word);
    if (after) icon();
    return b;
  };
  const first = button("first", "First", "« ");
  const prev = button("prev", "Back", "‹ ");
  // Play is a toggle: its name stays "Play"; pressed (aria-pressed, a dark button
  // with a pause sign) while it plays
  const play = button("play", "Play", "▶ ");
  play.setAttribute("aria-pressed", "false");
  const next = button("next", "Next", " ›", true);
  const frameBox = node("div", { class: "cx-param cx-frame-box" }, steps);
  const frameId = `${uid}-frame`;
  const frameLabel = node("label", { for: frameId }, frameBox, "frame");
  const frame = node(
    "input",
    { type: "range", id: frameId, min: 0, max: 0, step: 1, value: 0, class: "cx-frame" },
    frameBox
  );
  const counterText = node("span", { class: "cx-counter", "aria-hidden": "true" }, frameBox);
  const caption = node("p", { class: "cx-caption", "aria-live": "polite" }, root);
  const error = node("p", { class: "cx-error", role: "alert", hidden: "" }, root);
  const figure = node("div", { class: "cx-figure", "data-uid": uid, role: "group" }, root);
  const legend = node("ul", { class: "cx-legend", "aria-label": "legend" }, root);

  let scene = null;
  let view = null;
  let f = 0;
  let timer = null;
  let pending = 0;

  function show(k) {
    if (!scene) return;
    f = ((k % scene.frames) + scene.frames) % scene.frames;
    const text = drawFrame(view, scene, f);
    caption.textContent = text;
    frame.value = f;
    frame.setAttribute("aria-valuetext", frameText(scene, f));
    counterText.textContent = frameText(scene, f);
    root.setAttribute("data-frame", f);
  }
  const stepControls = [first, prev, play, next, frame];
  function pause() {
    if (timer) clearInterval(timer);
    timer = null;
    play.setAttribute("aria-pressed", "false");
    play.querySelector(".cx-glyph").textContent = "▶ ";
    root.setAttribute("data-playing", "false");
    caption.setAttribute("aria-live", "polite"); // stepping by hand: each caption is read
  }
  function start() {
    if (timer || !scene) return;
    play.setAttribute("aria-pressed", "true");
    play.querySelector(".cx-glyph").textContent = "⏸ ";
    root.setAttribute("data-playing", "true");
    caption.setAttribute("aria-live", "off"); // a caption a second cannot be read aloud
    show(f + 1); // the first step is immediate
    timer = setInterval(() => show(f + 1), INTERVAL_MS);
  }
  function useScene(s) {
    scene = s;
    figure.replaceChildren();
    view = { panels: s.panels.map((_, p) => drawPanel(s, p, figure)) };
    figure.setAttribute("aria-label", s.title);
    for (const c of stepControls) c.disabled = false;
    drawLegend(s, legend);
    frame.max = s.frames - 1;
    root.setAttribute("data-frames", s.frames);
    root.setAttribute("data-facts", JSON.stringify(s.facts));
    for (const pv of view.panels) {
      markScroll(pv);
    }
    show(Math.min(f, s.frames - 1));
  }
  async function load(fromSlider, t0) {
    const ticket = ++pending;
    root.setAttribute("data-loading", "true");
    const result = await source.scene({ ...params });
    if (ticket !== pending) return; // a newer request won
    const done = () => {
      root.setAttribute("data-loading", "false");
      // the time from the slider's input event to the new drawing (the benchmark reads it)
      if (t0 !== undefined) root.setAttribute("data-redraw-ms", (performance.now() - t0).toFixed(1));
    };
    if (result.error !== undefined) {
      // nothing of the previous parameters stays on screen
      pause();
      scene = null;
      view = null;
      figure.replaceChildren();
      legend.replaceChildren();
      caption.textContent = "";
      counterText.textContent = "";
      frame.removeAttribute("aria-valuetext");
      for (const c of stepControls) c.disabled = true;
      error.hidden = false;
      error.textContent = "Not drawn: " + result.error;
      root.setAttribute("data-error", "true");
      root.setAttribute("data-frames", "0");
      root.removeAttribute("data-facts");
      done();
      return;
    }
    error.hidden = true;
    root.setAttribute("data-error", "false");
    if (fromSlider) f = 0;
    useScene(result);
    done();
    root.dispatchEvent(new CustomEvent("cx-drawn"));
  }

  first.addEventListener("click", () => {
    pause();
    show(0);
  });
  prev.addEventListener("click", () => {
    pause();
    show(f - 1);
  });
  next.addEventListener("click", () => {
    pause();
    show(f + 1);
  });
  play.addEventListener("click", () => (timer ? pause() : start()));
  frame.addEventListener("input", () => {
    pause();
    show(parseInt(frame.value, 10));
  });
  window.addEventListener("resize", () => {
    if (!view) return;
    for (const pv of view.panels) {
      markScroll(pv);
    }
  });
  pause(); // starts paused (also under prefers-reduced-motion: nothing moves unasked)
  root.setAttribute("data-ready", "true");
  return load(false);
}

// ---- host 1: the static site (scenes precomputed for a grid of parameters) ----
async function gunzipJSON(b64) {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

export async function mountStatic(root) {
  if (root.dataset.mounted) return;
  root.dataset.mounted = "1";
  const data = await gunzipJSON(root.querySelector("script.cx-data").textContent.trim());
  const names = data.controls.map((c) => c.name);
  root.dataset.host = "static";
  return mount(root, {
    title: data.title,
    controls: data.controls,
    initial: data.initial,
    scene: async (params) => {
      const entry = data.scenes[names.map((n) => params[n]).join(",")];
      return entry.error !== undefined ? { error: data.errors[entry.error] } : entry;
    },
  });
}

// ---- host 2: JupyterLab, as an anywidget (Python recomputes each scene) -------
function render({ model, el }) {
  // Each parameter set is a request with a new id; Python answers with a result
  // carrying that id (the scene, or convlab's error message).
  const waiting = new Map();
  const onResult = () => {
    const result = model.get("result");
    const resolve = waiting.get(result.id);
    if (resolve) {
      waiting.delete(result.id);
      resolve(result.error !== undefined ? { error: result.error } : result.scene);
    }
  };
  model.on("change:result", onResult);
  const root = document.createElement("div");
  root.dataset.host = "live";
  root.dataset.explorer = model.get("kind");
  // keys pressed on the explorer's controls are theirs, not JupyterLab's shortcuts
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.addEventListener("keydown", (event) => event.stopPropagation());
  el.appendChild(root);
  let first = true;
  let n = 0;
  mount(root, {
    title: model.get("title"),
    controls: model.get("controls"),
    initial: model.get("params"),
    scene: (params) => {
      if (first) {
        first = false; // the scene of the initial parameters came with the widget
        const r = model.get("result");
        return Promise.resolve(r.error !== undefined ? { error: r.error } : r.scene);
      }
      n += 1;
      const id = `${Date.now().toString(36)}-${n}`;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        model.set("request", { id, params });
        model.save_changes();
      });
    },
  });
  return () => model.off("change:result", onResult);
}

export default { render };
