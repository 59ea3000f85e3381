"""Interval and tests against values computed independently (R: binom::binom.wilson, prop.test without
continuity correction, fisher.test)."""

from __future__ import annotations

import math

import pytest

from agentrl.eval.stats import fisher_exact, two_proportion_z, wilson


@pytest.mark.parametrize(
    "k,n,lo,hi",
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (1, 50, 0.0035, 0.1050)],
)
def test_wilson_matches_reference_values(k, n, lo, hi):
    got = wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_contains_the_rate_and_narrows_with_n():
    for k, n in [(3, 7), (30, 70), (300, 700)]:
        lo, hi = wilson(k, n)
        assert lo < k / n < hi
    assert wilson(300, 700)[1] - wilson(300, 700)[0] < wilson(3, 7)[1] - wilson(3, 7)[0]
    assert wilson(0, 0) == (0.0, 1.0)


def test_two_proportion_z_matches_prop_test():
    z, p = two_proportion_z(
        5, 20, 15, 20
    )  # prop.test(c(5,15), c(20,20), correct=FALSE): X2 = 10, p = 0.001565
    assert z == pytest.approx(math.sqrt(10.0), rel=1e-6)
    assert p == pytest.approx(0.001565, abs=2e-6)
    assert two_proportion_z(15, 20, 5, 20)[0] == pytest.approx(-z)
    assert two_proportion_z(20, 20, 10, 10) == (0.0, 1.0)  # no variance: no evidence


def test_fisher_exact_matches_fisher_test():
    assert fisher_exact(3, 4, 1, 4) == pytest.approx(0.4857, abs=1e-4)  # the lady tasting tea
    assert fisher_exact(1, 10, 11, 14) == pytest.approx(0.002759, abs=1e-5)
    assert fisher_exact(5, 10, 5, 10) == pytest.approx(1.0)
