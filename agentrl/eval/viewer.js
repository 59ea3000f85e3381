// agentrl trajectory viewer: filters, the episode list, and one step at a time with its action drawn.
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const SCALE = 3;  // screens are small (MiniWoB: 160 x 210): magnify, pixelated
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let shown = [], current = null, step = 0;

function short(task) { return task.split("/").pop().replace(/-v\d+$/, ""); }

function options(select, values, allLabel) {
  select.replaceChildren(new Option(allLabel, ""), ...values.map((v) => new Option(v, v)));
}

function applyFilters() {
  const task = $("f-task").value, out = $("f-outcome").value, run = $("f-run").value;
  shown = DATA.episodes.filter((e) =>
    (!task || e.task === task) && (!out || e.outcome === out) && (!run || e.run === run));
  $("count").textContent = `${shown.length} of ${DATA.episodes.length} episodes`;
  $("list").replaceChildren(...shown.map((e, i) => {
    const b = document.createElement("button");
    b.className = "ep" + (e === current ? " active" : "");
    b.dataset.index = i;
    b.dataset.id = e.id;
    const mark = document.createElement("span");
    mark.className = e.outcome;
    mark.textContent = { success: "\u2713", failure: "\u2717", error: "!" }[e.outcome] + " ";
    b.append(mark, `${short(e.task)} seed ${e.seed} \u00b7 ${e.steps.length} steps` + (e.run ? ` \u00b7 ${e.run}` : ""));
    b.addEventListener("click", () => openEpisode(e));
    return b;
  }));
}

function openEpisode(e) {
  current = e;
  step = 0;
  $("empty").hidden = true;
  $("episode").hidden = false;
  $("title").textContent = `${e.task} \u00b7 seed ${e.seed}`;
  $("instruction").textContent = `Instruction: ${e.instruction}`;
  $("summary").className = e.outcome;
  $("summary").textContent = `${e.outcome}: reward ${e.reward} in ${e.steps.length} steps` +
    (e.reason ? ` (${e.reason})` : "");
  for (const b of document.querySelectorAll(".ep")) b.classList.toggle("active", b.dataset.id === e.id);
  showStep();
}

function el(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function arrow(svg, a, b) {
  svg.append(el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: "red", "stroke-width": 1.5,
                          "marker-end": "url(#head)", class: "mark drag" }));
}

function drawAction(svg, action, s) {
  const defs = el("defs", {});
  const marker = el("marker", { id: "head", markerWidth: 6, markerHeight: 6, refX: 5, refY: 3, orient: "auto" });
  marker.append(el("path", { d: "M0,0 L6,3 L0,6 z", fill: "red" }));
  defs.append(marker);
  svg.replaceChildren(defs);
  svg.setAttribute("viewBox", `0 0 ${s.width} ${s.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  let caption = "";
  if (!action) {
    caption = s.action_error ? "(invalid action)" : "";
  } else if (["click", "left_double", "right_single"].includes(action.verb)) {
    const [x, y] = action.start;
    svg.append(el("circle", { cx: x, cy: y, r: 4, fill: "none", stroke: "red", "stroke-width": 1.5,
                              class: `mark ${action.verb}` }));
    if (action.verb === "click") svg.append(el("circle", { cx: x, cy: y, r: 1.5, fill: "red" }));
    if (action.verb === "left_double") svg.append(el("circle", { cx: x, cy: y, r: 7, fill: "none", stroke: "red" }));
  } else if (action.verb === "drag") {
    arrow(svg, action.start, action.end);
  } else if (action.verb === "scroll") {
    const d = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] }[action.direction] || [0, 0];
    arrow(svg, action.start, [action.start[0] + 12 * d[0], action.start[1] + 12 * d[1]]);
  }
  if (action && action.verb === "type") caption = `type: ${JSON.stringify(action.content)}`;
  else if (action && action.verb === "hotkey") caption = `key: ${action.key}`;
  else if (action && ["wait", "finished"].includes(action.verb)) caption = action.verb + (action.content ? `: ${action.content}` : "");
  $("caption").hidden = !caption;
  $("caption").textContent = caption;
}

function showStep() {
  const e = current, s = e.steps[step];
  $("step-label").textContent = e.steps.length ? `step ${step + 1} / ${e.steps.length}` : "no steps";
  $("prev").disabled = step <= 0;
  $("next").disabled = step >= e.steps.length - 1;
  if (!s) { $("screen").hidden = true; return; }
  $("screen").hidden = !s.image;
  $("noimage").hidden = !!s.image;
  if (s.image) {
    $("shot").src = s.image;
    $("shot").width = s.width * SCALE;
    $("shot").height = s.height * SCALE;
    drawAction($("overlay"), s.action, s);
  }
  $("thought").textContent = s.thought || "(none)";
  $("text").textContent = s.text;
  $("action").textContent = s.action ? JSON.stringify(s.action) : "(did not parse)";
  $("step-reward").textContent = `reward ${s.reward}`;
  $("action-error").textContent = s.action_error ? `action error: ${s.action_error}` : "";
}

$("prev").addEventListener("click", () => { if (step > 0) { step--; showStep(); } });
$("next").addEventListener("click", () => { if (current && step < current.steps.length - 1) { step++; showStep(); } });
document.addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowRight") $("next").click();
  if (ev.key === "ArrowLeft") $("prev").click();
});
for (const id of ["f-task", "f-outcome", "f-run"]) $(id).addEventListener("change", applyFilters);
options($("f-task"), [...new Set(DATA.episodes.map((e) => e.task))].sort(), "all");
options($("f-run"), [...new Set(DATA.episodes.map((e) => e.run))].sort(), "all");
applyFilters();
