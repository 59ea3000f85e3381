"""Success-rate statistics: the Wilson score interval and two-proportion tests (no SciPy needed).

Success rates from tens of episodes are far from normal near 0 and 1, where agents often are; the Wilson
interval stays inside [0, 1] and keeps its coverage there (Brown, Cai & DasGupta 2001). Two policies are
compared per task with the pooled two-proportion z-test and, because counts are small, Fisher's exact
test beside it.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion: (lo, hi); (0, 1) when n == 0.

    centre = (p + z^2/2n) / (1 + z^2/n),  half = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)"""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends (rounding leaves ~1e-17)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of p1 == p2: (z, two-sided p-value). z > 0 when p2 > p1.

    z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)),  p = (k1 + k2) / (n1 + n2)"""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:  # both all-success or both all-failure: no evidence of a difference
        return 0.0, 1.0
    z = (k2 / n2 - k1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table [[k1, n1-k1], [k2, n2-k2]]: the total
    probability of tables with the same margins that are no more likely than the observed one."""
    total, successes = n1 + n2, k1 + k2
    if n1 == 0 or n2 == 0:
        return 1.0
    denom = math.comb(total, successes)

    def prob(a: int) -> float:  # P(first row has `a` successes) under the hypergeometric law
        return math.comb(n1, a) * math.comb(n2, successes - a) / denom

    observed = prob(k1)
    lo, hi = max(0, successes - n2), min(n1, successes)
    return min(1.0, sum(p for a in range(lo, hi + 1) if (p := prob(a)) <= observed * (1 + 1e-9)))
