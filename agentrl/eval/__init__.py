"""Benchmark harness: the one evaluation path (plans.py: which episodes; episodes.py: play them locally or
on Ray; results.py: per-task success with Wilson intervals), suites with held-out seeds, `agentrl eval`
results, comparisons, the HTML trajectory viewer and plots."""
