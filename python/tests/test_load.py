"""Tests of advlab.load / load_xarray / attrs (python/advlab/__init__.py).

Run: /usr/bin/python3 python/tests/test_load.py PATH/TO/advlab
(exit 77 = skipped: a needed Debian package is missing). Makes a small real
results file with `advlab sweep`, and hand-made files with h5py.
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

try:
    import h5py
    import numpy as np
    import pandas  # noqa: F401
    import xarray  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e}", file=sys.stderr)
    sys.exit(77)

import advlab  # noqa: E402

ADVLAB = None  # the binary, from argv
SEEDS = 3


def write_tiny(path, format_version=1):
    """A hand-made advlab-layout file: 3 runs x 2 evals, columns created out of
    alphabetical order, a fixed-length string column, a NaN."""
    with h5py.File(path, "w") as f:
        f.attrs["advlab_version"] = "9.9.9"
        f.attrs["format_version"] = np.int64(format_version)
        f.attrs["config"] = "seed = 0\n[optim]\nlr = 1\n"
        g = f.create_group("runs", track_order=True)
        g["run_id"] = np.array([0, 1, 2], dtype=np.int64)
        g["seed"] = np.array([5, 6, 5], dtype=np.int64)
        g.create_dataset("z.name", data=["grpo", "rloo", "grpo"], dtype=h5py.string_dtype())
        g["a.lr"] = np.array([0.5, 0.5, 2.0])
        g["fixed"] = np.array([b"ab", b"c", b""], dtype="S2")
        f["steps"] = np.array([0, 10], dtype=np.int64)
        m = f.create_group("metrics", track_order=True)
        m["zeta"] = np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]])
        m["alpha"] = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])


class LoadSweepTest(unittest.TestCase):
    """load() against a file `advlab sweep` wrote, checked by direct h5py reads."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.tmp.name, "s.h5")
        cmd = [ADVLAB, "sweep", "--grid", "estimator.name=grpo,rloo", "--grid", "optim.lr=0.5,2",
               f"--seeds={SEEDS}", "--train.steps=60", "--train.eval_every=20",
               "--out", cls.path, "--force"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr}")
        with h5py.File(cls.path, "r") as f:
            cls.runs = {k: f["runs"][k] for k in f["runs"]}
            cls.run_names = list(f["runs"])
            cls.run_values = {k: (f["runs"][k].asstr()[...]
                                  if h5py.check_string_dtype(f["runs"][k].dtype)
                                  else f["runs"][k][...]) for k in f["runs"]}
            cls.metric_names = list(f["metrics"])
            cls.metrics = {k: f["metrics"][k][...] for k in f["metrics"]}
            cls.steps = f["steps"][...]
            cls.config = f.attrs["config"]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_dataframe(self):
        df = advlab.load(self.path)
        runs, evals = 2 * 2 * SEEDS, 4  # steps 0, 20, 40, 60
        self.assertEqual(len(self.steps), evals)
        self.assertEqual(len(df), runs * evals)
        self.assertEqual(self.run_names[:2], ["run_id", "seed"])
        self.assertIn("estimator.name", self.run_names)
        self.assertIn("optim.lr", self.run_names)
        self.assertEqual(list(df.columns), self.run_names + ["step"] + self.metric_names)
        for name in self.run_names:
            want = np.repeat(self.run_values[name], evals)
            self.assertEqual(list(df[name]), list(want), name)
        self.assertEqual(set(df["estimator.name"]), {"grpo", "rloo"})
        self.assertTrue(all(type(v) is str for v in df["estimator.name"]))
        self.assertEqual(list(df["step"]), list(self.steps) * runs)
        for name, values in self.metrics.items():
            self.assertEqual(df[name].dtype, np.float64)
            np.testing.assert_array_equal(df[name].to_numpy().reshape(runs, evals), values,
                                          err_msg=name)
        # Row r*evals + e is run r at eval e.
        self.assertEqual(df["accuracy"].iloc[5 * evals + 2], self.metrics["accuracy"][5, 2])
        self.assertEqual(df["step"].iloc[5 * evals + 2], self.steps[2])

    def test_xarray(self):
        ds = advlab.load_xarray(self.path)
        self.assertEqual(dict(ds.sizes), {"run": 4 * SEEDS, "eval": len(self.steps)})
        self.assertEqual(list(ds.data_vars), self.metric_names)
        for name, values in self.metrics.items():
            self.assertEqual(ds[name].dims, ("run", "eval"))
            np.testing.assert_array_equal(ds[name].values, values)
        self.assertEqual(ds["step"].dims, ("eval",))
        np.testing.assert_array_equal(ds["step"].values, self.steps)
        for name in self.run_names:
            self.assertEqual(ds[name].dims, ("run",))
            self.assertEqual(list(ds[name].values), list(self.run_values[name]))
        self.assertEqual(ds.attrs["format_version"], 1)

    def test_attrs(self):
        a = advlab.attrs(self.path)
        self.assertEqual(sorted(a), ["advlab_version", "config", "format_version"])
        self.assertEqual(a["format_version"], advlab.FORMAT_VERSION)
        self.assertEqual(a["config"], self.config)
        self.assertIn("[optim]", a["config"])


class LoadHandMadeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_known_values_and_file_order(self):
        path = os.path.join(self.dir, "tiny.h5")
        write_tiny(path)
        df = advlab.load(path)
        self.assertEqual(list(df.columns),
                         ["run_id", "seed", "z.name", "a.lr", "fixed", "step", "zeta", "alpha"])
        self.assertEqual(list(df["run_id"]), [0, 0, 1, 1, 2, 2])
        self.assertEqual(list(df["seed"]), [5, 5, 6, 6, 5, 5])
        self.assertEqual(list(df["z.name"]), ["grpo", "grpo", "rloo", "rloo", "grpo", "grpo"])
        self.assertEqual(list(df["a.lr"]), [0.5, 0.5, 0.5, 0.5, 2.0, 2.0])
        self.assertEqual(list(df["fixed"]), ["ab", "ab", "c", "c", "", ""])
        self.assertEqual(list(df["step"]), [0, 10, 0, 10, 0, 10])
        np.testing.assert_array_equal(df["zeta"], [1.0, 2.0, 3.0, np.nan, 5.0, 6.0])
        self.assertEqual(list(df["alpha"]), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        ds = advlab.load_xarray(path)
        self.assertEqual(list(ds.data_vars), ["zeta", "alpha"])
        self.assertEqual(float(ds["alpha"].isel(run=2, eval=1)), 0.6)
        self.assertEqual(list(ds["z.name"].values), ["grpo", "rloo", "grpo"])
        self.assertEqual(advlab.attrs(path)["advlab_version"], "9.9.9")

    def assertRefused(self, path, fragment):
        for fn in (advlab.load, advlab.load_xarray, advlab.attrs):
            with self.assertRaises(ValueError) as cm:
                fn(path)
            self.assertIn(path, str(cm.exception), fn.__name__)
            self.assertIn(fragment, str(cm.exception), fn.__name__)

    def test_refuses_other_hdf5(self):
        path = os.path.join(self.dir, "other.h5")
        with h5py.File(path, "w") as f:
            f["data"] = np.arange(3)
        self.assertRefused(path, "not an advlab results file")

    def test_refuses_other_format_version(self):
        for version in (0, 2):
            path = os.path.join(self.dir, f"v{version}.h5")
            write_tiny(path, format_version=version)
            self.assertRefused(path, f"format_version {version} is not supported")

    def test_refuses_text_file(self):
        path = os.path.join(self.dir, "notes.txt")
        with open(path, "w") as f:
            f.write("run_id,seed\n0,0\n")
        self.assertRefused(path, "not an HDF5 file")

    def test_refuses_missing_group(self):
        path = os.path.join(self.dir, "nometrics.h5")
        write_tiny(path)
        with h5py.File(path, "a") as f:
            del f["metrics"]
        with self.assertRaises(ValueError) as cm:
            advlab.load(path)
        self.assertIn("/metrics", str(cm.exception))

    def test_missing_file(self):
        path = os.path.join(self.dir, "nope.h5")
        with self.assertRaises(FileNotFoundError) as cm:
            advlab.load(path)
        self.assertIn(path, str(cm.exception))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: test_load.py PATH/TO/advlab [unittest args]", file=sys.stderr)
        sys.exit(2)
    ADVLAB = sys.argv.pop(1)
    unittest.main()
