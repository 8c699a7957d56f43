"""report: results.csv, summary.json, report.md, Pareto figures and plot data from every metric."""
from compressbench import runner


def main(smk, threads):
    from compressbench import report

    report.build(list(smk.input.metrics), list(smk.input.records), list(smk.input.facts),
                 smk.input.reference, dict(smk.params.items()), out_dir="reports",
                 sensitivity=list(smk.input.sensitivity))


runner.run(snakemake, main)  # noqa: F821
