"""Draws the figures of an `advlab report` from the C++ analysis (matplotlib, Agg).

Usage:  PYTHONPATH=python /usr/bin/python3 -m advlab.report ANALYSIS_JSON OUT_DIR

Every number drawn comes from ANALYSIS_JSON (the C++ analysis is the one source
of truth; nothing here recomputes a statistic). The only other input is the
results file the JSON names, read with advlab.load_xarray to draw each run's
own curve faintly under the mean curves (at most 100 runs per config).

Each figure NAME is written as OUT_DIR/NAME.png and OUT_DIR/NAME.svg, 1000 x 625
px (figsize (10, 6.25) in at 100 dpi; the SVG says width="720pt" height="450pt").
Both are deterministic: same JSON and results file, same bytes. Every legend
entry carries its number of seeds, "label (n=8)". All figures are drawn in
memory first and written only if all succeed; a listed figure whose section is
missing (or any bad input) exits 2 with one line on stderr and writes nothing.
OUT_DIR is created if needed.

ANALYSIS_JSON schema ("advlab-analysis/1"); NaN arrives as JSON null and is
drawn as a gap:

{
 "format": "advlab-analysis/1",
 "file": "/abs/path/results.h5",        // null: no per-run faint curves; a
                                        // relative path is relative to the JSON
 "metric": "accuracy", "measure": "final", "stat": "mean", "level": 0.95,
 "configs": [ {"id": 0, "label": "estimator.name=grpo", "n": 8,
               "run_ids": [0, 2, 4, ...]}, ... ],   // run_ids: /runs/run_id values
 "curves": [  // one entry per plotted metric: the main metric, then
              // accuracy_bin0..3 when present
   {"metric": "accuracy", "x_name": "step",
    "series": [ {"config": 0, "x": [...], "mean": [...], "lo": [...], "hi": [...]} ]} ],
 "cost_curves": null | {"metric": "accuracy", "x_name": "sim_cost",
    "series": [ {"config": 0, "x": [...mean sim_cost per eval...], "mean": [...],
                 "lo": [...], "hi": [...]} ]},
 "sensitivity": null | {"key": "optim.lr", "log_x": true, "measure": "final",
    "stat": "mean",
    "arms": [ {"label": "estimator.name=grpo", "x": [...grid values...], "y": [...],
               "lo": [...], "hi": [...], "n": [...seeds per point...], "score": 0.83,
               "rank_lo": 1, "rank_hi": 2} ]},
 "poi": null | {"measure": "final", "labels": [...config labels...], "n": [[...]],
    "p": [[...]], "lo": [[...]], "hi": [[...]]},
    // p[i][j] = P(config i better than config j); null where undefined
    // (diagonal, too few pairs)
 "profiles": null | {"measure": "final", "taus": [...],
    "series": [ {"config": 0, "share": [...], "lo": [...], "hi": [...]} ]},
 "figures": ["curves_accuracy", "bins", "cost", "sensitivity", "poi", "profiles"]
    // the names to draw; only those whose section is present
}

`config` in a series is a config's "id". Figures: curves_<metric> (the first
curves entry: mean line and [lo, hi] band per config over faint per-run lines),
bins (2 x 2 panels, the other curves entries), cost (metric vs mean sim_cost),
sensitivity (score vs grid value per arm with CI bars; log x when log_x; score
and rank CI in the legend), poi (heatmap of p; value, CI and n in each cell,
"—" where null), profiles (share of runs above tau, with bands).
"""

import io
import json
import os
import sys

from advlab.figures import DPI, Figures, ReportError, field

FORMAT = "advlab-analysis/1"


def _check_format(analysis):
    if not isinstance(analysis, dict) or analysis.get("format") != FORMAT:
        got = analysis.get("format") if isinstance(analysis, dict) else None
        raise ReportError(f"format is {got!r}, expected {FORMAT!r}")


def _setup_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcdefaults()  # ignore any user matplotlibrc: same bytes everywhere
    matplotlib.rcParams["svg.hashsalt"] = "advlab"
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["path.simplify"] = True


def _load_results(analysis, base_dir="."):
    path = analysis.get("file") if isinstance(analysis, dict) else None
    if path is None:
        return None
    path = os.path.join(base_dir, path)  # an absolute path stays as it is
    from advlab import load_xarray

    try:
        return load_xarray(path)
    except (OSError, ValueError) as e:
        raise ReportError(f"results file: {e}") from None


def make_figures(analysis, results=None):
    """Returns [(name, Figure)] for every name in analysis["figures"], in order."""
    _check_format(analysis)
    _setup_matplotlib()
    figures = field(analysis, "figures", "analysis")
    if not isinstance(figures, list) or not all(isinstance(n, str) for n in figures):
        raise ReportError("figures: expected a list of names")
    if len(set(figures)) != len(figures):
        raise ReportError("figures: a name is listed twice")
    figs = Figures(analysis, results)
    return [(name, figs.draw(name)) for name in figures]


def render(fig):
    """The PNG and SVG bytes of a figure (deterministic)."""
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
    fig.savefig(svg, format="svg", dpi=DPI, metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


def write_report(analysis_path, out_dir):
    """Draws every listed figure into out_dir; raises ReportError on bad input."""
    try:
        with open(analysis_path, encoding="utf-8") as f:
            analysis = json.load(f)
    except OSError as e:
        raise ReportError(f"{analysis_path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise ReportError(f"{analysis_path}: not valid JSON: {e}") from None
    try:
        _check_format(analysis)
        files = []
        for name, fig in make_figures(analysis, _load_results(analysis, os.path.dirname(analysis_path))):
            png, svg = render(fig)
            files += [(name + ".png", png), (name + ".svg", svg)]
    except ReportError as e:
        raise ReportError(f"{analysis_path}: {e}") from None
    os.makedirs(out_dir, exist_ok=True)
    written = []
    try:
        for fname, data in files:
            path = os.path.join(out_dir, fname)
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            written.append(path)
    except OSError as e:
        for path in written + [tmp]:
            if os.path.exists(path):
                os.unlink(path)
        raise ReportError(f"{out_dir}: cannot write {fname}: {e.strerror}") from None
    return [fname for fname, _ in files]


def main(argv):
    if len(argv) != 3:
        print("usage: python3 -m advlab.report ANALYSIS_JSON OUT_DIR", file=sys.stderr)
        return 2
    try:
        write_report(argv[1], argv[2])
    except ReportError as e:
        print(f"advlab.report: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # one line for the C++ caller, whatever went wrong
        msg = str(e).replace("\n", " ")
        print(f"advlab.report: {argv[1]}: {type(e).__name__}: {msg}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
