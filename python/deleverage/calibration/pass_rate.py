"""How sure a verdict over seeds is: a target's pass rate, and a change's effect on it.

A target met in ``k`` of ``n`` seeds says the world's pass rate (the share of
all seeds it would pass in) is about ``k / n``, with the binomial's sampling
noise around it. Four numbers measure that noise:

- ``pass_rate_interval``: the exact (Clopper-Pearson) interval of the pass
  rate at a confidence level;
- ``shortfall_p_value``: how often a world whose pass rate is exactly the
  share a target asks for would pass in ``k`` of ``n`` seeds or fewer. A miss
  with a large one (say above 0.05) could be the seeds' luck; a small one is
  the world's. With 32 seeds and a share of 0.875, a world exactly at the
  share passes in 28 or more only 63% of the time;
- ``share_met_probability``: how likely the pass rate is at least the share,
  given the seeds seen (a uniform prior on the rate): the chance the target
  is met by the world, not by these seeds. Summed over targets it is the
  number of targets a world can be expected to meet (``calibrate``'s
  ``select = "likely"``);
- ``change_p_value``: for two worlds on the same seeds (common random
  numbers), the exact McNemar test: of the seeds whose verdict differs, how
  lopsided the split between "passes only before" and "passes only after"
  would be by chance if the change did nothing.
"""

from __future__ import annotations

from scipy import stats

from deleverage.scenario.distributions import check_float, check_int

__all__ = ["change_p_value", "pass_rate_interval", "share_met_probability", "shortfall_p_value"]

#: The most seeds a validation runs (``validate.seed_list``).
MAX_SEEDS = 100_000


def pass_rate_interval(passed: int, seeds: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided interval of the pass rate of a target met
    in ``passed`` of ``seeds`` seeds, at ``confidence`` (in (0, 1))."""
    n = check_int("seeds", seeds, 1, MAX_SEEDS)
    k = check_int("passed", passed, 0, n)
    alpha = 1.0 - check_float("confidence", confidence, 0.0, 1.0, lo_open=True, hi_open=True)
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2.0, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1.0 - alpha / 2.0, k + 1, n - k))
    return low, high


def shortfall_p_value(passed: int, seeds: int, share: float) -> float:
    """The chance that a world passing in exactly ``share`` (in (0, 1]) of all seeds
    passes in ``passed`` of ``seeds`` or fewer: one-sided, small when the world is
    short of the share."""
    n = check_int("seeds", seeds, 1, MAX_SEEDS)
    k = check_int("passed", passed, 0, n)
    p = check_float("share", share, 0.0, 1.0, lo_open=True)
    return float(min(1.0, stats.binom.cdf(k, n, p)))


def share_met_probability(passed: int, seeds: int, share: float) -> float:
    """The probability that the pass rate is at least ``share`` (in (0, 1]) for a
    target met in ``passed`` of ``seeds`` seeds, under a uniform prior on the rate:
    the upper tail of Beta(passed + 1, seeds - passed + 1) from ``share``."""
    n = check_int("seeds", seeds, 1, MAX_SEEDS)
    k = check_int("passed", passed, 0, n)
    p = check_float("share", share, 0.0, 1.0, lo_open=True)
    return float(stats.beta.sf(p, k + 1, n - k + 1))


def change_p_value(before_only: int, after_only: int) -> float:
    """Exact two-sided McNemar test of a change judged on the same seeds:
    ``before_only`` seeds pass only before it, ``after_only`` only after. 1.0 when
    no seed's verdict differs."""
    b = check_int("before_only", before_only, 0, MAX_SEEDS)
    c = check_int("after_only", after_only, 0, MAX_SEEDS - b)
    if b + c == 0:
        return 1.0
    # Both tails of Binomial(b + c, 1/2) as far out as the split seen.
    return float(min(1.0, 2.0 * stats.binom.cdf(min(b, c), b + c, 0.5)))
