"""Tests of the compute plane (durableml.compute) and the step runner (durableml.runner)."""
