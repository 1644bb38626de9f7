"""Exact Shapley values and pairwise Shapley interaction indices of a set function.

The causes of a crash are ``k`` factors; a world is the set of causes present
in it, coded as a bitmask ``m`` (bit ``i`` set: cause ``i`` present). ``v`` holds
a metric for every one of the ``2**k`` worlds (``v[m]``, any trailing shape:
seeds, metrics). Then, with ``N`` the set of causes,

- the Shapley value of cause ``i`` is
  ``phi_i = sum_{S in N - {i}} |S|! (k - |S| - 1)! / k! * (v(S + {i}) - v(S))``:
  the average over every order in which the causes could be added of what
  adding ``i`` changed. They add up exactly to ``v(N) - v({})`` (efficiency):
  the whole of the move from the world with no cause to the world with all;
- the Shapley interaction index of causes ``i`` and ``j`` is
  ``I_ij = sum_{S in N - {i, j}} |S|! (k - |S| - 2)! / (k - 1)! * D_ij(S)``
  with ``D_ij(S) = v(S + {i, j}) - v(S + {i}) - v(S + {j}) + v(S)``: how much
  more the two do together than apart (0 for causes that simply add up).

Both are linear in ``v``, so the values of the mean over seeds are the mean of
the per-seed values.
"""

from __future__ import annotations

from math import factorial

import numpy as np

__all__ = ["interaction_indices", "shapley_values", "subset_size"]


def subset_size(k: int) -> np.ndarray:
    """The number of causes present in each of the ``2**k`` worlds."""
    masks = np.arange(1 << k)
    return np.array([bin(int(m)).count("1") for m in masks], dtype=np.int64)


def _check(v: np.ndarray) -> int:
    n = int(v.shape[0])
    k = n.bit_length() - 1
    if n < 2 or (1 << k) != n:
        raise ValueError(f"v: needs 2**k rows (one per world), k >= 1; got {n}")
    return k


def shapley_values(v: np.ndarray) -> np.ndarray:
    """``phi`` (k, ...) of the set function ``v`` (2**k, ...): see the module's docstring."""
    values = np.asarray(v, dtype=np.float64)
    k = _check(values)
    size = subset_size(k)
    weight = np.array(
        [factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)], dtype=np.float64
    )
    phi = np.zeros((k, *values.shape[1:]), dtype=np.float64)
    masks = np.arange(1 << k)
    for i in range(k):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        w = weight[size[without]].reshape(-1, *([1] * (values.ndim - 1)))
        phi[i] = np.sum(w * (values[without | bit] - values[without]), axis=0)
    return phi


def interaction_indices(v: np.ndarray) -> np.ndarray:
    """``I`` (k, k, ...) of the set function ``v`` (2**k, ...); the diagonal is 0."""
    values = np.asarray(v, dtype=np.float64)
    k = _check(values)
    out = np.zeros((k, k, *values.shape[1:]), dtype=np.float64)
    if k < 2:
        return out
    size = subset_size(k)
    weight = np.array(
        [factorial(s) * factorial(k - s - 2) / factorial(k - 1) for s in range(k - 1)],
        dtype=np.float64,
    )
    masks = np.arange(1 << k)
    for i in range(k):
        for j in range(i + 1, k):
            bi, bj = 1 << i, 1 << j
            rest = masks[(masks & (bi | bj)) == 0]
            w = weight[size[rest]].reshape(-1, *([1] * (values.ndim - 1)))
            d = values[rest | bi | bj] - values[rest | bi] - values[rest | bj] + values[rest]
            out[i, j] = out[j, i] = np.sum(w * d, axis=0)
    return out
