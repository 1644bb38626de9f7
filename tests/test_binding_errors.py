"""Wrong types and out-of-range ints at the compiled boundary: a ValueError or
TypeError that starts with the field's name, never pybind11's generic
"incompatible function arguments" or "Unable to cast", and never a crash."""

from __future__ import annotations

import dataclasses as dc
import inspect
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deleverage as dl
from deleverage import Instrument, MarginEngine, MarginRule, Side, _core
from deleverage.engine_spec import margin_rule

GENERIC = ("incompatible function arguments", "Unable to cast")


def _named(err: BaseException, fields: tuple[str, ...]) -> None:
    """The error is a ValueError or TypeError that starts with one of `fields`."""
    assert isinstance(err, (ValueError, TypeError)), repr(err)
    message = str(err)
    assert not any(g in message for g in GENERIC), message
    assert message.startswith(fields), f"{message!r} does not start with one of {fields}"


# -- the examples ----------------------------------------------------------------------------


def test_price_past_int64_names_price() -> None:
    with pytest.raises(
        ValueError,
        match=r"^price: must be in 1\.\.4611686018427387904 ticks, got 9223372036854775808$",
    ):
        dl.OrderBook().limit(Side.BUY, 2**63, 1)


def test_negative_order_id_names_order_id() -> None:
    with pytest.raises(
        ValueError, match=r"^order_id: must be in 0\.\.18446744073709551615, got -1$"
    ):
        dl.OrderBook().cancel(-1)
    with pytest.raises(ValueError, match=r"^order_id: "):
        dl.OrderBook().order(-1)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda b: b.limit("0", 100, 1), TypeError, r"^side: must be an int, got str$"),
        (lambda b: b.limit(Side.BUY, 100.0, 1), TypeError, r"^price: must be an int, got float$"),
        (lambda b: b.limit(Side.BUY, 100, None), TypeError, r"^qty: must be an int, got NoneType$"),
        (lambda b: b.limit(Side.BUY, 100, True), TypeError, r"^qty: must be an int, got bool$"),
        (
            lambda b: b.limit(Side.BUY, 100, 2**40 + 1),
            ValueError,
            r"^qty: must be in 1\.\.1099511627776 lots",
        ),
        (
            lambda b: b.market(Side.SELL, 1, owner=2**64),
            ValueError,
            r"^owner: must be in 0\.\.4294967295",
        ),
        (lambda b: b.limit(2**70, 100, 1), ValueError, r"^side: must be 0 \(BUY\) or 1 \(SELL\)"),
        (lambda b: b.depth(2**63), ValueError, r"^levels: must be in 0\.\."),
        (lambda b: b.depth(1.5), TypeError, r"^levels: must be an int"),
        (lambda b: b.quantity_to(Side.BUY, [1]), TypeError, r"^price: must be an int, got list"),
        (lambda b: b.execute([1, 2]), TypeError, r"^messages: must be a numpy array"),
        (lambda b: b.execute(dl.make_messages([0], 0, 1, 1), [0]), TypeError, r"^results: must be"),
    ],
)
def test_book_arguments(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call(dl.OrderBook())


def test_numpy_integers_are_ints() -> None:
    book = dl.OrderBook()
    e = book.limit(np.int8(0), np.int64(100), np.uint16(3), owner=np.uint32(5))
    assert book.order(np.uint64(e.order_id)).qty == 3
    assert book.depth(np.int32(1))[0]["qty"].tolist() == [3]


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"track_owners": "yes"}, TypeError, "track_owners"),
        ({"track_owners": 1}, TypeError, "track_owners"),
        ({"stp": 2**63}, ValueError, "stp"),
        ({"stp": "0"}, TypeError, "stp"),
        ({"max_ladder_levels": 2**63}, ValueError, "max_ladder_levels"),
        ({"max_ladder_levels": 100.0}, TypeError, "max_ladder_levels"),
    ],
)
def test_book_constructor_arguments(
    kwargs: dict[str, object], error: type[Exception], field: str
) -> None:
    with pytest.raises(error, match=rf"^{field}: "):
        dl.OrderBook(**kwargs)


def test_negative_balance_protection_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match=r"^negative_balance_protection: must be a bool"):
        MarginRule(negative_balance_protection="yes")  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"^MarginRuleSpec\.negative_balance_protection: must be a bool"
    ):
        _core.MarginRuleSpec(negative_balance_protection="yes")
    assert (
        MarginRule(negative_balance_protection=np.bool_(True)).negative_balance_protection is True
    )


@pytest.mark.parametrize("maintenance", ["percent", "tiered"])
def test_tiers_must_be_pairs(maintenance: str) -> None:
    with pytest.raises(TypeError, match=r"^tiers: must be a sequence of \(floor, rate\) pairs"):
        MarginRule(maintenance=maintenance, tiers=5.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^tiers\[0\]: must be a \(floor, rate\) pair"):
        MarginRule(maintenance=maintenance, tiers=((0.0, 0.01, 3.0),))
    with pytest.raises(TypeError, match=r"^tiers\[0\].rate: must be a number"):
        MarginRule(maintenance=maintenance, tiers=((0.0, "a"),))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^MarginRuleSpec\.tiers: must be a sequence"):
        _core.MarginRuleSpec(tiers=5.0)
    with pytest.raises(TypeError, match=r"^rules\[0\]: must be a MarginRuleSpec, got dict"):
        _core.MarginEngine([1.0], [{"tiers": 5.0}])


def test_max_liquidation_notional_must_be_a_number() -> None:
    with pytest.raises(TypeError, match=r"^max_liquidation_notional: must be a number, got list"):
        MarginEngine([Instrument("X")], max_liquidation_notional=[1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^max_liquidation_notional: must be a number, got list"):
        _core.MarginEngine([1.0], [margin_rule(MarginRule())], max_liquidation_notional=[1.0])


def _adl_world(adl: bool) -> MarginEngine:
    rule = MarginRule(initial_rate=0.1, maintenance_rate=0.01)
    engine = MarginEngine([Instrument("X", 1.0, rule)], insurance_fund=0.0, adl=adl)
    engine.add_accounts(
        [1_000.0, 5_000.0, 5_000.0], position=[10, -4, -6], entry_price=[1_000.0, 1_000.0, 1_200.0]
    )
    return engine


def test_adl_no_is_refused_not_truthy() -> None:
    for bad in ("no", "False", 0, 1, None):
        with pytest.raises(TypeError, match=r"^adl: must be a bool"):
            MarginEngine([Instrument("X")], adl=bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^adl: must be a bool"):
            _core.MarginEngine([1.0], [margin_rule(MarginRule())], adl=bad)
    for bad in ("no", 0, None):
        with pytest.raises(TypeError, match=r"^fund_equity: must be a bool"):
            MarginEngine([Instrument("X")], fund_equity=bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^fund_equity: must be a bool"):
            _core.MarginEngine([1.0], [margin_rule(MarginRule())], fund_equity=bad)
    # A real False turns it off: the same gap that deleverages with adl=True does not.
    assert 3 in _adl_world(True).check([800])["kind"].tolist()
    assert 3 not in _adl_world(False).check([800])["kind"].tolist()
    assert 3 not in _adl_world(np.bool_(False)).check([800])["kind"].tolist()


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"insurance_fund": "1e6"}, TypeError, "insurance_fund"),
        ({"max_rounds": 2**63}, ValueError, "max_rounds"),
        ({"max_rounds": True}, TypeError, "max_rounds"),
        ({"max_rounds": 3.0}, TypeError, "max_rounds"),
        ({"liquidity": 5.0}, TypeError, "liquidity"),
        ({"liquidity": ["a"]}, TypeError, r"liquidity\[0\]"),
    ],
)
def test_engine_settings(kwargs: dict[str, object], error: type[Exception], field: str) -> None:
    with pytest.raises(error, match=rf"^{field}: "):
        MarginEngine([Instrument("X")], **kwargs)  # type: ignore[arg-type]
    with pytest.raises(error, match=rf"^{field}: "):
        _core.MarginEngine([1.0], [margin_rule(MarginRule())], **kwargs)


def test_engine_instruments_must_be_a_sequence() -> None:
    with pytest.raises(TypeError, match=r"^instruments: must be a sequence"):
        MarginEngine(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^tick_values: must be a sequence of numbers"):
        _core.MarginEngine(5.0, [])
    with pytest.raises(TypeError, match=r"^rules: must be a list"):
        _core.MarginEngine([1.0], margin_rule(MarginRule()))


@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        (lambda e: e.apply_trade("0", 0, 1, 10.0), TypeError, "account"),
        (lambda e: e.apply_trade(0, 0, 2**63, 10.0), ValueError, "lots"),
        (lambda e: e.apply_trade(0, 0, 1.5, 10.0), TypeError, "lots"),
        (lambda e: e.apply_trade(0, 0, 1, "10"), TypeError, "price"),
        (lambda e: e.apply_trade(0, 0, 1, 10.0, fee=None), TypeError, "fee"),
        (lambda e: e.apply_trade(0, True, 1, 10.0), TypeError, "instrument"),
        (lambda e: e.set_rule("0", MarginRule()), TypeError, "instrument"),
        (lambda e: e.add_accounts([1.0], position=[[1, 2], [3]]), TypeError, "position"),
        (lambda e: e.add_accounts([1.0], position=2**63, entry_price=5.0), ValueError, "position"),
        (lambda e: e.check([[1], [2, 3]]), TypeError, "marks"),
        (lambda e: e.check_path("abc"), TypeError, "marks"),
        (lambda e: e.apply_fills(0, [1, 2]), TypeError, "fills"),
    ],
)
def test_engine_method_arguments(call, error: type[Exception], field: str) -> None:
    engine = MarginEngine([Instrument("X")])
    engine.add_accounts([100.0])
    with pytest.raises(error, match=rf"^{field}: "):
        call(engine)


@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        (lambda e: e.check([2**63]), ValueError, "marks"),
        (lambda e: e.check(["a"]), TypeError, "marks"),
        (lambda e: e.check([1.5]), TypeError, "marks"),
        (lambda e: e.check_path(np.ones((2, 1))), TypeError, "marks"),
        (lambda e: e.add_accounts([1.0], [70_000], [0], [0.0], [0], [0]), ValueError, "instrument"),
        (lambda e: e.add_accounts([1.0], [0], [0], [0.0], [-1], [0]), ValueError, "mode"),
        (lambda e: e.add_accounts("x", [0], [0], [0.0], [0], [0]), TypeError, "cash"),
        (lambda e: e.apply_trade(-1, 0, 1, 1.0), ValueError, "account"),
        (lambda e: e.apply_trade(0, 2**64, 1, 1.0), ValueError, "instrument"),
        (lambda e: e.attach_book(0, "book"), TypeError, "book"),
        (lambda e: e.attach_book(0, None, mark=1), TypeError, "mark"),
        (lambda e: e.set_rule(0, 5), TypeError, "rule"),
        (lambda e: e.book_marks(None), TypeError, "index_prices"),
    ],
)
def test_core_engine_arguments(call, error: type[Exception], field: str) -> None:
    engine = _core.MarginEngine([1.0], [margin_rule(MarginRule())])
    with pytest.raises(error, match=rf"^{field}: "):
        call(engine)


# -- every public method, fuzzed ---------------------------------------------------------------

JUNK = st.sampled_from(
    [
        2**63,
        2**64,
        -(2**63) - 1,
        -1,
        0,
        1.5,
        -0.0,
        math.nan,
        math.inf,
        -math.inf,
        "1",
        "no",
        b"1",
        None,
        True,
        [1.0],
        [[1, 2], [3]],
        (),
        {},
        object(),
        np.float64(1.0),
        np.int64(-5),
        np.array([1, 2]),
        np.array(["a"]),
    ]
)
SMALL_INT = st.integers(min_value=-3, max_value=2_000)
PRICE = st.integers(min_value=1, max_value=3_000)


def _arrays(dtype: type, lo: float, hi: float) -> st.SearchStrategy[np.ndarray]:
    return st.lists(
        st.floats(lo, hi) if dtype is float else st.integers(int(lo), int(hi)),
        min_size=0,
        max_size=3,
    ).map(lambda v: np.asarray(v, dtype=dtype))


def _messages() -> st.SearchStrategy[np.ndarray]:
    row = st.tuples(
        st.integers(0, 2**63),
        PRICE,
        st.integers(-1, 5),
        st.integers(0, 10),
        st.integers(0, 8),
        st.integers(0, 2),
    )
    return st.lists(row, max_size=4).map(
        lambda rows: np.array(
            [(oid, p, q, o, t, s) for oid, p, q, o, t, s in rows], dtype=dl.MESSAGE_DTYPE
        )
    )


BOOK_ARGS = {
    "side": st.integers(-1, 2),
    "price": PRICE,
    "qty": st.integers(-1, 10),
    "owner": st.integers(-1, 10),
    "order_id": st.integers(0, 2**33),
    "levels": SMALL_INT,
    "messages": _messages(),
    "results": st.none(),
    "stp": st.integers(-1, 3),
    "max_ladder_levels": st.integers(0, 5_000),
    "track_owners": st.booleans(),
}

ENGINE_ARGS = {
    "instrument": st.integers(-1, 2),
    "account": st.integers(-1, 3),
    "lots": st.integers(-5, 5),
    "price": st.floats(-1, 2_000),
    "fee": st.floats(-1, 1),
    "marks": st.lists(PRICE, min_size=1, max_size=2),
    "index_prices": st.lists(PRICE, min_size=1, max_size=2),
    "cash": st.lists(st.floats(0, 1e6), min_size=1, max_size=3),
    "position": st.integers(-3, 3),
    "entry_price": st.floats(0, 2_000),
    "mode": st.integers(0, 1),
    "population": st.integers(0, 3),
    "rule": st.just(MarginRule()),
    "book": st.sampled_from([None, "book"]),
    "fills": st.just(np.zeros(0, dtype=dl.FILL_DTYPE)),
    "instruments": st.just([Instrument("X"), Instrument("Y")]),
    "insurance_fund": st.floats(0, 1e6),
    "adl": st.booleans(),
    "max_rounds": st.integers(0, 70_000),
    "max_liquidation_notional": st.floats(0, 1e9),
    "close_order": st.sampled_from(["instrument", "pro_rata", "fifo"]),
    "liquidity": st.none() | st.lists(st.floats(0, 10), min_size=2, max_size=2),
}


def _book() -> dl.OrderBook:
    book = dl.OrderBook(track_owners=True)
    book.limit(Side.BUY, 99, 5, owner=1)
    book.limit(Side.SELL, 101, 7, owner=2)
    return book


def _engine() -> MarginEngine:
    engine = MarginEngine([Instrument("X"), Instrument("Y")])
    engine.add_accounts(
        [1_000.0, 2_000.0], position=[1, -1], entry_price=[100.0, 100.0], instrument=[0, 1]
    )
    return engine


def _public(cls: type) -> list[str]:
    names = [n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))]
    return ["__init__", *sorted(names)]


def _parameters(cls: type, name: str, core_doc: bool) -> list[str]:
    if core_doc:  # pybind11 methods: the names from the signature line of the docstring
        line = (getattr(cls, name).__doc__ or "").split("\n")[0]
        inner = line[line.index("(") + 1 : line.rindex(")")]
        out = [p.split(":")[0].strip() for p in inner.split(",") if p.strip()]
        return [p for p in out if p != "self"]
    sig = inspect.signature(getattr(cls, name))
    return [p for p in sig.parameters if p != "self"]


def _fuzz(data: st.DataObject, cls: type, make, args: dict, core_doc: bool) -> None:
    name = data.draw(st.sampled_from(_public(cls)), label="method")
    params = _parameters(cls, name, core_doc)
    kwargs = {}
    for p in params:
        kwargs[p] = data.draw(st.one_of(args.get(p, JUNK), JUNK), label=p)
    target = cls if name == "__init__" else getattr(make(), name)
    fields = tuple(params)
    if {"rule", "rules"} & set(params):  # a rule's dict: its keys are fields too
        fields += tuple(f.name for f in dc.fields(MarginRule))
    try:
        target(**kwargs)
    except Exception as err:
        _named(err, fields)


FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.data())
def test_fuzz_order_book(data: st.DataObject) -> None:
    _fuzz(data, dl.OrderBook, _book, BOOK_ARGS, core_doc=True)


@FUZZ
@given(st.data())
def test_fuzz_margin_engine(data: st.DataObject) -> None:
    _fuzz(data, MarginEngine, _engine, ENGINE_ARGS, core_doc=False)


RULES = [margin_rule(MarginRule())] * 2
CORE_ARGS = {
    **ENGINE_ARGS,
    "tick_values": st.lists(st.floats(0, 10), min_size=1, max_size=3),
    "rules": st.sampled_from(
        [RULES, RULES[:1], [margin_rule(MarginRule(maintenance_rate=0.02))] * 2]
    ),
    "rule": st.sampled_from(
        [margin_rule(MarginRule()), {}, margin_rule(MarginRule(maker_fee_rate=0.001))]
    ),
    "marks": _arrays(np.int64, 1, 3_000),
    "index_prices": _arrays(np.int64, 1, 3_000),
    "cash": _arrays(float, 0, 1e6),
    "instrument": st.integers(-1, 2) | _arrays(np.uint16, 0, 2),
    "position": _arrays(np.int64, -3, 3),
    "entry_price": _arrays(float, 0, 2_000),
    "mode": _arrays(np.uint8, 0, 2),
    "population": _arrays(np.uint16, 0, 3),
    "mark": st.sampled_from(["last", "mid", "median", "close"]),
    "book": st.sampled_from([None, "book", dl.OrderBook(), dl.OrderBook(track_owners=True)]),
}


def _core_engine() -> _core.MarginEngine:
    engine = _core.MarginEngine([1.0, 1.0], RULES)
    engine.add_accounts(
        np.array([1_000.0]),
        np.array([0], np.uint16),
        np.array([1, 0]),
        np.array([100.0, 0.0]),
        np.array([0], np.uint8),
        np.array([0], np.uint16),
    )
    return engine


@FUZZ
@given(st.data())
def test_fuzz_core_margin_engine(data: st.DataObject) -> None:
    _fuzz(data, _core.MarginEngine, _core_engine, CORE_ARGS, core_doc=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"messages": "x"}, TypeError, r"^messages: must be an int, got str"),
        ({"messages": -1}, ValueError, r"^messages: must be in 0\.\.4294967295, got -1"),
        ({"messages": 2**64}, ValueError, r"^messages: must be in 0\.\.4294967295"),
        ({"messages": 10, "seed": -1}, ValueError, r"^seed: must be in 0\.\."),
        ({"messages": 10, "start_price": 2**63}, ValueError, r"^start_price: must be in 1\.\."),
        ({"messages": 10, "limit_share": "a"}, TypeError, r"^limit_share: must be a number"),
        (
            {"messages": 10, "max_qty": 0},
            ValueError,
            r"^max_qty: must be in 1\.\.1099511627776 lots",
        ),
        ({"messages": 10, "owners": True}, TypeError, r"^owners: must be an int, got bool"),
        ({"messages": 10, "half_width": None}, TypeError, r"^half_width: must be an int"),
    ],
)
def test_message_stream_arguments_name_the_field(
    kwargs: dict[str, object], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        _core.generate_message_stream(**kwargs)
