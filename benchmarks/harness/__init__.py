"""The measurements of benchmarks/measure.py, one module each, and their one renderer.

Each measurement returns rows (dicts or small dataclasses) and builds the
render.Section that shows them; render.write turns the sections into
reports/benchmarks.md and benchmarks.csv. Job paths come from the rule table
(compressbench.rules), job counts from Snakemake's own dry runs."""
