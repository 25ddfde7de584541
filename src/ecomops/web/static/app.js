// The ecomops dashboard: plain JS, no framework, no network beyond this server's API.
// Polls the API every POLL_MS and redraws; charts are inline SVG polylines.
"use strict";
const POLL_MS = 1500;
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let key = localStorage.getItem("ecomops.key") || "";
let timer = null;
let lastAsk = null;                 // {question, answer} of the latest /v1/ask
const rates = [];                   // events/s, newest last
let prevAccepted = null;            // {t, n}

async function api(path, opts = {}) {
  const r = await fetch(path, {
    ...opts,
    headers: { "Authorization": "Bearer " + key, ...(opts.body ? { "Content-Type": "application/json" } : {}) },
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error && body.error.message) || ("HTTP " + r.status));
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fmtTime(ts) { return ts ? new Date(ts * 1000).toLocaleTimeString() : ""; }
function fmt(x, d = 3) { return x === null || x === undefined ? "–" : Number(x).toFixed(d); }

// -- charts ---------------------------------------------------------------------------------------
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// points: [[x, y]...]; yRange [lo, hi]; xRange [lo, hi]; returns the "points" attribute (viewBox 400x100)
function toPoints(points, xr, yr) {
  const dx = (xr[1] - xr[0]) || 1, dy = (yr[1] - yr[0]) || 1;
  return points.map(([x, y]) => {
    const px = ((x - xr[0]) / dx) * 400;
    const py = 100 - ((Math.min(Math.max(y, yr[0]), yr[1]) - yr[0]) / dy) * 100;
    return px.toFixed(1) + "," + py.toFixed(1);
  }).join(" ");
}

function modelCard(m) {
  const id = "chart-" + m.merchant_id + "-" + m.model;
  let card = document.getElementById(id);
  if (!card) {
    card = el("div", null, "model");
    card.id = id;
    card.append(el("h3"), el("div", null, "legend"));
    const svg = svgEl("svg", { class: "chart", viewBox: "0 0 400 100", preserveAspectRatio: "none" });
    svg.append(svgEl("line", { class: "ref", x1: 0, x2: 400, y1: 50, y2: 50 }), svgEl("g", { class: "drifts" }),
               svgEl("polyline", { class: "auc" }), svgEl("polyline", { class: "logloss" }));
    card.append(svg);
    $("model-charts").append(card);
  }
  return card;
}

function drawModels(models) {
  const box = $("model-charts");
  if (models.length && box.querySelector("p")) box.querySelector("p").remove();
  for (const m of models) {
    const card = modelCard(m);
    const pts = m.points.filter((p) => p.auc !== null || p.logloss !== null);
    const last = m.points[m.points.length - 1] || {};
    const xr = [m.points.length ? m.points[0].n : 0, last.n || 1];
    const auc = pts.filter((p) => p.auc !== null).map((p) => [p.n, p.auc]);
    const loss = pts.filter((p) => p.logloss !== null).map((p) => [p.n, p.logloss]);
    const lossMax = Math.max(1, ...loss.map((p) => p[1]));
    const svg = card.querySelector("svg");
    svg.querySelector(".auc").setAttribute("points", toPoints(auc, xr, [0, 1]));
    svg.querySelector(".logloss").setAttribute("points", toPoints(loss, xr, [0, lossMax]));
    svg.dataset.points = String(m.points.length);
    svg.dataset.n = String(last.n || 0);
    const g = svg.querySelector(".drifts");
    g.replaceChildren(...m.drift.filter((d) => d.position >= xr[0] && d.position <= xr[1]).map((d) => {
      const x = (((d.position - xr[0]) / ((xr[1] - xr[0]) || 1)) * 400).toFixed(1);
      return svgEl("line", { class: "drift", x1: x, x2: x, y1: 0, y2: 100 });
    }));
    card.querySelector("h3").textContent = (m.merchant_id + " / " + m.model);
    const lg = card.querySelector(".legend");
    lg.replaceChildren(el("span", "AUC " + fmt(last.auc), "a"), el("span", "log loss " + fmt(last.logloss), "l"),
                       el("span", "n " + (last.n || 0), "muted"));
    if (m.drift.length) lg.append(el("span", "drift alarms: " + m.drift.length, "alarm"));
  }
}

function drawRate(history) {
  const now = history.t, n = history.events_accepted || 0;
  if (prevAccepted && now > prevAccepted.t) {
    rates.push(Math.max(0, (n - prevAccepted.n) / (now - prevAccepted.t)));
    if (rates.length > 120) rates.shift();
  }
  prevAccepted = { t: now, n };
  $("rate").textContent = rates.length ? rates[rates.length - 1].toFixed(1) : "0";
  $("accepted").textContent = String(history.events_applied ?? n);
  const svg = $("rate-chart");
  let line = svg.querySelector("polyline");
  if (!line) { line = svgEl("polyline", { class: "rate" }); svg.append(line); }
  const hi = Math.max(1, ...rates);
  line.setAttribute("points", toPoints(rates.map((r, i) => [i, r]), [0, Math.max(1, rates.length - 1)], [0, hi * 1.2]));
  svg.dataset.points = String(rates.length);
}

// -- tables ---------------------------------------------------------------------------------------
function drawAlerts(rows) {
  $("alert-rows").replaceChildren(...rows.slice(-50).reverse().map((a) => {
    const tr = el("tr");
    tr.append(el("td", a.ref), el("td", fmt(a.score, 2)), el("td", fmtTime(a.created_at)));
    return tr;
  }));
  if (!rows.length) $("alert-rows").append(rowNote("No risk alerts.", 3));
}

function rowNote(text, span) {
  const tr = el("tr"), td = el("td", text, "muted");
  td.colSpan = span; tr.append(td);
  return tr;
}

function drawAudit(items) {
  const body = $("audit-rows");
  body.replaceChildren(...items.map((it) => {
    const tr = el("tr");
    tr.dataset.id = it.id;
    const name = el("td");
    name.append(el("div", it.title), el("div", it.listing_id + " · " + it.category + " · " + (it.price ?? "") + " " +
                                           (it.currency || ""), "muted"));
    const reasons = el("td");
    for (const r of it.reasons) reasons.append(el("div", r.code + ": " + r.message));
    const act = el("td");
    for (const [d, label] of [["approve", "Approve"], ["reject", "Reject"]]) {
      const b = el("button", label, d);
      b.dataset.action = d;
      b.onclick = () => decide(it, d, b);
      act.append(b, " ");
    }
    tr.append(name, el("td", it.verdict, "verdict-" + it.verdict), reasons, act);
    return tr;
  }));
  if (!items.length) body.append(rowNote("Nothing to review.", 4));
}

async function decide(item, decision, button) {
  button.disabled = true;
  try {
    const q = item.merchant_id ? { merchant_id: item.merchant_id } : {};
    await api("/v1/audit/queue/" + item.id + "/decision", { method: "POST", body: JSON.stringify({ decision, ...q }) });
    const row = button.closest("tr");
    if (row) row.remove();
    setStatus(decision + "d " + item.listing_id);
  } catch (e) { setStatus(e.message, true); button.disabled = false; }
}

function drawDeadLetters(rows) {
  $("dl-rows").replaceChildren(...rows.slice(-30).reverse().map((d) => {
    const tr = el("tr");
    tr.append(el("td", d.code), el("td", d.reason), el("td", d.raw.slice(0, 300), "raw"));
    return tr;
  }));
  if (!rows.length) $("dl-rows").append(rowNote("No dead letters.", 3));
}

// -- customer service -------------------------------------------------------------------------------
async function ask(ev) {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  try {
    const a = await api("/v1/ask", { method: "POST", body: JSON.stringify({ question }) });
    lastAsk = { question, answer: a.answer };
    $("answer").hidden = false;
    $("answer-text").textContent = a.answer || "(no answer)";
    const cites = (a.citations || []).map((c) => el("li", c.doc_id + " v" + c.version + ": " + c.text));
    $("citations").replaceChildren(...cites);
    $("answer-meta").textContent = "intent " + a.intent + " · confidence " + fmt(a.confidence, 2) +
      (a.escalate ? " · escalate: " + a.reason : "");
    $("correction").value = "";
    $("fb-status").textContent = "";
  } catch (e) { setStatus(e.message, true); }
}

async function answerFeedback(accepted) {
  if (!lastAsk) return;
  const corrected = $("correction").value.trim();
  const body = { question: lastAsk.question, answer: lastAsk.answer, accepted };
  if (!accepted) body.corrected_answer = corrected;
  if (!accepted && !corrected) { $("fb-status").textContent = "write the corrected answer first"; return; }
  try {
    const r = await api("/v1/ask/feedback", { method: "POST", body: JSON.stringify(body) });
    $("fb-status").textContent = "saved" + (r.past_answer ? " as " + r.past_answer.doc_id : "");
  } catch (e) { $("fb-status").textContent = e.message; }
}

// -- polling --------------------------------------------------------------------------------------
function setStatus(text, bad) {
  $("status").textContent = text;
  $("status").className = bad ? "alarm" : "muted";
}

async function refresh() {
  try {
    const [hist, alerts, queue, dead] = await Promise.all([
      api("/v1/models/history"), api("/v1/alerts?kind=risk&limit=1000"), api("/v1/audit/queue"),
      api("/v1/deadletters?limit=1000"),
    ]);
    drawRate(hist);
    drawModels(hist.models);
    drawAlerts(alerts.alerts);
    drawAudit(queue.items);
    drawDeadLetters(dead.dead_letters);
    document.body.dataset.updated = String(Date.now());
    setStatus("live · " + new Date().toLocaleTimeString());
  } catch (e) { setStatus(e.message, true); }
}

async function start() {
  if (timer) clearInterval(timer);
  if (!key) { setStatus("enter an API key"); return; }
  try {
    const me = await api("/v1/me");
    $("who").textContent = (me.admin ? "admin" : "merchant " + me.merchant_id) + " (" + me.key_id + ")";
  } catch (e) { setStatus(e.message, true); return; }
  await refresh();
  timer = setInterval(refresh, POLL_MS);
}

$("keyform").onsubmit = (ev) => {
  ev.preventDefault();
  key = $("key").value.trim();
  localStorage.setItem("ecomops.key", key);
  $("key").value = "";
  setStatus("");
  start();
};
$("askform").onsubmit = ask;
$("accept").onclick = () => answerFeedback(true);
$("correct").onclick = () => answerFeedback(false);
start();
