"""The sort that orders each step's due accounts (a counting sort by bytes, with a
comparison sort for short lists) against numpy's sort: the same keys in the same
order, so the step's order and every run built on it do not depend on which sort
ran."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import _core

KEY = st.integers(min_value=0, max_value=2**64 - 1)


def _keys(draws: list[int], accounts: list[int]) -> np.ndarray:
    """Shuffle keys as the engine makes them: a 32-bit draw above, the account below."""
    return np.array([(d << 32) | a for d, a in zip(draws, accounts, strict=True)], dtype=np.uint64)


@settings(max_examples=80, deadline=None)
@given(st.lists(KEY, max_size=600))
def test_any_keys_sort_as_numpy_sorts_them(keys: list[int]) -> None:
    a = np.array(keys, dtype=np.uint64)
    np.testing.assert_array_equal(_core.shuffle_sort(a), np.sort(a))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3000),
    st.integers(0, 2**24 - 1),
    st.data(),
)
def test_step_shaped_keys_sort_as_numpy_sorts_them(
    draws: list[int], top: int, data: st.DataObject
) -> None:
    # Accounts under 2^24 share their high bytes (passes the counting sort skips);
    # repeated draws make ties that the account breaks.
    accounts = data.draw(
        st.lists(
            st.integers(0, max(top, len(draws))),
            min_size=len(draws),
            max_size=len(draws),
            unique=True,
        )
    )
    repeat = data.draw(st.booleans())
    if repeat:
        draws = [d % 7 for d in draws]
    k = _keys(draws, accounts)
    np.testing.assert_array_equal(_core.shuffle_sort(k), np.sort(k))


@pytest.mark.parametrize("n", [0, 1, 127, 128, 129, 5000, 100_000])
def test_sizes_around_the_switch_between_sorts(n: int) -> None:
    rng = np.random.default_rng(n)
    k = rng.integers(0, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + rng.integers(
        0, 2, size=n, dtype=np.uint64
    )
    np.testing.assert_array_equal(_core.shuffle_sort(k), np.sort(k))


def test_keys_equal_in_every_byte_but_one() -> None:
    # Seven of the eight byte passes have a single value and are skipped.
    k = (np.arange(256, dtype=np.uint64)[::-1] << np.uint64(40)) | np.uint64(0x1234)
    np.testing.assert_array_equal(_core.shuffle_sort(k), np.sort(k))
    same = np.full(1000, 0xDEADBEEF, dtype=np.uint64)
    np.testing.assert_array_equal(_core.shuffle_sort(same), same)


def test_keys_must_be_a_one_dimensional_array_of_unsigned_integers() -> None:
    with pytest.raises(ValueError, match="keys: must be one-dimensional, got 2 dimensions"):
        _core.shuffle_sort(np.zeros((2, 3), dtype=np.uint64))
    # Nothing is cast into a key: floats (NaN among them) and negative integers are refused.
    for bad in ("keys", np.array([1.0, np.nan]), np.array([-1, 2], dtype=np.int64)):
        with pytest.raises(TypeError, match="keys"):
            _core.shuffle_sort(bad)
    assert len(_core.shuffle_sort(np.array([], dtype=np.uint64))) == 0
