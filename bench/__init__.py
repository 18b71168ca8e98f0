"""audian-async benchmarks: ``python -m bench`` (or ``nox -s bench``) writes ``bench/RESULTS.md``.

Modules: ``server`` (the fast loopback server), ``clients`` (throughput workloads),
``memory`` (listing iteration), ``bulk`` (the bulk runner), ``profile`` (cProfile or
pyinstrument of the SDK's per-request path), ``run`` (the suite, targets and report).
"""
