#!/usr/bin/python3
"""analysis/stats.h against SciPy / NumPy on fixed vectors, through the probe.

    stats_scipy_test.py PATH/TO/analysis_stats_probe

Per vector (n = 3, 5, 8, 13, 32; ties; negative values) it compares
  - the Student t interval with an mpmath reference (rel. 1e-12) and with
    scipy.stats.t.interval (rel. 1e-9: SciPy <= 1.11 takes the t quantile from
    cephes stdtrit, about 4e-11 off; e.g. t_{2,0.975} = sqrt(1.805 / 0.0975) =
    4.3026527297494639 exactly, stdtrit gives 4.302652729911275),
  - Median and Quantile with numpy.quantile(method='linear') (a few ulp: NumPy
    interpolates from the upper point when the fraction is >= 1/2),
  - the IQM with scipy.stats.trim_mean(x, 0.25) when n % 4 == 0 and with its
    fractional-weight definition otherwise,
  - the probability of improvement with mannwhitneyu(x, y).statistic / (n m), exactly,
  - the performance profile with mean(x > tau), exactly,
  - the percentile bootstrap CIs of the mean and median (and the paired difference
    of means) with scipy.stats.bootstrap(method='percentile', n_resamples=20000).
Exit 0 when all agree, 1 otherwise, 77 (skip) without SciPy.
"""
import subprocess
import sys

try:
    import numpy as np
    from scipy import stats
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)
try:
    import mpmath
except ImportError:
    mpmath = None

R = 20000  # bootstrap resamples on both sides
PS = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def probe(exe, x, y=None, level=0.95, taus=()):
    lines = ["x: " + " ".join(repr(float(v)) for v in x)]
    if y is not None:
        lines.append("y: " + " ".join(repr(float(v)) for v in y))
    lines += [f"level: {level!r}", f"resamples: {R}", "seed: 7",
              "p: " + " ".join(map(repr, PS)), "tau: " + " ".join(map(repr, taus))]
    out = subprocess.run([exe], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        name, _, vals = line.partition(":")
        res[name] = [float(v) for v in vals.split()]
    return res


def close(a, b, tol):
    return abs(a - b) <= tol


def t_reference(x, level):
    """mean +- t * sem with 30-digit mpmath, from the doubles of x."""
    mpmath.mp.dps = 30
    xs = [mpmath.mpf(float(v)) for v in x]
    n = len(xs)
    m = sum(xs) / n
    s = mpmath.sqrt(sum((v - m) ** 2 for v in xs) / (n - 1))
    df = mpmath.mpf(n - 1)
    tail = (1 - mpmath.mpf(level)) / 2  # upper tail: I_{df/(df+t^2)}(df/2, 1/2) / 2
    f = lambda t: mpmath.betainc(df / 2, mpmath.mpf(0.5), 0, df / (df + t * t),
                                 regularized=True) / 2 - tail
    t = mpmath.findroot(f, float(stats.t.ppf(1 - float(tail), n - 1)))
    half = t * s / mpmath.sqrt(n)
    return float(m - half), float(m + half), float(half)


def weighted_iqm(x):
    xs = np.sort(x)
    n = len(xs)
    w = [max(0.0, min(k, 0.75 * n) - max(k - 1, 0.25 * n)) for k in range(1, n + 1)]
    return float(np.dot(w, xs) / (n / 2))


def within_mc(sample, bound, p, name):
    """bound is a p-quantile of sample's distribution up to Monte Carlo error.

    Each side estimates the CDF at the bound from R resamples (sd sqrt(p(1-p)/R));
    the difference of two has sd sqrt(2 p (1-p) / R) = 0.0016 at p = 0.025; allow
    5 sd. Works where the statistic's bootstrap distribution has atoms (the
    median of few values), where a value-scale tolerance would not.
    """
    eps = 5 * np.sqrt(2 * p * (1 - p) / R)
    below = np.mean(sample < bound)
    at_or_below = np.mean(sample <= bound)
    check(below - eps <= p <= at_or_below + eps,
          f"{name}: {bound!r} is not a {p} quantile of SciPy's bootstrap distribution "
          f"(P(<) = {below}, P(<=) = {at_or_below}, eps = {eps:.4f})")


def compare(exe, label, x, y, level=0.95, taus=(0.0,)):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, m = len(x), len(y)
    r = probe(exe, x, y, level, taus)
    name = f"{label} (n={n}, m={m}, level={level})"

    # Order statistics.
    want_q = np.quantile(x, PS, method="linear")
    scale = 8 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(x))))
    for p, got, want in zip(PS, r["quantile"], want_q):
        check(close(got, want, scale), f"{name}: Quantile({p}) {got!r} vs numpy {want!r}")
    check(close(r["median"][0], np.quantile(x, 0.5, method="linear"), scale),
          f"{name}: Median {r['median'][0]!r}")
    check(close(r["mean"][0], np.mean(x), scale), f"{name}: Mean {r['mean'][0]!r}")
    if n % 4 == 0:
        want = stats.trim_mean(x, 0.25)
        check(close(r["iqm"][0], want, scale), f"{name}: IQM {r['iqm'][0]!r} vs trim_mean {want!r}")
    check(close(r["iqm"][0], weighted_iqm(x), scale), f"{name}: IQM vs weights")

    # t interval.
    lo, hi = r["t_interval"]
    sem = stats.sem(x)
    s_lo, s_hi = stats.t.interval(level, n - 1, loc=np.mean(x), scale=sem)
    half = (s_hi - s_lo) / 2
    check(close(lo, s_lo, 1e-9 * (abs(s_lo) + half)) and close(hi, s_hi, 1e-9 * (abs(s_hi) + half)),
          f"{name}: t interval [{lo!r}, {hi!r}] vs scipy [{s_lo!r}, {s_hi!r}]")
    if mpmath is not None:
        m_lo, m_hi, m_half = t_reference(x, level)
        check(close(lo, m_lo, 1e-12 * (abs(m_lo) + m_half)) and
              close(hi, m_hi, 1e-12 * (abs(m_hi) + m_half)),
              f"{name}: t interval [{lo!r}, {hi!r}] vs mpmath [{m_lo!r}, {m_hi!r}]")

    # Probability of improvement: U of x over y, ties 1/2; lower is better = U of y over x.
    u_xy = stats.mannwhitneyu(x, y, method="asymptotic").statistic
    u_yx = stats.mannwhitneyu(y, x, method="asymptotic").statistic
    check(r["poi_higher"][0] == u_xy / (n * m),
          f"{name}: PoI {r['poi_higher'][0]!r} vs U/(nm) {u_xy / (n * m)!r}")
    check(r["poi_lower"][0] == u_yx / (n * m),
          f"{name}: PoI lower {r['poi_lower'][0]!r} vs {u_yx / (n * m)!r}")

    # Performance profile.
    want_hi = [np.count_nonzero(x > t) / n for t in taus]
    want_lo = [np.count_nonzero(x < t) / n for t in taus]
    check(r["profile_higher"] == want_hi, f"{name}: profile {r['profile_higher']} vs {want_hi}")
    check(r["profile_lower"] == want_lo, f"{name}: profile lower {r['profile_lower']} vs {want_lo}")

    # Percentile bootstrap. The value-scale tolerance for the mean: each bound is a
    # Monte Carlo estimate with sd about 0.005 (hi - lo) at R = 20000 for a near-normal
    # bootstrap distribution (sqrt(p(1-p)/R) / density at the 2.5% point); 0.05 (hi - lo)
    # is about 7 sd of the difference.
    alpha = (1 - level) / 2
    rng = np.random.default_rng(20240611 + n)
    for stat, fn in (("mean", np.mean), ("median", np.median)):
        res = stats.bootstrap((x,), fn, method="percentile", n_resamples=R,
                              confidence_level=level, random_state=rng)
        lo, hi = r[f"boot_{stat}"]
        s_lo, s_hi = res.confidence_interval.low, res.confidence_interval.high
        if stat == "mean":
            tol = 0.05 * (s_hi - s_lo) + 1e-12
            check(close(lo, s_lo, tol) and close(hi, s_hi, tol),
                  f"{name}: bootstrap mean [{lo!r}, {hi!r}] vs scipy [{s_lo!r}, {s_hi!r}]")
        within_mc(res.bootstrap_distribution, lo, alpha, f"{name}: bootstrap {stat} lo")
        within_mc(res.bootstrap_distribution, hi, 1 - alpha, f"{name}: bootstrap {stat} hi")

    if n == m:  # paired: the pairs resampled jointly (scipy paired=True)
        res = stats.bootstrap((x, y), lambda a, b, axis: np.mean(a - b, axis=axis), paired=True,
                              vectorized=True, method="percentile", n_resamples=R,
                              confidence_level=level, random_state=rng)
        lo, hi = r["paired_diff_boot"]
        s_lo, s_hi = res.confidence_interval.low, res.confidence_interval.high
        tol = 0.05 * (s_hi - s_lo) + 1e-12
        check(close(lo, s_lo, tol) and close(hi, s_hi, tol),
              f"{name}: paired diff [{lo!r}, {hi!r}] vs scipy paired [{s_lo!r}, {s_hi!r}]")
        check(r["paired_poi"][0] == r["poi_higher"][0], f"{name}: paired poi")
        # PoI of the jointly resampled pairs; its bootstrap distribution is discrete.
        # U by counting pairs (mannwhitneyu's p-value machinery is slow over 20000
        # resamples); checked against mannwhitneyu on the data first.
        def poi(a, b, axis=-1):
            a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
            d = a[..., :, None] - b[..., None, :]
            return ((d > 0).sum(axis=(-1, -2)) + 0.5 * (d == 0).sum(axis=(-1, -2))) / (n * m)
        check(poi(x, y) == u_xy / (n * m), f"{name}: pair-counting U")
        res = stats.bootstrap((x, y), poi, paired=True, vectorized=True, method="percentile",
                              n_resamples=R, confidence_level=level, random_state=rng)
        lo, hi = r["paired_poi_ci"]
        within_mc(res.bootstrap_distribution, lo, alpha, f"{name}: paired poi lo")
        within_mc(res.bootstrap_distribution, hi, 1 - alpha, f"{name}: paired poi hi")
    return r


def main():
    exe = sys.argv[1]
    data = np.random.default_rng(12345)
    x13 = np.round(data.normal(0.0, 1.0, 13), 1)          # ties at one decimal
    x32 = np.round(data.normal(0.3, 1.0, 32), 2)
    y32 = np.round(x32 + data.normal(0.2, 0.3, 32), 2)    # correlated with x32: paired
    cases = [
        ("three", [1.0, 2.0, 3.0], [0.0, 2.0, 5.0], 0.95),
        ("five, ties and negatives", [-2.5, 0.0, 0.0, 1.25, 7.0], [0.0, -1.0, 7.0, 2.0], 0.95),
        ("eight", [0.31, -0.92, 0.137, 0.574, 0.7411, 0.26, 0.26, 0.4519],
         [0.26, 0.5, -0.1, 0.9, 0.31, 0.0, 0.2, 0.45], 0.9),
        ("thirteen, rounded normals", x13, np.round(data.normal(0.5, 1.0, 9), 1), 0.95),
        ("thirty-two, paired", x32, y32, 0.95),
        ("thirty-two, large offset", 1e3 + x32, 1e3 + y32, 0.99),
    ]
    for label, x, y, level in cases:
        compare(exe, label, x, y, level, taus=(-1.0, 0.0, 0.26, 1.0))
    # Correlated pairs: had the probe resampled a and b independently, its interval of
    # the difference would be about as wide as this unpaired one; paired, it is far narrower.
    r = probe(exe, x32, y32)
    lo, hi = r["paired_diff_boot"]
    indep = stats.bootstrap(
        (x32, y32), lambda a, b, axis: np.mean(a, axis=axis) - np.mean(b, axis=axis),
        vectorized=True, method="percentile", n_resamples=R,
        random_state=np.random.default_rng(3)).confidence_interval
    check(hi - lo < 0.5 * (indep.high - indep.low),
          f"paired interval width {hi - lo} not well below the unpaired {indep.high - indep.low}")

    if failures:
        print(f"stats_scipy_test: {len(failures)} failure(s)")
        return 1
    print(f"stats_scipy_test: {len(cases)} vectors agree with SciPy/NumPy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
