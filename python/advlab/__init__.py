"""advlab results files in Python: tidy pandas and xarray views over h5py.

A results file (written by `advlab run` / `advlab sweep`, layout in
sim/results.h and experiments/h5io.cc) holds:

    /                root attrs: advlab_version (str), format_version (int64),
                     config (str: the resolved base config, INI text)
    /runs/<column>   1-D [runs]: run_id, seed, and every swept key
                     (int64, float64 or UTF-8 string)
    /steps           int64 [evals]: the training step of each eval point
    /metrics/<name>  float64 [runs, evals]; NaN where a metric is undefined
    /provenance      attrs: build provenance (not read here)

Example (PYTHONPATH=python):

    import advlab
    df = advlab.load("s.h5")                       # one row per run x eval
    last = df[df.step == df.step.max()]
    print(last.groupby("estimator.name")["accuracy"].agg(["mean", "count"]))
    ds = advlab.load_xarray("s.h5")                # dims (run, eval)

Needs numpy and h5py; pandas for load(), xarray for load_xarray() (Debian
python3-h5py, python3-pandas, python3-xarray).
"""

import os

import h5py
import numpy as np

__all__ = ["FORMAT_VERSION", "attrs", "load", "load_xarray"]

# The format_version experiments/h5io.cc writes (Results::format_version in
# sim/results.h). Anything else is refused rather than misread.
FORMAT_VERSION = 1

_ROOT_ATTRS = ("advlab_version", "format_version", "config")


def _fail(path, what):
    raise ValueError(f"{path}: {what}")


def _open(path):
    """Opens `path` read-only after checking it is an advlab results file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        _fail(path, "is a directory, expected an advlab results file (.h5)")
    if not h5py.is_hdf5(path):
        _fail(path, "not an HDF5 file (expected an advlab results file)")
    f = h5py.File(path, "r")
    try:
        missing = [a for a in _ROOT_ATTRS if a not in f.attrs]
        if missing:
            _fail(path, "missing root attribute(s) " + ", ".join(missing) +
                  " (not an advlab results file)")
        version = f.attrs["format_version"]
        if np.ndim(version) != 0 or not np.issubdtype(np.asarray(version).dtype, np.integer):
            _fail(path, "root attribute format_version is not an integer")
        if int(version) != FORMAT_VERSION:
            _fail(path, f"format_version {int(version)} is not supported "
                        f"(this module reads format_version {FORMAT_VERSION})")
        for name, kind in (("runs", h5py.Group), ("metrics", h5py.Group),
                           ("steps", h5py.Dataset)):
            if not isinstance(f.get(name), kind):
                _fail(path, f"missing /{name} (not an advlab results file)")
    except BaseException:
        f.close()
        raise
    return f


def _names(group):
    """Member names in creation order where the writer tracked it (advlab does)."""
    if group.id.get_create_plist().get_link_creation_order():
        names = []
        group.id.links.iterate(names.append, idx_type=h5py.h5.INDEX_CRT_ORDER)
        return [n.decode("utf-8") if isinstance(n, bytes) else n for n in names]
    return list(group)


def _read(path):
    """Reads a results file into plain numpy arrays.

    Returns (runs, steps, metrics, root): runs is an ordered dict of 1-D arrays
    (strings as object arrays of str), steps an int64 [evals] array, metrics an
    ordered dict of float64 [runs, evals] arrays, root the root attributes.
    """
    path = os.fspath(path)
    with _open(path) as f:
        root = _root_attrs(f)
        steps = np.asarray(f["steps"][...], dtype=np.int64)
        if steps.ndim != 1:
            _fail(path, f"/steps must be 1-D, has rank {steps.ndim}")
        runs = {}
        num_runs = None
        for name in _names(f["runs"]):
            ds = f["runs"][name]
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 1:
                _fail(path, f"/runs/{name} must be a 1-D dataset")
            if h5py.check_string_dtype(ds.dtype) is not None:
                values = np.asarray(ds.asstr()[...], dtype=object)
            elif np.issubdtype(ds.dtype, np.integer):
                values = np.asarray(ds[...], dtype=np.int64)
            elif np.issubdtype(ds.dtype, np.floating):
                values = np.asarray(ds[...], dtype=np.float64)
            else:
                _fail(path, f"/runs/{name} has an unsupported type {ds.dtype} "
                            "(expected int64, float64 or string)")
            if num_runs is None:
                num_runs = len(values)
            elif len(values) != num_runs:
                _fail(path, f"/runs/{name} has {len(values)} rows, expected {num_runs}")
            runs[name] = values
        metrics = {}
        for name in _names(f["metrics"]):
            ds = f["metrics"][name]
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 2:
                _fail(path, f"/metrics/{name} must be a 2-D dataset [runs, evals]")
            if num_runs is None:
                num_runs = ds.shape[0]
            if ds.shape != (num_runs, len(steps)):
                _fail(path, f"/metrics/{name} has shape {list(ds.shape)}, expected "
                            f"[runs, evals] = [{num_runs}, {len(steps)}]")
            metrics[name] = np.asarray(ds[...], dtype=np.float64)
    return runs, steps, metrics, root


def _root_attrs(f):
    out = {}
    for name in _ROOT_ATTRS:
        value = f.attrs[name]
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        out[name] = int(value) if name == "format_version" else str(value)
    return out


def attrs(path):
    """Returns the root attributes of an advlab results file as a dict.

    Keys: advlab_version (str), format_version (int), config (str, INI text).
    Raises ValueError naming the file if it is not an advlab results file or
    has another format_version. Example:

        import advlab
        a = advlab.attrs("s.h5")
        print(a["advlab_version"], a["format_version"])
        for line in a["config"].splitlines():
            print(line)
    """
    with _open(path) as f:
        return _root_attrs(f)


def load(path):
    """Loads a results file as a tidy pandas DataFrame, one row per run x eval.

    Columns, in order: the /runs columns in file order (run_id, seed, every
    swept key; strings decoded to str), `step`, then one float64 column per
    metric in file order. Rows are run-major: run 0's evals, then run 1's.
    Raises ValueError naming the file if it is not an advlab results file or
    has another format_version. Example:

        import advlab
        df = advlab.load("s.h5")
        final = df[df.step == df.step.max()]
        print(final.groupby("estimator.name")["accuracy"].mean())
        df.pivot_table(index="step", columns="estimator.name", values="accuracy")
    """
    import pandas as pd

    runs, steps, metrics, _ = _read(path)
    num_evals = len(steps)
    num_runs = _num_runs(runs, metrics)
    names = list(runs) + ["step"] + list(metrics)
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        _fail(os.fspath(path), "column name(s) used twice among /runs, step and "
                               "/metrics: " + ", ".join(clash))
    columns = {}
    for name, values in runs.items():
        columns[name] = np.repeat(values, num_evals)
    columns["step"] = np.tile(steps, num_runs)
    for name, values in metrics.items():
        columns[name] = values.reshape(-1)
    return pd.DataFrame(columns, columns=names)


def load_xarray(path):
    """Loads a results file as an xarray Dataset with dims (run, eval).

    Data variables: one float64 (run, eval) array per metric. Coordinates:
    `step` on eval, and every /runs column (run_id, seed, swept keys) on run.
    Dataset attrs: the root attributes (see attrs()). Example:

        import advlab
        ds = advlab.load_xarray("s.h5")
        acc = ds["accuracy"].swap_dims(eval="step")
        print(acc.groupby("estimator.name").mean("run"))
        acc.isel(step=-1).values                     # final accuracy per run
    """
    import xarray as xr

    runs, steps, metrics, root = _read(path)
    coords = {"step": ("eval", steps)}
    for name, values in runs.items():
        if name in metrics or name == "step":
            _fail(os.fspath(path), f"/runs/{name} clashes with a metric or `step`")
        coords[name] = ("run", values)
    data = {name: (("run", "eval"), values) for name, values in metrics.items()}
    return xr.Dataset(data, coords=coords, attrs=dict(root))


def _num_runs(runs, metrics):
    for values in runs.values():
        return len(values)
    for values in metrics.values():
        return values.shape[0]
    return 0
