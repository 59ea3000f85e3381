"""Benchmark harness: suites with held-out seeds, `agentrl eval` results with confidence intervals,
comparisons, the HTML trajectory viewer and plots."""
