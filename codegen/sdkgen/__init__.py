"""The steps of ``codegen/generate.py``: parse a spec, build views, render, format, compare."""
