"""scenario.Target: validation messages, aim / contains / distance / kind / key / label;
the scenario's checks of its targets and quiet window, quiet_span(), and the TOML round
trip of both (a target writes only the fields that differ from their defaults)."""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.scenario import (
    MARKET_FACTS,
    Clock,
    Episode,
    Scenario,
    Shock,
    Target,
    from_toml_str,
    to_toml_str,
)
from deleverage.scenario.targets import MAX_HORIZON, fact_kind
from deleverage.scenarios import load_preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

INF = math.inf
NAN = math.nan


def bare_hour() -> Scenario:
    """The default-hour preset (a jump at step 1800 of 1 s) without its own quiet window and
    targets, so that these tests do not depend on what the preset declares."""
    return load_preset("default-hour").replace(quiet_window=(), targets=())


@pytest.fixture(scope="module")
def default() -> Scenario:
    return bare_hour()


def with_shocks(scenario: Scenario, *shocks: Shock, name: str | None = None) -> Scenario:
    """The scenario's first instrument with these fair-value shocks (renamed and added as
    a second instrument when ``name`` is given)."""
    first = scenario.instruments[0]
    spec = dataclasses.replace(
        first, fundamental=dataclasses.replace(first.fundamental, shocks=tuple(shocks))
    )
    if name is None:
        return scenario.replace(instruments=(spec,))
    return scenario.replace(instruments=(first, dataclasses.replace(spec, name=name)))


# ---------------------------------------------------------------- fact names


def test_fact_kind():
    for fact in MARKET_FACTS:
        assert fact_kind(fact) == "market"
        assert Target(fact, range=(0, 1)).kind == "market"
    assert fact_kind("run.max_drawdown") == "run"
    assert fact_kind("episode.crash_day_return") == "episode"
    assert fact_kind("crash.low_fall") == "crash"
    for bad in ("run.", "episode.", "crash.", "runs.x", "Kurtosis", "kurtosis ", "x"):
        with pytest.raises(ValueError, match=r"fact: unknown fact"):
            fact_kind(bad)


def test_unknown_fact_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"fact: unknown fact 'volatility'; one of ") as info:
        Target("volatility", range=(0, 1))
    message = str(info.value)
    for fact in MARKET_FACTS:
        assert fact in message
    assert "run.<key>, episode.<key> or crash.<key>" in message


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"fact": ""}, ValueError, r"fact: must be a non-empty string"),
        ({"fact": 3}, TypeError, r"fact: must be a string, got int"),
        ({"instrument": 1}, TypeError, r"instrument: must be a string, got int"),
        ({"note": None}, TypeError, r"note: must be a string, got NoneType"),
        ({"range": (1, 0)}, ValueError, r"range\[1\]: must be >= range\[0\] \(1\.0\), got 0\.0"),
        ({"range": (-INF, INF)}, ValueError, r"range: at least one bound must be finite"),
        ({"range": (0, NAN)}, ValueError, r"range\[1\]: must be finite, got nan"),
        ({"range": (NAN, 1)}, ValueError, r"range\[0\]: must be finite, got nan"),
        ({"range": (0, 1, 2)}, ValueError, r"range: must be \[low, high\] or empty"),
        ({"range": (1,)}, ValueError, r"range: must be \[low, high\] or empty"),
        ({"range": "01"}, TypeError, r"range: must be a tuple, got str"),
        ({"range": ("a", 1)}, TypeError, r"range\[0\]: must be a number, got str"),
        ({"range": ()}, ValueError, r"range: target 'kurtosis' needs a range or a value"),
        ({"window": (5, 5)}, ValueError, r"window\[1\]: must be > window\[0\] \(5\.0\), got 5\.0"),
        ({"window": (10, 5)}, ValueError, r"window\[1\]: must be > window\[0\] \(10\.0\)"),
        ({"window": (-1, 5)}, ValueError, r"window\[0\]: must be in \[0\.0, "),
        ({"window": (INF, INF)}, ValueError, r"window\[0\]: must be finite, got inf"),
        ({"window": (0, NAN)}, ValueError, r"window\[1\]: must be finite, got nan"),
        ({"window": (5,)}, ValueError, r"window: must be \[start, end\] seconds or empty"),
        ({"window": 5}, TypeError, r"window: must be a tuple, got int"),
        ({"share": 0}, ValueError, r"share: must be in \(0\.0, 1\.0\], got 0\.0"),
        ({"share": 1.0001}, ValueError, r"share: must be in \(0\.0, 1\.0\], got 1\.0001"),
        ({"share": -0.5}, ValueError, r"share: must be in \(0\.0, 1\.0\]"),
        ({"share": NAN}, ValueError, r"share: must be finite"),
        ({"weight": -1e-9}, ValueError, r"weight: must be in \[0\.0, 1000000\.0\]"),
        ({"weight": INF}, ValueError, r"weight: must be finite"),
        ({"horizon": 0}, ValueError, r"horizon: must be in \(0\.0, 604800\.0\], got 0\.0"),
        ({"horizon": -60}, ValueError, r"horizon: must be in \(0\.0, 604800\.0\]"),
        ({"horizon": 604800.5}, ValueError, r"horizon: must be in \(0\.0, 604800\.0\]"),
        ({"horizon": True}, TypeError, r"horizon: must be a number, got bool"),
        ({"horizon": "300"}, TypeError, r"horizon: must be a number, got str"),
        ({"value": INF}, ValueError, r"value: must be finite, got inf"),
        ({"value": "1"}, TypeError, r"value: must be a number, got str"),
        ({"against": "luck"}, ValueError, r"against: must be empty or one of leverage, dealers"),
        ({"against": 1}, TypeError, r"against: must be a string, got int"),
    ],
)
def test_target_bad_input(kwargs: dict[str, Any], error: type[Exception], pattern: str):
    fields = {"fact": "kurtosis", "range": (0.0, 1.0), **kwargs}
    with pytest.raises(error, match=pattern):
        Target(**fields)


def test_target_limits_and_normalised_fields():
    t = Target("kurtosis", range=[0, 5], window=[10, 20], horizon=60, share=1, weight=0)
    assert t.range == (0.0, 5.0)
    assert all(type(x) is float for x in t.range)
    assert t.window == (10.0, 20.0)
    assert all(type(x) is float for x in t.window)
    assert type(t.horizon) is float
    assert t.horizon == 60.0
    assert t.share == 1.0
    assert t.weight == 0.0
    assert Target("kurtosis", horizon=MAX_HORIZON, range=(0, 1)).horizon == 7 * 86400.0
    assert Target("kurtosis", window=(0, INF), range=(0, 1)).window == (0.0, INF)
    assert Target("kurtosis", range=(-INF, 1)).range == (-INF, 1.0)
    assert Target("kurtosis", range=(2, 2)).range == (2.0, 2.0)  # a point is a range
    assert Target("kurtosis", value=3).value == 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.share = 0.5  # type: ignore[misc]


# ---------------------------------------------------------------- aim, contains, distance


def test_aim():
    assert Target("kurtosis", range=(1, 5)).aim == 3.0
    assert Target("kurtosis", range=(1, 5), value=4.5).aim == 4.5
    assert Target("kurtosis", value=-2).aim == -2.0
    assert Target("kurtosis", range=(-INF, 0.1)).aim == 0.1
    assert Target("kurtosis", range=(0.25, INF)).aim == 0.25
    assert Target("kurtosis", range=(2, 2)).aim == 2.0


def test_contains():
    t = Target("return_acf_1", range=(-0.1, 0.1))
    assert t.contains(0.0) is True
    assert t.contains(-0.1) is True
    assert t.contains(0.1) is True
    assert t.contains(0.1000001) is False
    assert t.contains(-0.2) is False
    assert t.contains(NAN) is False
    assert t.contains(INF) is False
    half = Target("kurtosis", range=(0, INF))
    assert half.contains(1e300) is True
    assert half.contains(INF) is True
    assert half.contains(-1e-300) is False
    assert Target("kurtosis", value=3).contains(3.0) is None


def test_distance():
    t = Target("kurtosis", range=(1, 5))
    assert t.distance(3) == 0.0
    assert t.distance(1) == 0.0
    assert t.distance(5) == 0.0
    assert t.distance(0.5) == 0.5
    assert t.distance(7) == 2.0
    assert math.isnan(t.distance(NAN))
    # a value wins over the range
    assert Target("kurtosis", range=(1, 5), value=4).distance(3) == 1.0
    assert Target("kurtosis", value=4).distance(6.5) == 2.5
    assert Target("kurtosis", range=(-INF, 2)).distance(-1e9) == 0.0
    assert Target("kurtosis", range=(-INF, 2)).distance(3) == 1.0
    assert Target("kurtosis", range=(2, INF)).distance(-1) == 3.0


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(a=finite, b=finite, x=finite, value=st.one_of(st.none(), finite))
def test_aim_contains_distance_against_cases(a, b, x, value):
    low, high = min(a, b), max(a, b)
    t = Target("kurtosis", range=(low, high), value=value)
    inside = low <= x <= high
    assert t.contains(x) is inside
    if value is None:
        assert t.aim == pytest.approx((low + high) / 2)
        assert low <= t.aim <= high
        want = 0.0 if inside else (low - x if x < low else x - high)
        assert t.distance(x) == pytest.approx(want, abs=1e-9)
        assert t.distance(t.aim) == 0.0
    else:
        assert t.aim == value
        assert t.distance(x) == pytest.approx(abs(x - value))


# ---------------------------------------------------------------- kind, key, label


@pytest.mark.parametrize(
    ("fact", "kind", "key"),
    [
        ("kurtosis", "market", "kurtosis"),
        ("return_acf_1", "market", "return_acf_1"),
        ("run.max_drawdown", "run", "max_drawdown"),
        ("episode.crash_day_return", "episode", "crash_day_return"),
        ("crash.low_fall", "crash", "low_fall"),
        ("crash.x.y", "crash", "x.y"),
    ],
)
def test_kind_and_key(fact, kind, key):
    t = Target(fact, range=(0, 1))
    assert t.kind == kind
    assert t.key == key


def test_label():
    t = Target("return_acf_1", horizon=300, range=(-0.1, 0.1))
    assert t.label("GOLD") == "GOLD return_acf_1 @300s"
    assert t.label("") == "return_acf_1 @300s"
    assert Target("kurtosis", horizon=3600, range=(0, 9)).label("X") == "X kurtosis @3600s"
    assert Target("kurtosis", horizon=0.5, range=(0, 9)).label("X") == "X kurtosis @0.5s"
    windowed = Target("kurtosis", horizon=60, window=(0, INF), range=(0, 9))
    assert windowed.label("GOLD") == "GOLD kurtosis @60s [0, inf]"
    assert Target("kurtosis", window=(1800, 3600), range=(0, 9)).label("G") == (
        "G kurtosis @300s [1800, 3600]"
    )
    # a month's window in whole seconds, a fraction kept
    assert Target("kurtosis", window=(0, 2_764_800), range=(0, 9)).label("G") == (
        "G kurtosis @300s [0, 2764800]"
    )
    assert Target("kurtosis", window=(0.5, 86_400.25), range=(0, 9)).label("G") == (
        "G kurtosis @300s [0.5, 86400.25]"
    )
    # figures of the run have no horizon
    assert Target("run.max_drawdown", horizon=60, range=(0, 1)).label("GOLD") == (
        "GOLD run.max_drawdown"
    )
    assert Target("crash.low_fall", window=(1800, INF), range=(0, 1)).label("GOLD") == (
        "GOLD crash.low_fall [1800, inf]"
    )
    # nor do the facts of every step of the window (spread, depth, mispricing)
    for fact in ("spread_bps", "depth", "mispricing"):
        assert Target(fact, horizon=60, range=(0, 1)).label("GOLD") == f"GOLD {fact}"
    # measured against a counterfactual
    against = Target("episode.overshoot", range=(-INF, -0.001), against="leverage")
    assert against.label("GOLD") == "GOLD episode.overshoot vs no leverage"


# ---------------------------------------------------------------- the scenario's checks


def test_scenario_target_unknown_instrument_names_the_known(default):
    with pytest.raises(ValueError, match=r"targets\[0\]\.instrument: unknown instrument "):
        default.replace(targets=(Target("kurtosis", instrument="SILVER", range=(0, 1)),))
    two = with_shocks(default, name="SILVER")
    ok = two.replace(targets=(Target("kurtosis", instrument="SILVER", range=(0, 1)),))
    assert ok.targets[0].instrument == "SILVER"
    bad = (Target("kurtosis", range=(0, 1)), Target("kurtosis", instrument="COPPER", range=(0, 1)))
    with pytest.raises(
        ValueError,
        match=r"targets\[1\]\.instrument: unknown instrument 'COPPER'; known: GOLD, SILVER",
    ):
        two.replace(targets=bad)


def test_scenario_episode_fact_needs_an_episode(default):
    target = Target("episode.crash_day_return", range=(-1, 0))
    with pytest.raises(
        ValueError,
        match=r"targets\[0\]\.fact: 'episode\.crash_day_return' needs the scenario's \[episode\]",
    ):
        default.replace(targets=(target,))
    episode = Episode(crash_day=3, lookback_days=2, day=600.0)
    s = default.replace(episode=episode, targets=(target,))
    assert s.targets == (target,)
    # the other figures need nothing
    default.replace(targets=(Target("run.max_drawdown", range=(0, 1)),))
    default.replace(targets=(Target("crash.low_fall", range=(0, 1)),))


def test_scenario_horizon_whole_clock_steps(default):
    for horizon in (1.5, 0.5, 300.25):
        with pytest.raises(
            ValueError,
            match=r"targets\[0\]\.horizon: must be a whole number of clock steps \(dt 1\.0\)",
        ):
            default.replace(targets=(Target("kurtosis", horizon=horizon, range=(0, 1)),))
    ok = default.replace(targets=(Target("kurtosis", horizon=1, range=(0, 1)),))
    assert ok.targets[0].horizon == 1.0
    half = default.replace(clock=Clock(dt=0.5, steps=3600))
    half.replace(targets=(Target("kurtosis", horizon=1.5, range=(0, 1)),))  # 3 steps
    half.replace(targets=(Target("kurtosis", horizon=0.5, range=(0, 1)),))  # 1 step
    with pytest.raises(ValueError, match=r"targets\[1\]\.horizon: .* \(dt 0\.5\), got 1\.25"):
        half.replace(
            targets=(
                Target("kurtosis", horizon=1.5, range=(0, 1)),
                Target("kurtosis", horizon=1.25, range=(0, 1)),
            )
        )
    tenth = default.replace(clock=Clock(dt=0.1, steps=3600))
    tenth.replace(
        targets=(Target("kurtosis", horizon=0.3, range=(0, 1)),)
    )  # 0.3 / 0.1 is 2.9999999999999996: close enough
    # figures of the run ignore the horizon
    default.replace(targets=(Target("run.max_drawdown", horizon=1.5, range=(0, 1)),))


def test_scenario_target_window_and_type(default):
    with pytest.raises(
        ValueError, match=r"targets\[0\]\.window\[0\]: must be in \[0\.0, 3600\.0\)"
    ):
        default.replace(targets=(Target("kurtosis", window=(3600, 4000), range=(0, 1)),))
    ok = default.replace(targets=(Target("kurtosis", window=(3599, 9999), range=(0, 1)),))
    assert ok.targets[0].window == (3599.0, 9999.0)
    with pytest.raises(TypeError, match=r"targets\[1\]: must be a Target, got dict"):
        default.replace(targets=(Target("kurtosis", range=(0, 1)), {"fact": "kurtosis"}))
    with pytest.raises(TypeError, match=r"targets: must be a tuple, got Target"):
        default.replace(targets=Target("kurtosis", range=(0, 1)))
    listed = default.replace(targets=[Target("kurtosis", range=(0, 1))])
    assert isinstance(listed.targets, tuple)


@pytest.mark.parametrize(
    ("window", "error", "pattern"),
    [
        ((1, 2, 3), ValueError, r"quiet_window: must be \[start, end\] seconds or empty"),
        ((1,), ValueError, r"quiet_window: must be \[start, end\] seconds or empty"),
        ("ab", TypeError, r"quiet_window: must be a tuple, got str"),
        ((100, 50), ValueError, r"quiet_window\[1\]: must be > quiet_window\[0\] \(100\.0\)"),
        ((100, 100), ValueError, r"quiet_window\[1\]: must be > quiet_window\[0\]"),
        ((-1, 50), ValueError, r"quiet_window\[0\]: must be in \[0\.0, 3600\.0\), got -1\.0"),
        ((3600, 4000), ValueError, r"quiet_window\[0\]: must be in \[0\.0, 3600\.0\), got 3600"),
        ((5000, INF), ValueError, r"quiet_window\[0\]: must be in \[0\.0, 3600\.0\)"),
        ((0, NAN), ValueError, r"quiet_window\[1\]: must be finite, got nan"),
        ((NAN, 10), ValueError, r"quiet_window\[0\]: must be finite, got nan"),
        (("0", 10), TypeError, r"quiet_window\[0\]: must be a number, got str"),
    ],
)
def test_scenario_quiet_window_bad(default, window, error, pattern):
    with pytest.raises(error, match=pattern):
        default.replace(quiet_window=window)


# ---------------------------------------------------------------- quiet_span


def test_quiet_span_explicit_window_clipped_to_the_run(default):
    assert default.replace(quiet_window=(100, 200)).quiet_span() == (100.0, 200.0)
    assert default.replace(quiet_window=[100, INF]).quiet_span() == (100.0, 3600.0)
    assert default.replace(quiet_window=(3599, 1e9)).quiet_span() == (3599.0, 3600.0)
    # an explicit window wins over the jumps
    jumpy = with_shocks(default, Shock(10, "jump", -0.1))
    assert jumpy.replace(quiet_window=(0, 3000)).quiet_span() == (0.0, 3000.0)
    # stored as given (a tuple of floats), clipped only by quiet_span
    assert default.replace(quiet_window=[100, INF]).quiet_window == (100.0, INF)


def test_quiet_span_default_first_jump(default):
    # the preset: a 5% jump at step 1800 of 1 s
    assert default.quiet_window == ()
    assert default.quiet_span() == (0.0, 1800.0)
    s = with_shocks(
        default,
        Shock(100, "volatility", 0.5),
        Shock(200, "drift", 1.0),
        Shock(2500, "jump", -0.1),
        Shock(3000, "jump", 0.05),
    )
    assert s.quiet_span() == (0.0, 2500.0)  # drift and volatility shocks do not count
    # the earliest jump of any instrument
    two = with_shocks(s, Shock(50, "drift", 0.1), Shock(900, "jump", 0.02), name="SILVER")
    assert two.quiet_span() == (0.0, 900.0)
    # seconds, not steps
    slow = s.replace(clock=Clock(dt=0.5, steps=3600))
    assert slow.quiet_span() == (0.0, 1250.0)


def test_quiet_span_whole_run_without_jumps(default):
    calm = with_shocks(default)
    assert calm.quiet_span() == (0.0, 3600.0)
    only_drift = with_shocks(default, Shock(10, "volatility", 1.0), Shock(20, "drift", -2.0))
    assert only_drift.quiet_span() == (0.0, 3600.0)
    long = calm.replace(clock=Clock(dt=2.0, steps=3000))
    assert long.quiet_span() == (0.0, 6000.0)


# ---------------------------------------------------------------- TOML


TARGETS = (
    Target("return_acf_1", range=(-0.1, 0.1)),
    Target(
        "kurtosis",
        instrument="GOLD",
        horizon=60.0,
        window=(0.0, INF),
        range=(0.0, INF),
        value=3.0,
        share=0.5,
        weight=2.0,
        note="Cont (2001), 5-minute returns",
    ),
    Target("run.max_drawdown", value=0.05),
    Target("crash.low_fall", range=(-INF, 0.2), share=1.0),
    Target("spread_bps", horizon=300.0, range=(0, 20), weight=1.0, share=0.875),  # defaults
)
#: The keys each target above must write: the fields not at their defaults.
TOML_KEYS = (
    {"fact", "range"},
    {"fact", "instrument", "horizon", "window", "range", "value", "share", "weight", "note"},
    {"fact", "value"},
    {"fact", "range", "share"},
    {"fact", "range"},
)


def test_toml_round_trip_with_targets_and_quiet_window(default):
    s = default.replace(quiet_window=(60.0, INF), targets=TARGETS)
    text = to_toml_str(s)
    back = from_toml_str(text)
    assert back == s
    assert back.targets == TARGETS
    assert back.quiet_window == (60.0, INF)
    assert to_toml_str(back) == text
    doc = tomllib.loads(text)
    assert doc["quiet_window"] == [60.0, INF]
    assert [set(table) for table in doc["targets"]] == [set(k) for k in TOML_KEYS]
    assert doc["targets"][1]["note"] == "Cont (2001), 5-minute returns"
    assert doc["targets"][3]["range"] == [-INF, 0.2]


def test_toml_round_trip_without_targets(default):
    text = to_toml_str(default)
    assert from_toml_str(text) == default
    doc = tomllib.loads(text)
    assert doc.get("targets", []) == []
    assert doc.get("quiet_window", []) == []


def test_toml_target_errors_name_the_path(default):
    text = to_toml_str(default).replace("targets = []\n", "")
    bad = [
        ('fact = "nope"\nrange = [0, 1]\n', r"targets\[0\]\.fact: unknown fact 'nope'"),
        ('fact = "kurtosis"\nrange = [0, 1]\nbogus = 3\n', r"targets\[0\]\.bogus: unknown field"),
        ('fact = "kurtosis"\nrange = [1, 0]\n', r"targets\[0\]\.range\[1\]: must be >="),
        ('fact = "kurtosis"\nhorizon = 1.5\nrange = [0, 1]\n', r"targets\[0\]\.horizon: must"),
        ('fact = "kurtosis"\n', r"targets\[0\]\.range: target 'kurtosis' needs a range"),
    ]
    for table, pattern in bad:
        with pytest.raises(ValueError, match=pattern):
            from_toml_str(text + "\n[[targets]]\n" + table)
    ok = from_toml_str(text + '\n[[targets]]\nfact = "hill"\nrange = [2, 5]\nshare = 0.75\n')
    assert ok.targets == (Target("hill", range=(2.0, 5.0), share=0.75),)


fact_names = st.one_of(
    st.sampled_from(list(MARKET_FACTS)),
    st.sampled_from(["run.max_drawdown", "crash.low_fall", "run.liquidations"]),
)
bounds = st.one_of(st.just(-INF), st.floats(-1e6, 1e6, allow_nan=False), st.just(INF))


@st.composite
def targets(draw) -> Target:
    low, high = sorted([draw(bounds), draw(bounds)])
    rng: tuple[float, ...] = (low, high)
    value = draw(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)))
    if (math.isinf(low) and math.isinf(high)) or draw(st.booleans()):
        rng = ()
        if value is None:
            value = 1.0
    window: tuple[float, ...] = ()
    if draw(st.booleans()):
        start = float(draw(st.integers(0, 3599)))
        window = (start, draw(st.one_of(st.just(INF), st.floats(start + 1, 1e6))))
    return Target(
        draw(fact_names),
        instrument=draw(st.sampled_from(["", "GOLD"])),
        horizon=float(draw(st.integers(1, 7200))),
        window=window,
        range=rng,
        value=value,
        share=draw(st.floats(0.01, 1.0)),
        weight=draw(st.floats(0.0, 100.0)),
        note=draw(st.text(max_size=20)),
    )


@settings(max_examples=60, deadline=None)
@given(chosen=st.lists(targets(), max_size=4))
def test_toml_round_trip_random_targets(chosen):
    s = bare_hour().replace(targets=tuple(chosen))
    back = from_toml_str(to_toml_str(s))
    assert back == s
    doc = tomllib.loads(to_toml_str(s))
    defaults = {f.name: f.default for f in dataclasses.fields(Target)}
    for target, table in zip(chosen, doc.get("targets", []), strict=True):
        written = {k for k, v in defaults.items() if getattr(target, k) != v} | {"fact"}
        assert set(table) == written
