"""Servers for offline development and tests that speak a remote service's real protocol on loopback.

* :mod:`durableml.devtools.databricks_jobs`: a Databricks Jobs API (runs/submit, runs/get, runs/get-output,
  runs/cancel) and DBFS API server that runs the submitted tasks with a local Spark (``local[*]``).
"""
