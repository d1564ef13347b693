"""``report.html``: one self-contained file (figures as base64 PNG data URIs, inline CSS, no scripts).

It can be mailed or archived on its own: nothing is fetched from anywhere when it is opened.
"""

from __future__ import annotations

import base64
import html
import json
import math
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import pandas as pd

if TYPE_CHECKING:
    from hwopt.report._build import Report

#: rows of the front / health tables shown inline (the CSVs have all of them)
MAX_ROWS = 300
MAX_REASONS = 20

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1180px;color:#222;
     padding:0 1em;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.sub{color:#666;font-size:.9em} .note{color:#555;font-size:.88em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
td.cfg{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;max-width:520px;word-break:break-all}
img{max-width:100%;border:1px solid #eee} pre{background:#f7f7f7;padding:.7em;overflow-x:auto;font-size:.82em}
.kv th{width:14em}
"""


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'


def _table(df: pd.DataFrame, cfg_cols: Iterable[str] = ("config",), limit: int = MAX_ROWS) -> str:
    cfg = set(cfg_cols)
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.head(limit).itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            cls = "cfg" if c in cfg else ("num" if isinstance(v, (int, float)) and not isinstance(v, bool) else "")
            cells.append(f'<td class="{cls}">{_e(_fmt(v))}</td>' if cls else f"<td>{_e(_fmt(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">Showing {limit} of {len(df)} rows; the CSV has all of them.</p>'
            if len(df) > limit else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _kv(items: Sequence[tuple[str, Any]]) -> str:
    rows = []
    for k, v in items:
        text = v if isinstance(v, str) else json.dumps(v, default=str)
        rows.append(f"<tr><th>{_e(k)}</th><td>{_e(text)}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def render(rep: "Report") -> str:
    """The whole report as one HTML string."""
    st = rep.study
    s = st.settings
    c = rep.counts
    objs = ", ".join(str(o) for o in st.objectives)
    cons = ", ".join(str(x) for x in st.constraints) or "none"
    what = f"benchmark {s['benchmark']}" if s.get("benchmark") else (f"space {s['space']}" if s.get("space") else "")
    hv_label = rep.hv.attrs.get("label", "")
    final = rep.final_hv
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hwopt report: {_e(st.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>hwopt report: {_e(st.name)}</h1>",
        f'<p class="sub">{_e(what)} · storage {_e(st.storage)} · created {_e(s.get("created", "?"))} '
        f'· hwopt {_e(s.get("hwopt_version", "?"))}</p>',
        "<h2>Summary</h2>",
        _kv([
            ("objectives", objs), ("constraints", cons),
            ("strategy", f"{s.get('strategy', '?')} (seed {s.get('seed')})"),
            ("budget", str(s.get("budget", "?"))),
            ("trials", f"{c['trials']}: {c['complete']} complete, {c['failed']} failed"
                       + (f", {c['other']} other (running or pruned)" if c["other"] else "")
                       + f"; {c['distinct_configs']} distinct finished configs"),
            ("feasible", f"{c['feasible']} complete trials meet every constraint"),
            ("Pareto front", f"{c['front']} non-dominated feasible configs (constrained domination)"),
            ("final hypervolume", (f"{final:.4f}" if final is not None else "n/a") + f": {hv_label}"),
        ]),
        "<h2>Pareto front</h2>",
        _img(rep.figures["pareto.png"], "Pareto front"),
    ]
    if "parallel.png" in rep.figures:
        parts += ["<h3>Parallel coordinates</h3>",
                  '<p class="note">Every axis is scaled to the min–max of the feasible trials, better up; '
                  "the numbers at the ends are the real values.</p>",
                  _img(rep.figures["parallel.png"], "parallel coordinates")]
    parts += [
        "<h2>Hypervolume</h2>",
        f'<p class="note">{_e(hv_label)}. Evaluations count distinct finished configs in trial order.</p>',
        _img(rep.figures["hypervolume.png"], "hypervolume vs evaluations"),
        f"<h2>Front table ({len(rep.front)} configs)</h2>",
        _front_table(rep),
        "<h2>Failures</h2>",
        _failures(rep),
    ]
    if rep.health is not None:
        parts += ["<h2>Predictor health</h2>",
                  '<p class="note">Diagnostics the strategy recorded after each round.</p>']
        if "predictor_health.png" in rep.figures:
            parts.append(_img(rep.figures["predictor_health.png"], "predictor health"))
        parts.append(_table(rep.health, cfg_cols=()))
    ctx = s.get("evaluator_context")
    if ctx:
        parts += ["<h2>Evaluator context and machine state</h2>",
                  f"<pre>{_e(json.dumps(ctx, indent=2, default=str))}</pre>"]
    parts += [
        "<h2>Settings</h2>",
        _kv([(k, v) for k, v in s.items() if k != "evaluator_context"]),
        "</body></html>",
    ]
    return "\n".join(parts)


def _front_table(rep: "Report") -> str:
    if len(rep.front) == 0:
        return '<p class="note">No complete trial meets every constraint, so the front is empty.</p>'
    names = [o.name for o in rep.study.objectives] + [c.name for c in rep.study.constraints]
    again = ["remeasured"] + [f"{o.name}_confirmed" for o in rep.study.objectives]
    cols = ["number"] + list(dict.fromkeys(n for n in names + again if n in rep.front.columns)) + ["config"]
    note = ('<p class="note">Front configs were measured again; <code>remeasured</code> counts the extra '
            "measurements, <code>…_confirmed</code> is each objective's median over all of them, and the front "
            "is that of the confirmed values.</p>") if "remeasured" in rep.front.columns else ""
    return note + _table(rep.front[cols])


def _failures(rep: "Report") -> str:
    reasons = rep.failure_reasons()
    if not reasons:
        return '<p class="note">No failed trials.</p>'
    df = pd.DataFrame(reasons[:MAX_REASONS], columns=["reason", "trials", "first trial"])
    more = (f'<p class="note">{len(reasons) - MAX_REASONS} more distinct reasons in trials.csv.</p>'
            if len(reasons) > MAX_REASONS else "")
    return _table(df, cfg_cols=("reason",)) + more
