"""analysis.market_facts: every fact of MARKET_FACTS on constructed per-step frames with
known answers, against a slow plain-Python recomputation, and on a real run's windows."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deleverage.analysis.market_facts import facts_of_frame, market_facts
from deleverage.analysis.stylized import hill_tail_index
from deleverage.scenario import MARKET_FACTS
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

COLUMNS = ["last", "fair", "mid", "spread", "depth_bid", "depth_ask", "volume"]
#: Facts of returns (NaN below 20 returns) and facts of every step of the window.
STEP_FACTS = ["spread_bps", "one_sided", "depth", "mispricing"]
RETURN_FACTS = [f for f in MARKET_FACTS if f not in STEP_FACTS]


def make_frame(
    last,
    fair=None,
    *,
    mid=None,
    spread=None,
    depth_bid=None,
    depth_ask=None,
    volume=None,
) -> pd.DataFrame:
    last = np.asarray(last, dtype=float)
    n = len(last)
    return pd.DataFrame(
        {
            "last": last,
            "fair": last.copy() if fair is None else np.asarray(fair, dtype=float),
            "mid": last.copy() if mid is None else np.asarray(mid, dtype=float),
            "spread": np.full(n, 0.1) if spread is None else np.asarray(spread, dtype=float),
            "depth_bid": np.full(n, 5.0) if depth_bid is None else np.asarray(depth_bid, float),
            "depth_ask": np.full(n, 7.0) if depth_ask is None else np.asarray(depth_ask, float),
            "volume": np.ones(n) if volume is None else np.asarray(volume, dtype=float),
        }
    )


def prices(returns, start: float = 100.0) -> np.ndarray:
    """A price path (one more point than returns) with these log returns."""
    return start * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


# ---------------------------------------------------------------- slow oracle


def _mean(xs):
    return math.fsum(xs) / len(xs)


def slow_kurtosis(xs):
    m = _mean(xs)
    m2 = _mean([(x - m) ** 2 for x in xs])
    m4 = _mean([(x - m) ** 4 for x in xs])
    return math.nan if m2 == 0 else m4 / m2**2 - 3.0


def slow_acf(xs, lag):
    if len(xs) < lag + 10:
        return math.nan
    m = _mean(xs)
    d = [x - m for x in xs]
    den = math.fsum(v * v for v in d)
    num = math.fsum(d[t] * d[t + lag] for t in range(len(d) - lag))
    return num / den if den > 0 else math.nan


def slow_corr(a, b):
    if len(a) < 3:
        return math.nan
    ma, mb = _mean(a), _mean(b)
    sab = math.fsum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    saa = math.fsum((x - ma) ** 2 for x in a)
    sbb = math.fsum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa * sbb > 0 else math.nan


def slow_hill(xs, frac=0.05):
    """Hill estimate from the documented formula; NaN where the tail is too thin."""
    tail = sorted((abs(x) for x in xs if x != 0), reverse=True)
    k = int(frac * len(xs))
    if k < 10 or k >= len(tail):
        return math.nan
    h = _mean([math.log(x) for x in tail[:k]]) - math.log(tail[k])
    return 1.0 / h if h > 0 else math.inf


def slow_returns(p, k):
    """Log returns of the points 0, k, 2k, ... of the path, by a loop."""
    points = [p[i] for i in range(0, len(p), k)]
    return [math.log(points[i + 1]) - math.log(points[i]) for i in range(len(points) - 1)]


def slow_std(xs):
    m = _mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def slow_facts(frame: pd.DataFrame, k: int, dt: float) -> dict[str, float]:
    """Every fact, written from the MARKET_FACTS descriptions with plain Python loops."""
    last = [float(x) for x in frame["last"]]
    fair = [float(x) for x in frame["fair"]]
    out = dict.fromkeys(MARKET_FACTS, math.nan)
    r, rf = slow_returns(last, k), slow_returns(fair, k)
    n = len(r)
    scale = math.sqrt(86400.0 / (k * dt))
    if n >= 20:
        out["daily_vol"] = slow_std(r) * scale
        out["fair_daily_vol"] = slow_std(rf) * scale
        if out["fair_daily_vol"] > 0:
            out["vol_ratio"] = out["daily_vol"] / out["fair_daily_vol"]
        elif out["daily_vol"] > 0:
            out["vol_ratio"] = math.inf
        for lag in (1, 2, 3, 5):
            out[f"return_acf_{lag}"] = slow_acf(r, lag)
        for lag in (1, 12, 72):
            out[f"abs_acf_{lag}"] = slow_acf([abs(x) for x in r], lag)
        out["kurtosis"] = slow_kurtosis(r)
        long = slow_returns(last, 12 * k)
        long_kurtosis = slow_kurtosis(long) if len(long) >= 20 else math.nan
        out["kurtosis_fade"] = out["kurtosis"] - long_kurtosis
        out["hill"] = slow_hill(r)
        volume = [float(v) for v in frame["volume"]]
        traded = [math.fsum(volume[i * k + 1 : (i + 1) * k + 1]) for i in range(n)]
        out["volume_abs_corr"] = slow_corr(traded, [abs(x) for x in r])
        if n - 12 >= 11:
            now, ahead = [], []
            for i in range(n - 12):
                now.append(r[i])
                ahead.append(_mean([abs(x) for x in r[i + 1 : i + 13]]))
            out["leverage_effect"] = slow_corr(now, ahead)
    bps = []
    for s, m in zip(frame["spread"], frame["mid"], strict=True):
        if math.isfinite(s) and math.isfinite(m) and m != 0:
            bps.append(s / m * 1e4)
    if len(frame):
        out["one_sided"] = (len(frame) - len(bps)) / len(frame)
    if bps:
        out["spread_bps"] = statistics.median(bps)
    if len(last):
        out["depth"] = statistics.median(
            [b + a for b, a in zip(frame["depth_bid"], frame["depth_ask"], strict=True)]
        )
        out["mispricing"] = statistics.median(
            [abs(x / f - 1.0) for x, f in zip(last, fair, strict=True)]
        )
    return out


def assert_facts_close(got: dict[str, float], want: dict[str, float], rel: float = 1e-9):
    assert list(got) == list(MARKET_FACTS)
    for fact in MARKET_FACTS:
        g, w = got[fact], want[fact]
        if math.isnan(w):
            assert math.isnan(g), f"{fact}: got {g}, want NaN"
        else:
            assert g == pytest.approx(w, rel=rel, abs=1e-12), fact


def random_frame(n_steps: int, seed: int) -> pd.DataFrame:
    """A busy frame: GARCH-ish fat-tailed prices, a separate fair value, a one-sided
    book now and then (NaN mid), random depth and volume."""
    rng = np.random.default_rng(seed)
    vol = np.exp(np.cumsum(rng.normal(0, 0.05, n_steps - 1)) * 0.3) * 1e-3
    last = prices(rng.standard_t(4, n_steps - 1) * vol, 2000.0)
    fair = last * np.exp(rng.normal(0, 2e-3, n_steps))
    mid = last * (1 + rng.normal(0, 1e-4, n_steps))
    mid[rng.random(n_steps) < 0.05] = np.nan
    return make_frame(
        last,
        fair,
        mid=mid,
        spread=rng.uniform(0.1, 2.0, n_steps),
        depth_bid=rng.integers(0, 500, n_steps),
        depth_ask=rng.integers(0, 500, n_steps),
        volume=rng.poisson(3.0, n_steps) * (1 + 50 * (rng.random(n_steps) < 0.01)),
    )


@pytest.mark.parametrize(
    ("n_steps", "k", "dt", "seed"),
    [
        (6001, 1, 1.0, 0),
        (6000, 7, 0.5, 1),
        (4000, 3, 2.0, 2),
        (250, 1, 60.0, 3),  # 249 returns: the Hill tail keeps 12
        (81, 4, 1.0, 4),  # 20 returns: the fewest; no lag-72 acf, no fade, no Hill
        (35, 1, 1.0, 5),  # 34 returns: a leverage effect, no lag-72 acf
    ],
)
def test_facts_of_frame_matches_slow_recomputation(n_steps, k, dt, seed):
    frame = random_frame(n_steps, seed)
    got = facts_of_frame(frame, k, dt)
    want = slow_facts(frame, k, dt)
    assert_facts_close(got, want)
    assert math.isfinite(got["daily_vol"])


# ---------------------------------------------------------------- known answers


def gbm(n_steps: int, sigma_step: float, seed: int, start: float = 2000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return prices(rng.normal(0.0, sigma_step, n_steps - 1), start)


def test_price_equal_to_fair_gives_vol_ratio_one_exactly():
    fair = gbm(20_001, 1e-4, seed=10)
    facts = facts_of_frame(make_frame(fair, fair.copy()), 10, 1.0)
    assert facts["vol_ratio"] == 1.0
    assert facts["daily_vol"] == facts["fair_daily_vol"]


@pytest.mark.parametrize(("dt", "k"), [(1.0, 10), (60.0, 5), (0.25, 40)])
def test_daily_vol_of_a_lognormal_walk(dt, k):
    # Per-step log sd s: a horizon of k steps has sd s*sqrt(k) over k*dt seconds, so
    # scaled by sqrt(86400 / (k dt)) it is s*sqrt(86400 / dt), whatever the horizon.
    s = 2e-4
    fair = gbm(40 * 1000 * k // 10 + 1, s, seed=11)
    facts = facts_of_frame(make_frame(fair), k, dt)
    n = (len(fair) - 1) // k
    assert facts["daily_vol"] == pytest.approx(
        s * math.sqrt(86400.0 / dt), rel=6 / math.sqrt(2 * n)
    )
    # and exactly the standard deviation of the sampled returns, by numpy
    r = np.diff(np.log(fair[::k]))
    assert facts["daily_vol"] == pytest.approx(
        np.std(r, ddof=1) * math.sqrt(86400.0 / (k * dt)), rel=1e-12
    )


def test_doubled_log_increments_give_vol_ratio_two():
    fair = gbm(20_001, 1e-4, seed=12)
    last = fair[0] * (fair / fair[0]) ** 2
    facts = facts_of_frame(make_frame(last, fair), 5, 1.0)
    assert facts["vol_ratio"] == pytest.approx(2.0, rel=1e-9)
    assert facts["daily_vol"] == pytest.approx(2 * facts["fair_daily_vol"], rel=1e-9)


def test_constant_fair_value_gives_infinite_vol_ratio():
    last = gbm(2001, 1e-4, seed=13)
    facts = facts_of_frame(make_frame(last, np.full(len(last), 2000.0)), 1, 1.0)
    assert facts["fair_daily_vol"] == 0.0
    assert facts["vol_ratio"] == math.inf
    # a constant price and a constant value: no ratio at all
    flat = facts_of_frame(make_frame(np.full(200, 5.0), np.full(200, 5.0)), 1, 1.0)
    assert flat["daily_vol"] == 0.0
    assert math.isnan(flat["vol_ratio"])


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, 1e-3, n)
    r = np.empty(n)
    r[0] = e[0]
    for t in range(1, n):
        r[t] = phi * r[t - 1] + e[t]
    return r


@pytest.mark.parametrize("phi", [0.3, -0.3, 0.0])
def test_ar1_returns_give_return_acf_1_near_phi(phi):
    n = 20_000  # standard error of the acf about 1/sqrt(n) = 0.007
    facts = facts_of_frame(make_frame(prices(ar1(n, phi, seed=20))), 1, 1.0)
    assert facts["return_acf_1"] == pytest.approx(phi, abs=0.03)
    assert facts["return_acf_2"] == pytest.approx(phi**2, abs=0.03)
    assert facts["return_acf_3"] == pytest.approx(phi**3, abs=0.03)
    assert facts["return_acf_5"] == pytest.approx(phi**5, abs=0.03)


def test_horizon_samples_every_kth_step():
    # The price only moves at multiples of k; in between it stays. At horizon k the
    # returns are exactly the AR(1) block returns, whatever happens inside a block.
    k, phi = 6, 0.4
    block = ar1(8000, phi, seed=21)
    path = np.repeat(prices(block), k)[: len(block) * k + 1]
    facts = facts_of_frame(make_frame(path), k, 1.0)
    assert facts["return_acf_1"] == pytest.approx(phi, abs=0.04)
    assert facts["return_acf_1"] == pytest.approx(slow_acf(list(block), 1), rel=1e-9)
    assert facts["daily_vol"] == pytest.approx(
        np.std(block, ddof=1) * math.sqrt(86400.0 / k), rel=1e-9
    )


def test_bid_ask_bounce_gives_negative_return_acf_1():
    rng = np.random.default_rng(22)
    n = 20_000
    mid = prices(rng.normal(0.0, 1e-5, n - 1))
    # alternating trades at the bid and the ask
    alternating = mid * (1 + 5e-4 * np.where(np.arange(n) % 2 == 0, 1, -1))
    assert facts_of_frame(make_frame(alternating, mid), 1, 1.0)["return_acf_1"] < -0.9
    # Roll's model: each trade at the bid or the ask at random; acf(1) -> -1/2
    roll = mid * (1 + 5e-4 * rng.choice([-1.0, 1.0], n))
    acf1 = facts_of_frame(make_frame(roll, mid), 1, 1.0)["return_acf_1"]
    assert acf1 == pytest.approx(-0.5, abs=0.04)


def regime_returns(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    state, sd = 0, np.empty(n)
    for t in range(n):
        if rng.random() < 0.01:
            state = 1 - state
        sd[t] = (0.5e-3, 3e-3)[state]
    return rng.normal(size=n) * sd


def garch_returns(n: int, seed: int, *, alpha=0.1, beta=0.85, gamma=0.0) -> np.ndarray:
    """GARCH(1,1); gamma adds the squared return to the variance after falls only."""
    rng = np.random.default_rng(seed)
    omega = 1e-7
    v = omega / (1 - alpha - gamma / 2 - beta)
    z = rng.normal(size=n)
    r = np.empty(n)
    for t in range(n):
        r[t] = math.sqrt(v) * z[t]
        v = omega + alpha * r[t] ** 2 + gamma * r[t] ** 2 * (r[t] < 0) + beta * v
    return r


def test_volatility_clustering_gives_positive_abs_acf():
    n = 20_000
    regime = facts_of_frame(make_frame(prices(regime_returns(n, 30))), 1, 1.0)
    garch = facts_of_frame(make_frame(prices(garch_returns(n, 31))), 1, 1.0)
    iid = facts_of_frame(make_frame(prices(np.random.default_rng(32).normal(0, 1e-3, n))), 1, 1.0)
    assert regime["abs_acf_1"] > 0.2
    assert regime["abs_acf_12"] > 0.2  # regimes last ~100 steps: slow decay
    assert garch["abs_acf_1"] > 0.1
    for lag in (1, 12, 72):
        assert abs(iid[f"abs_acf_{lag}"]) < 0.03
        assert abs(iid[f"return_acf_{min(lag, 5)}"]) < 0.03


def test_kurtosis_of_known_distributions():
    rng = np.random.default_rng(40)
    n = 200_000
    gauss = facts_of_frame(make_frame(prices(rng.normal(0, 1e-3, n))), 1, 1.0)
    laplace = facts_of_frame(make_frame(prices(rng.laplace(0, 1e-3, n))), 1, 1.0)
    student = facts_of_frame(make_frame(prices(rng.standard_t(5, n) * 1e-3)), 1, 1.0)
    assert gauss["kurtosis"] == pytest.approx(0.0, abs=0.1)  # sd sqrt(24/n) = 0.011
    assert laplace["kurtosis"] == pytest.approx(3.0, abs=0.3)
    # Student-t(5): excess kurtosis 6, but its 8th moment is infinite, so the sample
    # kurtosis converges slowly and from below: a wide band, still far from 0 and 3
    # (the raw kurtosis would be 3 more).
    assert 3.5 < student["kurtosis"] < 8.0


def test_kurtosis_fade_of_iid_returns_and_against_numpy():
    # Summing 12 iid returns divides the excess kurtosis by 12: Laplace 3 -> 0.25.
    rng = np.random.default_rng(41)
    n = 200_000
    lap = prices(rng.laplace(0, 1e-3, n))
    gauss = prices(rng.normal(0, 1e-3, n))
    assert facts_of_frame(make_frame(lap), 1, 1.0)["kurtosis_fade"] == pytest.approx(2.75, abs=0.3)
    assert facts_of_frame(make_frame(gauss), 1, 1.0)["kurtosis_fade"] == pytest.approx(
        0.0, abs=0.15
    )

    def kurt(x):
        d = x - x.mean()
        return np.mean(d**4) / np.mean(d**2) ** 2 - 3

    for k in (1, 3):
        got = facts_of_frame(make_frame(lap), k, 1.0)["kurtosis_fade"]
        want = kurt(np.diff(np.log(lap[::k]))) - kurt(np.diff(np.log(lap[:: 12 * k])))
        assert got == pytest.approx(want, rel=1e-9)


def test_hill_against_hill_tail_index_and_student_t3():
    rng = np.random.default_rng(42)
    r = rng.standard_t(3, 50_000) * 1e-3
    path = prices(r)
    facts = facts_of_frame(make_frame(path), 1, 1.0)
    measured = np.diff(np.log(path))
    assert facts["hill"] == pytest.approx(hill_tail_index(measured, 0.05), rel=1e-12)
    assert facts["hill"] == pytest.approx(slow_hill(list(measured)), rel=1e-9)
    assert 2.3 < facts["hill"] < 3.5  # tail index 3 (5% Hill is biased low)
    # too few returns for a tail of 10: NaN, not an error
    short = facts_of_frame(make_frame(path[:150]), 1, 1.0)
    assert math.isfinite(short["kurtosis"])
    assert math.isnan(short["hill"])


def test_spread_depth_and_mispricing_medians():
    n = 1000
    last = np.full(n, 100.0)
    constant = facts_of_frame(make_frame(last, mid=last, spread=np.full(n, 0.2)), 1, 1.0)
    assert constant["spread_bps"] == pytest.approx(20.0, rel=1e-12)
    assert constant["one_sided"] == 0.0
    assert constant["mispricing"] == 0.0
    # a one-sided book (NaN mid and spread) is left out of the median
    mid = np.where(np.arange(n) % 4 == 0, np.nan, 100.0)
    spread = np.where(np.arange(n) % 4 == 0, np.nan, 0.5)
    spread[1] = 10.0  # one wide quote does not move a median
    one_sided = facts_of_frame(make_frame(last, mid=mid, spread=spread), 1, 1.0)
    assert one_sided["spread_bps"] == pytest.approx(50.0, rel=1e-12)
    # ... and counted on its own: a quarter of the steps have a side empty
    assert one_sided["one_sided"] == 0.25

    # depth: bid side 0..9 cycling, ask side 3: medians of 3..12 is 7.5
    depth = facts_of_frame(
        make_frame(last, depth_bid=np.arange(n) % 10, depth_ask=np.full(n, 3.0)), 1, 1.0
    )
    assert depth["depth"] == 7.5

    # mispricing: last / fair - 1 cycles through five values; median of |.| is 0.03
    m = np.resize([0.01, -0.02, 0.03, -0.04, 0.05], n)
    fair = gbm(n, 1e-4, seed=50)
    mis = facts_of_frame(make_frame(fair * (1 + m), fair), 1, 1.0)
    assert mis["mispricing"] == pytest.approx(0.03, rel=1e-9)


@pytest.mark.parametrize("k", [1, 4])
def test_volume_equal_to_abs_return_gives_correlation_one(k):
    rng = np.random.default_rng(60)
    n = 3000
    path = np.repeat(prices(rng.normal(0, 1e-3, n)), k)[: n * k + 1]
    r = np.abs(np.diff(np.log(path[::k])))
    # The volume of return i (from step i*k to step (i+1)*k) trades in steps
    # i*k+1 .. (i+1)*k: put it all on the first, or all on the last of them.
    for first in (True, False):
        volume = np.zeros(len(path))
        steps = np.arange(n) * k + (1 if first else k)
        volume[steps] = r
        facts = facts_of_frame(make_frame(path, volume=volume), k, 1.0)
        assert facts["volume_abs_corr"] == pytest.approx(1.0, abs=1e-12)
    # one step early, the volume lands in the previous interval: no longer 1
    volume = np.zeros(len(path))
    volume[np.arange(n) * k] = r
    early = facts_of_frame(make_frame(path, volume=volume), k, 1.0)
    assert abs(early["volume_abs_corr"]) < 0.2


def test_leverage_effect_against_a_slow_loop_and_its_sign():
    n = 20_000
    gjr = prices(garch_returns(n, 70, alpha=0.0, beta=0.8, gamma=0.25))
    facts = facts_of_frame(make_frame(gjr), 1, 1.0)
    r = [math.log(gjr[i + 1] / gjr[i]) for i in range(n)]
    xs, ys = [], []
    for i in range(n - 12):
        xs.append(r[i])
        ys.append(sum(abs(r[j]) for j in range(i + 1, i + 13)) / 12)
    assert facts["leverage_effect"] == pytest.approx(slow_corr(xs, ys), rel=1e-9)
    assert facts["leverage_effect"] < -0.08  # falls raise later volatility
    iid = facts_of_frame(make_frame(prices(np.random.default_rng(71).normal(0, 1e-3, n))), 1, 1.0)
    assert abs(iid["leverage_effect"]) < 0.03
    # horizon 3: the loop over the sampled returns
    facts3 = facts_of_frame(make_frame(gjr), 3, 1.0)
    r3 = slow_returns(list(gjr), 3)
    xs = r3[: len(r3) - 12]
    ys = [_mean([abs(x) for x in r3[i + 1 : i + 13]]) for i in range(len(r3) - 12)]
    assert facts3["leverage_effect"] == pytest.approx(slow_corr(xs, ys), rel=1e-9)


def test_fewer_than_20_returns_gives_nan_return_facts():
    rng = np.random.default_rng(80)
    for n_steps, k in [(20, 1), (58, 3), (2, 1)]:  # 19, 19 and 1 returns
        path = prices(rng.normal(0, 1e-3, n_steps - 1))
        facts = facts_of_frame(make_frame(path, path * 1.01), k, 1.0)
        for fact in RETURN_FACTS:
            assert math.isnan(facts[fact]), fact
        assert facts["spread_bps"] == pytest.approx(statistics.median(0.1 / path * 1e4))
        assert facts["depth"] == 12.0
        assert facts["mispricing"] == pytest.approx(1 - 1 / 1.01)
    # 20 returns: the daily volatility is there
    path = prices(rng.normal(0, 1e-3, 20))
    assert math.isfinite(facts_of_frame(make_frame(path), 1, 1.0)["daily_vol"])


def test_empty_frame_gives_all_nan():
    facts = facts_of_frame(make_frame(np.array([], dtype=float)), 1, 1.0)
    assert list(facts) == list(MARKET_FACTS)
    assert all(math.isnan(v) for v in facts.values())


# ---------------------------------------------------------------- bad input


def test_facts_of_frame_bad_input():
    frame = make_frame(gbm(100, 1e-3, seed=90))
    with pytest.raises(ValueError, match=r"frame: missing columns \['volume'\]"):
        facts_of_frame(frame.drop(columns="volume"), 1, 1.0)
    with pytest.raises(ValueError, match=r"horizon_steps: must be >= 1, got 0"):
        facts_of_frame(frame, 0, 1.0)
    with pytest.raises(ValueError, match=r"horizon_steps: must be >= 1, got -3"):
        facts_of_frame(frame, -3, 1.0)
    with pytest.raises(TypeError, match=r"horizon_steps: must be an int, got bool"):
        facts_of_frame(frame, True, 1.0)
    with pytest.raises(TypeError, match=r"horizon_steps: must be an int, got float"):
        facts_of_frame(frame, 2.0, 1.0)
    for dt in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"dt: must be a positive finite number of seconds"):
            facts_of_frame(frame, 1, dt)
    with pytest.raises(TypeError, match=r"dt: must be a number of seconds, got str"):
        facts_of_frame(frame, 1, "1")
    for column, value in [("last", 0.0), ("last", -1.0), ("fair", math.nan), ("fair", -5.0)]:
        bad = frame.copy()
        bad.loc[10, column] = value
        with pytest.raises(ValueError, match=r"frame: last and fair prices must be positive"):
            facts_of_frame(bad, 1, 1.0)


# An infinite price is the frame's error, not one of a field the caller never passed.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_facts_of_frame_rejects_an_infinite_price():
    frame = make_frame(gbm(100, 1e-3, seed=91))
    frame.loc[10, "last"] = math.inf
    with pytest.raises(ValueError, match=r"frame: last and fair prices must be positive"):
        facts_of_frame(frame, 1, 1.0)


# A bool is not a number of seconds (as horizon_steps=True is refused).
def test_facts_of_frame_rejects_a_bool_dt():
    frame = make_frame(gbm(100, 1e-3, seed=92))
    with pytest.raises(TypeError, match=r"dt: must be a number of seconds, got bool"):
        facts_of_frame(frame, 1, True)


# ---------------------------------------------------------------- hypothesis


LEVELS = [1e-6, 0.5, 1.0, 1.0 + 1e-12, 100.0, 1e6]


@st.composite
def positive_frames(draw) -> pd.DataFrame:
    """Positive price paths of up to 300 steps: a walk of drawn log steps, a path of a few
    levels (flat stretches, repeated returns, tails of equal size), or raw prices; the
    fair value the same, constant, or a noisy copy; the rest of the book from a seeded
    generator, with one-sided books (NaN mid), zero depth and zero volume."""
    n = draw(st.integers(0, 300))
    kind = draw(st.sampled_from(["walk", "levels", "raw"]))
    if kind == "walk":
        steps = draw(st.lists(st.floats(-3.0, 3.0), min_size=n, max_size=n))
        last = draw(st.sampled_from(LEVELS)) * np.exp(np.cumsum(steps))
    elif kind == "levels":
        last = np.array(draw(st.lists(st.sampled_from(LEVELS), min_size=n, max_size=n)))
    else:
        last = np.array(draw(st.lists(st.floats(1e-6, 1e6), min_size=n, max_size=n)))
    last = np.clip(np.asarray(last, dtype=float), 1e-300, 1e300)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    fair_kind = draw(st.sampled_from(["same", "constant", "noisy"]))
    if fair_kind == "same":
        fair = last.copy()
    elif fair_kind == "constant":
        fair = np.full(n, draw(st.sampled_from(LEVELS)))
    else:
        fair = last * np.exp(rng.normal(0.0, draw(st.sampled_from([1e-9, 1e-3, 1.0])), n))
    fair = np.clip(fair, 1e-300, 1e300)
    mid = np.where(rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0])), np.nan, last)
    zero = draw(st.sampled_from([0.0, 0.5, 1.0]))  # the share of steps with nothing
    book = [rng.uniform(0.0, 1e4, n) * (rng.random(n) >= zero) for _ in range(4)]
    return make_frame(
        last, fair, mid=mid, spread=book[0], depth_bid=book[1], depth_ask=book[2], volume=book[3]
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=positive_frames(), k=st.integers(1, 40), dt=st.floats(1e-3, 3600.0))
def test_facts_of_frame_never_raises_on_positive_paths(frame, k, dt):
    n = len(frame)
    with np.errstate(all="ignore"):
        facts = facts_of_frame(frame, k, dt)
    assert list(facts) == list(MARKET_FACTS)
    for fact, value in facts.items():
        assert isinstance(value, float), fact
        if fact in ("vol_ratio", "hill"):
            assert value != -math.inf, fact  # +inf: a still value, a flat tail
        else:
            assert math.isfinite(value) or math.isnan(value), (fact, value)
        if fact.startswith(("return_acf", "abs_acf")) or fact in (
            "volume_abs_corr",
            "leverage_effect",
        ):
            assert math.isnan(value) or -1 - 1e-9 <= value <= 1 + 1e-9, (fact, value)
    n_returns = max(0, -(-n // k) - 1)
    if n_returns < 20:
        assert all(math.isnan(facts[f]) for f in RETURN_FACTS)
    else:
        assert math.isfinite(facts["daily_vol"])
    if n:
        assert math.isfinite(facts["depth"])
        assert math.isfinite(facts["mispricing"])
        assert 0.0 <= facts["one_sided"] <= 1.0


# ---------------------------------------------------------------- market_facts on a run


@pytest.fixture(scope="module")
def default_run():
    # without the preset's own quiet window: the default one ends at the jump (step 1800)
    scenario = load_preset("default-hour").replace(quiet_window=(), targets=())
    return simulate(scenario, 0, progress=False)


def assert_same_facts(a: dict[str, float], b: dict[str, float]) -> None:
    assert list(a) == list(b)
    for key in a:
        if math.isnan(b[key]):
            assert math.isnan(a[key]), key
        else:
            assert a[key] == b[key], key


def test_market_facts_shape_and_default_quiet_window(default_run):
    scenario = default_run.scenario
    out = market_facts(default_run)
    assert list(out.columns) == list(MARKET_FACTS)
    assert list(out.index.names) == ["instrument", "horizon"]
    assert list(out.index) == [("GOLD", 300.0), ("GOLD", 3600.0)]
    # the default-hour preset jumps at step 1800 (dt 1 s): quiet before it
    assert scenario.quiet_span() == (0.0, 1800.0)
    assert out.attrs["window"] == scenario.quiet_span()
    assert market_facts(default_run, window="quiet").attrs["window"] == (0.0, 1800.0)
    # 1800 s at 300 s horizons: 5 returns, no return facts; the step facts are there
    row = out.loc[("GOLD", 300.0)]
    assert math.isnan(row["daily_vol"])
    assert math.isfinite(row["spread_bps"])
    assert math.isfinite(row["depth"])
    series = default_run.series["GOLD"]
    quiet = series.iloc[:1800]
    assert row["spread_bps"] == pytest.approx(
        np.nanmedian(quiet["spread"] / quiet["mid"] * 1e4), rel=1e-12
    )
    assert row["mispricing"] == pytest.approx(
        np.median(np.abs(quiet["last"] / quiet["fair"] - 1)), rel=1e-12
    )


def test_market_facts_quiet_daily_vol_against_numpy(default_run):
    out = market_facts(default_run, horizons=[5, 30])
    last = default_run.series["GOLD"]["last"].to_numpy()[:1800]
    for k in (5, 30):
        r = np.diff(np.log(last[::k]))
        want = np.std(r, ddof=1) * math.sqrt(86400.0 / k)
        assert out.loc[("GOLD", float(k)), "daily_vol"] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    ("window", "rows", "span"),
    [
        ("all", slice(0, 3600), (0.0, 3600.0)),
        ((600, 1500.5), slice(600, 1501), (600.0, 1500.5)),
        ([100.0, math.inf], slice(100, 3600), (100.0, 3600.0)),
        ((2000, 9000), slice(2000, 3600), (2000.0, 3600.0)),
    ],
)
def test_market_facts_explicit_window_matches_the_sliced_series(default_run, window, rows, span):
    out = market_facts(default_run, instrument="GOLD", window=window, horizons=[1, 10])
    assert out.attrs["window"] == span
    frame = default_run.series["GOLD"].iloc[rows]
    for k in (1, 10):
        assert_same_facts(out.loc[("GOLD", float(k))].to_dict(), facts_of_frame(frame, k, 1.0))


def test_market_facts_scenario_quiet_window(default_run):
    scenario = default_run.scenario.replace(quiet_window=(2000.0, math.inf))
    result = simulate(scenario, 0, progress=False)
    out = market_facts(result, horizons=[2])
    assert out.attrs["window"] == (2000.0, 3600.0)
    frame = result.series["GOLD"].iloc[2000:]
    assert_same_facts(out.iloc[0].to_dict(), facts_of_frame(frame, 2, 1.0))


def test_market_facts_bad_input(default_run):
    with pytest.raises(ValueError, match=r"window: must be 'quiet', 'all' or \[start, end\]"):
        market_facts(default_run, window="bogus")
    with pytest.raises(ValueError, match=r"window: must be 'quiet', 'all' or \[start, end\]"):
        market_facts(default_run, window=(1, 2, 3))
    with pytest.raises(ValueError, match=r"window: must be \[start, end\] with 0 <= start < end"):
        market_facts(default_run, window=(100, 50))
    with pytest.raises(ValueError, match=r"window: must be \[start, end\] with 0 <= start < end"):
        market_facts(default_run, window=(-5, 50))
    with pytest.raises(ValueError, match=r"window: must be \[start, end\] with 0 <= start < end"):
        market_facts(default_run, window=(math.nan, 50))
    with pytest.raises(TypeError, match=r"window: times must be numbers of seconds"):
        market_facts(default_run, window=("a", "b"))
    with pytest.raises(
        ValueError, match=r"window: \[5000, 3600\) s holds no step of the run \(it ran 3600 s\)"
    ):
        market_facts(default_run, window=(5000, 6000))
    for horizons in ([1.5], [0.5], [300, 2.5]):
        with pytest.raises(ValueError, match=r"horizons: each must be a whole number of clock"):
            market_facts(default_run, horizons=horizons)
    for horizons in ([], "300", 300):
        with pytest.raises(ValueError, match=r"horizons: must be a non-empty list of seconds"):
            market_facts(default_run, horizons=horizons)
    with pytest.raises(TypeError, match=r"horizons: must be numbers of seconds"):
        market_facts(default_run, horizons=[True])
    with pytest.raises(ValueError, match=r"instrument: must be one of \['GOLD'\], got 'SILVER'"):
        market_facts(default_run, instrument="SILVER")
    with pytest.raises(TypeError, match=r"result: must be a Result, got DataFrame"):
        market_facts(default_run.series)
