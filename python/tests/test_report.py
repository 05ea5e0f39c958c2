"""Tests of python/advlab/report.py on a synthetic ANALYSIS_JSON and results file.

Run: /usr/bin/python3 python/tests/test_report.py   (exit 77 = skipped: a
needed Debian package is missing). No advlab binary needed: the results file
is written here with h5py in the advlab layout.
"""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
sys.path.insert(0, PYDIR)

try:
    import h5py
    import matplotlib
    import numpy as np
    import pandas  # noqa: F401
    import xarray  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e}", file=sys.stderr)
    sys.exit(77)

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from advlab import report  # noqa: E402

NAN = float("nan")
SEEDS, EVALS = 4, 6
LABELS = ["estimator.name=grpo", "estimator.name=rloo", "estimator.name=reinforce"]
FIGURES = ["curves_accuracy", "bins", "cost", "sensitivity", "poi", "profiles"]


def write_results(path):
    """3 configs x 4 seeds, 6 evals; run i of config c has run_id 3*seed + c."""
    runs = len(LABELS) * SEEDS
    steps = np.arange(EVALS, dtype=np.int64) * 10
    run_id = np.arange(runs, dtype=np.int64)
    t = steps[None, :] / 50.0
    cfg = (run_id % 3)[:, None]
    seed = (run_id // 3)[:, None]
    acc = 0.2 + 0.5 * t * (1 + 0.3 * cfg) + 0.01 * seed
    with h5py.File(path, "w") as f:
        f.attrs["advlab_version"] = "0.1.0"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["config"] = "seed = 0\n"
        g = f.create_group("runs", track_order=True)
        g["run_id"] = run_id
        g["seed"] = run_id // 3
        g.create_dataset("estimator.name", data=[LABELS[c].split("=")[1] for c in run_id % 3],
                         dtype=h5py.string_dtype())
        f["steps"] = steps
        m = f.create_group("metrics", track_order=True)
        m["accuracy"] = acc
        for b in range(4):
            m[f"accuracy_bin{b}"] = acc / (b + 1)
        m["sim_cost"] = steps[None, :] * (1.0 + cfg) + seed
    return acc


def nulls(values):
    return [None if v != v else v for v in values]


def make_analysis(results_path):
    acc = write_results(results_path)
    configs = [{"id": c, "label": LABELS[c], "n": SEEDS,
                "run_ids": [3 * s + c for s in range(SEEDS)]} for c in range(3)]

    def series(scale, x):
        out = []
        for c in range(3):
            rows = acc[[3 * s + c for s in range(SEEDS)]] / scale
            mean = list(rows.mean(axis=0))
            lo, hi = list(rows.min(axis=0)), list(rows.max(axis=0))
            if c == 1:  # gaps: an undefined mean and an undefined CI
                mean[3] = NAN
                lo[1] = hi[1] = NAN
            out.append({"config": c, "x": list(x[c]), "mean": nulls(mean),
                        "lo": nulls(lo), "hi": nulls(hi)})
        return out

    steps = [10.0 * e for e in range(EVALS)]
    cost_x = [[10.0 * e * (1 + c) + 1.5 for e in range(EVALS)] for c in range(3)]
    curves = [{"metric": "accuracy", "x_name": "step", "series": series(1, [steps] * 3)}]
    for b in range(4):
        curves.append({"metric": f"accuracy_bin{b}", "x_name": "step",
                       "series": series(b + 1, [steps] * 3)})
    return {
        "format": "advlab-analysis/1",
        "file": results_path,
        "metric": "accuracy", "measure": "final", "stat": "mean", "level": 0.95,
        "configs": configs,
        "curves": curves,
        "cost_curves": {"metric": "accuracy", "x_name": "sim_cost",
                        "series": series(1, cost_x)},
        "sensitivity": {"key": "optim.lr", "log_x": True, "measure": "final", "stat": "mean",
                        "arms": [
                            {"label": LABELS[0], "x": [0.01, 0.1, 1, 10], "y": [0.3, 0.6, 0.8, 0.4],
                             "lo": [0.25, 0.55, 0.7, None], "hi": [0.35, 0.66, 0.9, None],
                             "n": [8, 8, 8, 1], "score": 0.83, "rank_lo": 1, "rank_hi": 2},
                            {"label": LABELS[1], "x": [0.01, 0.1, 1, 10], "y": [0.2, None, 0.7, 0.6],
                             "lo": [0.1, None, 0.6, 0.5], "hi": [0.3, None, 0.8, 0.7],
                             "n": [8, 8, 8, 8], "score": None, "rank_lo": 1, "rank_hi": 2}]},
        "poi": {"measure": "final", "labels": LABELS,
                "n": [[None, 4, 4], [4, None, 1], [4, 1, None]],
                "p": [[None, 0.8, 0.95], [0.2, None, None], [0.05, None, None]],
                "lo": [[None, 0.6, 0.9], [0.05, None, None], [0.0, None, None]],
                "hi": [[None, 0.95, 1.0], [0.4, None, None], [0.1, None, None]]},
        "profiles": {"measure": "final", "taus": [0.0, 0.25, 0.5, 0.75, 1.0],
                     "series": [{"config": c, "share": [1.0, 1.0, 0.75 - 0.25 * c, None, 0.0],
                                 "lo": [1.0, 0.9, 0.5 - 0.25 * c, None, 0.0],
                                 "hi": [1.0, 1.0, 1.0 - 0.25 * c, None, 0.0]}
                                for c in range(3)]},
        "figures": list(FIGURES),
    }


def run_report(json_path, out_dir):
    env = dict(os.environ, PYTHONPATH=PYDIR)
    env.setdefault("MPLCONFIGDIR", tempfile.gettempdir())
    return subprocess.run([sys.executable, "-m", "advlab.report", json_path, out_dir],
                          capture_output=True, text=True, env=env, timeout=300)


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.analysis = make_analysis(os.path.join(self.dir, "results.h5"))

    def tearDown(self):
        self.tmp.cleanup()

    def write_json(self, analysis, name="analysis.json"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(analysis, f, allow_nan=False)
        return path

    def test_every_figure_png_and_svg_deterministic(self):
        js = self.write_json(self.analysis)
        outs = [os.path.join(self.dir, "out1"), os.path.join(self.dir, "out2")]
        for out in outs:
            r = run_report(js, out)
            self.assertEqual(r.returncode, 0, r.stderr)
        expected = sorted(n + ext for n in FIGURES for ext in (".png", ".svg"))
        self.assertEqual(sorted(os.listdir(outs[0])), expected)
        for name in FIGURES:
            png = os.path.join(outs[0], name + ".png")
            img = matplotlib.image.imread(png)
            self.assertEqual(img.shape[:2], (625, 1000), name)
            gray = img[..., :3].mean(axis=2)
            self.assertGreater(float(gray.var()), 1e-3, f"{name}.png looks blank")
            root = ET.parse(os.path.join(outs[0], name + ".svg")).getroot()
            self.assertTrue(root.tag.endswith("svg"), name)
            self.assertEqual((root.get("width"), root.get("height")), ("720pt", "450pt"), name)
            for ext in (".png", ".svg"):
                with open(os.path.join(outs[0], name + ext), "rb") as a, \
                        open(os.path.join(outs[1], name + ext), "rb") as b:
                    self.assertEqual(a.read(), b.read(), f"{name}{ext} differs between runs")

    def test_missing_section_fails_and_writes_nothing(self):
        for section, figure in (("poi", "poi"), ("sensitivity", "sensitivity"),
                                ("cost_curves", "cost"), ("profiles", "profiles")):
            bad = copy.deepcopy(self.analysis)
            bad[section] = None
            js = self.write_json(bad, "bad.json")
            out = os.path.join(self.dir, "bad_out_" + section)
            r = run_report(js, out)
            self.assertNotEqual(r.returncode, 0, section)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(figure, r.stderr)
            self.assertFalse(os.path.exists(out), f"{out} was created")
        # An existing output directory stays empty; bins need curves past the first.
        bad = copy.deepcopy(self.analysis)
        bad["curves"] = bad["curves"][:1]
        out = os.path.join(self.dir, "existing")
        os.mkdir(out)
        r = run_report(self.write_json(bad, "bad.json"), out)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bins", r.stderr)
        self.assertEqual(os.listdir(out), [])

    def test_bad_inputs_fail_with_one_line(self):
        cases = {"format": dict(self.analysis, format="advlab-analysis/2"),
                 "unknown figure": dict(self.analysis, figures=["curves_accuracy", "pie"]),
                 "wrong curves metric": dict(self.analysis, figures=["curves_reward"]),
                 "missing results file": dict(self.analysis,
                                              file=os.path.join(self.dir, "nope.h5"))}
        for what, analysis in cases.items():
            out = os.path.join(self.dir, "out_bad")
            r = run_report(self.write_json(analysis, "bad.json"), out)
            self.assertEqual(r.returncode, 2, what)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, what)
            self.assertFalse(os.path.exists(out), what)

    def test_figures_show_the_json_numbers_and_seed_counts(self):
        results = report._load_results(self.analysis)
        figs = dict(report.make_figures(self.analysis, results))
        self.assertEqual(list(figs), FIGURES)
        for name, fig in figs.items():
            self.assertEqual(tuple(fig.get_size_inches()), (10.0, 6.25))
            legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
            if name != "poi":
                self.assertTrue(legends, name)
            for leg in legends:
                for t in leg.get_texts():
                    self.assertRegex(t.get_text(), r"\(n=\d+(–\d+)?\)", name)
        ax = figs["curves_accuracy"].axes[0]
        lines = {ln.get_label(): ln for ln in ax.get_lines()
                 if not ln.get_label().startswith("_")}
        self.assertEqual(sorted(lines), sorted(f"{lab} (n={SEEDS})" for lab in LABELS))
        # The mean line is the JSON's mean, gap included (nothing recomputed).
        want = np.array([NAN if v is None else v
                         for v in self.analysis["curves"][0]["series"][1]["mean"]])
        got = np.asarray(lines[f"{LABELS[1]} (n={SEEDS})"].get_ydata(), dtype=float)
        np.testing.assert_array_equal(got, want)
        self.assertTrue(np.isnan(got[3]))
        # One faint line per run, under the means: 3 configs x 4 seeds.
        faint = [c for c in ax.collections
                 if isinstance(c, LineCollection) and c.get_label() == "_faint"]
        self.assertEqual(len(faint), 3)  # one collection per config
        self.assertEqual(sum(len(c.get_segments()) for c in faint), 3 * SEEDS)
        seg = faint[0].get_segments()[0]
        np.testing.assert_allclose(seg[:, 1], results["accuracy"].values[0])
        self.assertEqual(len(figs["bins"].axes), 4)
        sens = figs["sensitivity"].axes[0]
        self.assertEqual(sens.get_xscale(), "log")
        texts = [t.get_text() for t in sens.get_legend().get_texts()]
        self.assertIn("(n=1–8) score 0.83, rank [1, 2]", texts[0])
        self.assertIn("score —", texts[1])
        cells = [t.get_text() for t in figs["poi"].axes[0].texts]
        self.assertEqual(len(cells), 9)
        self.assertEqual(cells.count("—"), 5)  # 3 diagonal + 2 undefined pairs
        self.assertEqual(cells[1], "0.80\n[0.6, 0.95]\nn=4")


if __name__ == "__main__":
    unittest.main()
