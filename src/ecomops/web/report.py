"""``STATE/report.html``: what a run learned, as plots people can read at a glance.

Rolling AUC and logloss along the stream for every model, with the simulator's known drift
points (dashed) and the detectors' alarms (red ticks), plus the summary table and dead letters.
One self-contained file: the plot is embedded, so it opens anywhere without a server.
"""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def drift_points_for(source: str, records: int) -> list[dict]:
    """Ground-truth drift points when the source is the simulator (``sim:seed=S``); none otherwise."""
    if not source.startswith("sim"):
        return []
    from ..sim import SimConfig, Simulator

    seed = 0
    for part in source.replace("?", ":").replace("&", ":").split(":"):
        if part.startswith("seed="):
            seed = int(part[5:])

    gt = Simulator(SimConfig(seed=seed)).ground_truth()
    return [d for d in gt.get("drift_points", []) if d["event_index"] < records]


# Which known drifts each model should feel: fraud-ring changes hit risk, market shifts hit propensity.
MODEL_DRIFT_KINDS = {"risk": ("fraud",), "propensity": ("promotion", "seasonal", "category")}


def attach_recovery(summary, drift: list[dict], tolerance: float = 0.01) -> None:
    """Add ``recovery`` to each model: records from a known drift until rolling logloss is back."""
    from ..learn.online.drift import recovery_time

    for name, m in summary.models.items():
        kinds = MODEL_DRIFT_KINDS.get(name, ("",))
        pos = [d["event_index"] for d in drift if d.get("kind", "").startswith(kinds)]
        series = summary.series.get(name, [])
        if not pos or not series:
            continue
        rec = recovery_time(series, pos, tolerance=tolerance, key="logloss", x="offset")
        done = sorted(r for r in rec if r is not None)
        m["recovery"] = {
            "drifts": len(pos),
            "recovered": len(done),
            "median_records": done[len(done) // 2] if done else None,
            "per_drift": [{"position": p, "records": r} for p, r in zip(pos, rec)],
        }


def recovery_text(rec, short: bool = False) -> str:
    """'6/7, median 35,451 records': drifts recovered from, and the typical time it took."""
    if not rec:
        return "-"
    med = rec["median_records"]
    if med is None:
        return f"{rec['recovered']}/{rec['drifts']}"
    return f"{rec['recovered']}/{rec['drifts']}, " + (f"~{med / 1000:.0f}k" if short else f"median {med:,} records")


def plot_rolling(series: dict[str, list[dict]], drift: list[dict], alarms: list[dict], path: Path | None = None):
    names = [n for n, s in series.items()]
    fig, axes = plt.subplots(2, max(len(names), 1), figsize=(6.5 * max(len(names), 1), 6.2), sharex="col", squeeze=False)
    for j, name in enumerate(names):
        pts = series[name]
        x = [p["offset"] for p in pts]
        mine = [d for d in drift if d.get("kind", "").startswith(MODEL_DRIFT_KINDS.get(name, ("",)))]
        for i, (key, label) in enumerate((("auc", "rolling AUC"), ("logloss", "rolling logloss"))):
            ax = axes[i][j]
            ax.plot(x, [p[key] for p in pts], lw=1.4, color="#1f77b4" if i == 0 else "#ff7f0e", label=label)
            for d in mine:
                ax.axvline(d["event_index"], color="0.35", ls="--", lw=0.9)
            for a in alarms:
                if a["model"] == name:
                    ax.axvline(a["position"], color="#d62728", alpha=0.25, lw=0.8)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(f"{name}" + ("" if pts else " (no labelled examples)"))
            else:
                ax.set_xlabel("stream position (records)")
        if mine:
            ax0 = axes[0][j]
            ymax = ax0.get_ylim()[1]
            for d in mine:
                ax0.text(d["event_index"], ymax, " " + d.get("kind", "drift"), rotation=90, va="top", fontsize=7, color="0.3")
    fig.suptitle(
        "Progressive validation (predict, then learn): dashed = known drifts that concern the model, "
        "red = drift alarms",
        fontsize=10,
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    if path is not None:
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return buf.getvalue()


def write_report(path: Path, summary, source: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    drift = drift_points_for(source, summary.records_read)
    attach_recovery(summary, drift)
    png = plot_rolling(summary.series, drift, summary.alarms, path.with_name("report_rolling.png"))
    rows = []
    for name, m in summary.models.items():
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    name,
                    f"{m.get('n', 0):,}",
                    _f(m.get("cum_logloss")),
                    _f(m.get("cum_auc")),
                    _f(m.get("logloss")),
                    _f(m.get("auc")),
                    m.get("drift_alarms", 0),
                    recovery_text(m.get("recovery")),
                )
            )
            + "</tr>"
        )
    dl = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:,}</td></tr>" for k, v in sorted(summary.dead_letter_codes.items())
    ) or "<tr><td colspan=2>none</td></tr>"
    drift_rows = "".join(
        f"<tr><td>{d['event_index']:,}</td><td>{html.escape(str(d.get('kind', '')))}</td>"
        f"<td>{html.escape(str(d.get('description', '')))}</td></tr>"
        for d in drift
    ) or "<tr><td colspan=3>no ground truth for this source</td></tr>"
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ecomops run report</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1400px;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}
th{{background:#f3f3f3}}td:first-child{{text-align:left}}img{{max-width:100%}}.k{{color:#666}}</style></head><body>
<h1>ecomops run report</h1>
<p class="k">source <b>{html.escape(source)}</b> &middot; generated {time.strftime('%Y-%m-%d %H:%M:%S')}</p>
<p>{summary.records_read:,} records read, {summary.events_applied:,} events applied, {summary.dead_letters:,} dead letters;
this run: {summary.records_this_run:,} records in {summary.elapsed_s:.1f} s = <b>{summary.events_per_s:,.0f} events/s</b>.</p>
<h2>Models (progressive validation: each example is scored before it is learned)</h2>
<table><tr><th>model</th><th>labelled examples</th><th>logloss</th><th>AUC</th><th>rolling logloss</th><th>rolling AUC</th>
<th>drift alarms</th><th>recovered after known drifts</th></tr>{''.join(rows)}</table>
<img alt="rolling AUC and logloss along the stream" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Known drift points (simulator ground truth)</h2>
<table><tr><th>position</th><th>kind</th><th>what changed</th></tr>{drift_rows}</table>
<h2>Dead letters by reason</h2><table><tr><th>reason</th><th>count</th></tr>{dl}</table>
<p class="k">List them with <code>ecomops deadletters STATE --json</code>.</p>
</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path


def _f(x) -> str:
    return "-" if x is None or (isinstance(x, float) and x != x) else f"{x:.4f}"
