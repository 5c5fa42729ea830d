"""Side-by-side benchmark of durableml against peer workflow engines (issue 19): ``python -m bench.peers``.

See :mod:`bench.peers.run` for what it measures and how.
"""
