"""The figures of an `advlab report`, drawn from a parsed ANALYSIS_JSON.

advlab/report.py documents the JSON schema, checks the format and writes the
files; this module only draws, one matplotlib Figure per figure name, from the
numbers in the JSON (nothing is recomputed) plus each run's own curve from the
results file (an xarray Dataset from advlab.load_xarray), drawn faintly.
"""

import math
import textwrap

import numpy as np

FIGSIZE = (10, 6.25)
DPI = 100
MAX_FAINT_RUNS = 100  # per config: keeps SVGs small on 10,000-run files
SIMPLE_FIGURES = ("bins", "cost", "sensitivity", "poi", "profiles", "claim")


class ReportError(Exception):
    """Bad input: reported as one line, exit 2, nothing written."""


def _arr(values, where):
    """A JSON list of numbers (null = NaN) as a float64 array."""
    if not isinstance(values, list):
        raise ReportError(f"{where}: expected a list of numbers")
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise ReportError(f"{where}: expected a list of numbers or null") from None


def field(obj, key, where):
    if not isinstance(obj, dict) or key not in obj:
        raise ReportError(f"{where}: missing \"{key}\"")
    return obj[key]


def _isolated(ok):
    """Where ok[k] holds but neither neighbour does."""
    prev = np.concatenate([[False], ok[:-1]])
    nxt = np.concatenate([ok[1:], [False]])
    return ok & ~prev & ~nxt


def _fmt(v):
    return "—" if v is None or not math.isfinite(v) else f"{v:.3g}"


class Figures:
    """Draws the figures of one analysis (a parsed ANALYSIS_JSON, format checked)."""

    def __init__(self, analysis, results=None):
        self.a = analysis
        configs = field(analysis, "configs", "analysis")
        if not isinstance(configs, list):
            raise ReportError("configs: expected a list")
        self.configs = {}
        self.order = {}
        for i, c in enumerate(configs):
            cid = field(c, "id", f"configs[{i}]")
            self.configs[cid] = c
            self.order[cid] = i
            field(c, "label", f"configs[{i}]")
            field(c, "n", f"configs[{i}]")
        self.metric = str(analysis.get("metric", ""))
        self.level = analysis.get("level", 0.95)
        self.results = results  # xarray Dataset or None
        self.row_of = {}
        if results is not None:
            ids = results["run_id"].values if "run_id" in results.coords else range(results.sizes["run"])
            self.row_of = {int(r): i for i, r in enumerate(ids)}

    # --- helpers ---------------------------------------------------------

    def color(self, cid):
        import matplotlib

        cmap = matplotlib.colormaps["tab10" if len(self.configs) <= 10 else "tab20"]
        return cmap(self.order[cid] % cmap.N)

    def config(self, cid, where):
        if cid not in self.configs:
            raise ReportError(f"{where}: config {cid!r} is not in configs")
        return self.configs[cid]

    def label(self, cid, where):
        c = self.config(cid, where)
        return f"{c['label']} (n={c['n']})"

    def section(self, key, name):
        s = self.a.get(key)
        if s is None:
            raise ReportError(f"figure {name} is listed but section \"{key}\" is missing or null")
        return s

    def faint(self, ax, cid, metric, x_name, where):
        """Each run's own curve of `metric` against `x_name`, thin and light."""
        if self.results is None or metric not in self.results.data_vars:
            return
        from matplotlib.collections import LineCollection

        c = self.config(cid, where)
        run_ids = c.get("run_ids", [])
        if not isinstance(run_ids, list):
            raise ReportError(f"{where}: run_ids of config {cid!r} is not a list")
        rows = []
        for r in run_ids[:MAX_FAINT_RUNS]:
            if int(r) not in self.row_of:
                raise ReportError(f"{where}: run_id {r} is not in {self.a.get('file')}")
            rows.append(self.row_of[int(r)])
        if not rows:
            return
        y = self.results[metric].values[rows]
        if x_name == "step":
            x = np.broadcast_to(self.results["step"].values.astype(np.float64), y.shape)
        elif x_name in self.results.data_vars:
            x = self.results[x_name].values[rows]
        else:
            return
        segs = []
        for xr_, yr in zip(x, y):
            ok = np.isfinite(xr_) & np.isfinite(yr)
            # Split at gaps so a NaN breaks the line as it does for the mean.
            start = None
            for k in range(len(ok) + 1):
                if k < len(ok) and ok[k]:
                    start = k if start is None else start
                elif start is not None:
                    if k - start >= 2:
                        segs.append(np.column_stack([xr_[start:k], yr[start:k]]))
                    start = None
        if segs:
            ax.add_collection(LineCollection(segs, colors=[self.color(cid)], linewidths=0.6,
                                             alpha=0.25, zorder=1, label="_faint"))

    def band_series(self, ax, entry, where, y_key="mean", faint_metric=None):
        series = field(entry, "series", where)
        x_name = entry.get("x_name", "step")
        for k, s in enumerate(series):
            w = f"{where}.series[{k}]"
            cid = field(s, "config", w)
            x = _arr(field(s, "x", w), w + ".x")
            y = _arr(field(s, y_key, w), f"{w}.{y_key}")
            lo = _arr(field(s, "lo", w), w + ".lo")
            hi = _arr(field(s, "hi", w), w + ".hi")
            if not len(x) == len(y) == len(lo) == len(hi):
                raise ReportError(f"{w}: x, {y_key}, lo and hi differ in length")
            if faint_metric is not None:
                self.faint(ax, cid, faint_metric, x_name, w)
            color = self.color(cid)
            ok = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(x, np.where(ok, lo, 0), np.where(ok, hi, 0), where=ok,
                            color=color, alpha=0.2, linewidth=0, zorder=2)
            ax.plot(x, y, color=color, linewidth=1.8, label=self.label(cid, w), zorder=3)
            # A defined value between two gaps draws no line: mark it instead.
            iso = _isolated(np.isfinite(x) & np.isfinite(y))
            if iso.any():
                ax.plot(x[iso], y[iso], "o", markersize=3.5, color=color, zorder=3)
            iso = _isolated(ok)
            if iso.any():
                ax.vlines(x[iso], lo[iso], hi[iso], colors=[color], alpha=0.4, linewidth=3,
                          zorder=2)

    def legend(self, ax, count):
        if count:
            ax.legend(fontsize="small" if count <= 8 else "x-small", ncol=1 if count <= 12 else 2,
                      loc="best")

    def level_text(self):
        try:
            return f"{100 * float(self.level):g}% CI"
        except (TypeError, ValueError):
            return "CI"

    # --- figures ---------------------------------------------------------

    def curves(self, fig, metric):
        curves = self.a.get("curves") or []
        if not curves:
            raise ReportError(f"figure curves_{metric} is listed but section \"curves\" is missing")
        entry = curves[0]
        if field(entry, "metric", "curves[0]") != metric:
            raise ReportError(f"figure curves_{metric} is listed but curves[0] is "
                              f"{entry['metric']!r}")
        ax = fig.add_subplot()
        self.band_series(ax, entry, "curves[0]", faint_metric=metric)
        ax.set_xlabel(entry.get("x_name", "step"))
        ax.set_ylabel(metric)
        ax.set_title(f"{metric}: mean over seeds with {self.level_text()} (faint: each run)")
        ax.grid(True, alpha=0.3)
        self.legend(ax, len(entry["series"]))

    def bins(self, fig):
        entries = (self.a.get("curves") or [])[1:]
        if not entries:
            raise ReportError("figure bins is listed but \"curves\" has no entries past the first")
        if len(entries) > 4:
            raise ReportError(f"figure bins: {len(entries)} bin curves, at most 4 fit")
        axes = fig.subplots(2, 2, sharex=True).ravel()
        for i, ax in enumerate(axes):
            if i >= len(entries):
                ax.set_axis_off()
                continue
            e = entries[i]
            m = field(e, "metric", f"curves[{i + 1}]")
            self.band_series(ax, e, f"curves[{i + 1}]", faint_metric=m)
            ax.set_title(m, fontsize="medium")
            ax.grid(True, alpha=0.3)
            if i >= 2 or len(entries) <= 2:
                ax.set_xlabel(e.get("x_name", "step"))
            if i == 0:
                self.legend(ax, len(e["series"]))
        fig.suptitle(f"Per difficulty bin: mean over seeds with {self.level_text()}")

    def cost(self, fig):
        entry = self.section("cost_curves", "cost")
        metric = entry.get("metric", self.metric)
        ax = fig.add_subplot()
        self.band_series(ax, entry, "cost_curves", faint_metric=metric)
        ax.set_xlabel(f"{entry.get('x_name', 'sim_cost')} (mean over seeds)")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} against simulated cost, {self.level_text()}")
        ax.grid(True, alpha=0.3)
        self.legend(ax, len(field(entry, "series", "cost_curves")))

    def sensitivity(self, fig):
        s = self.section("sensitivity", "sensitivity")
        arms = field(s, "arms", "sensitivity")
        ax = fig.add_subplot()
        import matplotlib

        cmap = matplotlib.colormaps["tab10" if len(arms) <= 10 else "tab20"]
        for k, arm in enumerate(arms):
            w = f"sensitivity.arms[{k}]"
            x = _arr(field(arm, "x", w), w + ".x")
            y = _arr(field(arm, "y", w), w + ".y")
            lo = _arr(field(arm, "lo", w), w + ".lo")
            hi = _arr(field(arm, "hi", w), w + ".hi")
            n = field(arm, "n", w)
            if not len(x) == len(y) == len(lo) == len(hi) == len(n):
                raise ReportError(f"{w}: x, y, lo, hi and n differ in length")
            ns = sorted({int(v) for v in n if v is not None})
            n_text = "n=?" if not ns else f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}–{ns[-1]}"
            rank = f"rank [{field(arm, 'rank_lo', w)}, {field(arm, 'rank_hi', w)}]"
            score = arm.get("score")
            label = (f"{field(arm, 'label', w)} ({n_text}) score {_fmt(score)}, {rank}")
            color = cmap(k % cmap.N)
            ax.plot(x, y, marker="o", markersize=4, color=color, linewidth=1.6, label=label,
                    zorder=3)
            ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                err = np.vstack([np.maximum(y[ok] - lo[ok], 0), np.maximum(hi[ok] - y[ok], 0)])
                ax.errorbar(x[ok], y[ok], yerr=err, fmt="none", ecolor=color, capsize=3,
                            linewidth=1, zorder=2)
        if s.get("log_x"):
            ax.set_xscale("log")
        ax.set_xlabel(str(field(s, "key", "sensitivity")))
        ax.set_ylabel(f"{s.get('stat', 'mean')} of {s.get('measure', '')} {self.metric}".strip())
        ax.set_title(f"Sensitivity to {s['key']}: score per grid value with {self.level_text()}")
        ax.grid(True, alpha=0.3)
        self.legend(ax, len(arms))

    def poi(self, fig):
        s = self.section("poi", "poi")
        labels = [str(v) for v in field(s, "labels", "poi")]
        k = len(labels)
        mats = {}
        for key in ("p", "lo", "hi", "n"):
            rows = field(s, key, "poi")
            if not isinstance(rows, list) or len(rows) != k:
                raise ReportError(f"poi.{key}: expected {k} rows (one per label)")
            mats[key] = np.vstack([_arr(r, f"poi.{key}[{i}]") for i, r in enumerate(rows)]) \
                if k else np.zeros((0, 0))
            if mats[key].shape != (k, k):
                raise ReportError(f"poi.{key}: expected a {k} x {k} matrix")
        import matplotlib

        ax = fig.add_subplot()
        cmap = matplotlib.colormaps["RdBu"].copy()
        cmap.set_bad("#dddddd")
        p = np.ma.masked_invalid(mats["p"])
        im = ax.imshow(p, cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        size = max(5, min(10, 48 / max(k, 1)))
        for i in range(k):
            for j in range(k):
                v = mats["p"][i, j]
                if not math.isfinite(v):
                    text, color = "—", "black"
                else:
                    n = mats["n"][i, j]
                    n_text = f"\nn={int(n)}" if math.isfinite(n) else ""
                    text = (f"{v:.2f}\n[{_fmt(mats['lo'][i, j])}, {_fmt(mats['hi'][i, j])}]"
                            + n_text)
                    color = "white" if abs(v - 0.5) > 0.3 else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=size, color=color)
        wrap = lambda t: "\n".join(textwrap.wrap(t, 28)) or t  # noqa: E731
        ax.set_xticks(range(k), [wrap(t) for t in labels], rotation=30, ha="right",
                      fontsize="small")
        ax.set_yticks(range(k), [wrap(t) for t in labels], fontsize="small")
        ax.set_xlabel("config j")
        ax.set_ylabel("config i")
        ax.set_title(f"P(config i better than config j) on {s.get('measure', '')} "
                     f"{self.metric}, {self.level_text()}, n = paired seeds")
        fig.colorbar(im, ax=ax, label="P(i > j)")

    def profiles(self, fig):
        s = self.section("profiles", "profiles")
        taus = _arr(field(s, "taus", "profiles"), "profiles.taus")
        series = field(s, "series", "profiles")
        if not isinstance(series, list):
            raise ReportError("profiles.series: expected a list")
        # Every series is drawn against the shared taus.
        shared = [None if not math.isfinite(t) else t for t in taus]
        entry = {"x_name": "tau", "series": [dict(r, x=shared) for r in series]}
        ax = fig.add_subplot()
        self.band_series(ax, entry, "profiles", y_key="share")
        ax.set_xlabel(f"tau ({s.get('measure', '')} {self.metric})")
        ax.set_ylabel("share of runs above tau")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"Performance profiles with {self.level_text()}")
        ax.grid(True, alpha=0.3)
        self.legend(ax, len(series))

    def claim(self, fig):
        """`advlab reproduce`: each comparison's oriented effect with its interval,
        against the threshold; the region where the claim holds is shaded."""
        s = self.section("claim", "claim")
        t = float(field(s, "threshold", "claim"))
        claimed = str(field(s, "claimed", "claim"))
        rows = field(s, "rows", "claim")
        if not isinstance(rows, list) or not rows:
            raise ReportError("claim.rows: expected a non-empty list")
        ax = fig.add_subplot()
        vals = _arr([r.get("effect") for r in rows], "claim.rows.effect")
        lo = _arr([r.get("lo") for r in rows], "claim.rows.lo")
        hi = _arr([r.get("hi") for r in rows], "claim.rows.hi")
        finite = np.concatenate([v[np.isfinite(v)] for v in (vals, lo, hi)] + [np.array([t, -t, 0.0])])
        span = max(finite.max() - finite.min(), 1e-12)
        x0, x1 = finite.min() - 0.15 * span, finite.max() + 0.15 * span
        if claimed == "better":
            ax.axvspan(t, x1, color="tab:green", alpha=0.12, label="holds (effect >= threshold)")
        elif claimed == "worse":
            ax.axvspan(x0, -t, color="tab:green", alpha=0.12, label="holds (effect <= -threshold)")
        else:
            ax.axvspan(-t, t, color="tab:green", alpha=0.12, label="holds (|effect| < threshold)")
        ax.axvline(0.0, color="0.3", lw=0.8)
        for i, r in enumerate(rows):
            y = len(rows) - 1 - i
            label = str(field(r, "label", f"claim.rows[{i}]"))
            verdict = str(r.get("verdict", ""))
            if math.isfinite(vals[i]):
                ax.errorbar([vals[i]], [y], xerr=[[vals[i] - lo[i]], [hi[i] - vals[i]]], fmt="o",
                            color="tab:blue" if i == 0 else "tab:gray", capsize=6, lw=2)
            ax.text(x0, y + 0.22, textwrap.shorten(f"{label}: {verdict}", 110), fontsize=9)
        ax.set_xlim(x0, x1)
        ax.set_ylim(-0.6, len(rows) - 0.2)
        ax.set_yticks([])
        ax.set_xlabel(f"effect, positive = treatment better ({s.get('measure', '')})")
        ax.set_title(textwrap.shorten(str(s.get("statement", "")), 100), fontsize=10)
        ax.legend(loc="lower right", fontsize=9)

    def draw(self, name):
        """Returns a new Figure for `name`."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        if name.startswith("curves_"):
            self.curves(fig, name[len("curves_"):])
        elif name in SIMPLE_FIGURES:
            getattr(self, name)(fig)
        else:
            raise ReportError(f"unknown figure name {name!r} (allowed: curves_<metric>, "
                              + ", ".join(SIMPLE_FIGURES) + ")")
        return fig


