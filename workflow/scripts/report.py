"""report: results.csv, summary.json, report.md, Pareto figures and plot data from every metric."""
from compressbench import runner


def main(smk, threads):
    from compressbench import matrix, report

    params = dict(smk.params.items())
    histories = {key: matrix.history(params, *key) for key in matrix.base_models(params)}
    if set(histories.values()) != set(smk.input.histories):
        raise RuntimeError("the report's history inputs (report.smk) differ from matrix.history's paths")
    report.build(list(smk.input.metrics), list(smk.input.records), list(smk.input.facts),
                 smk.input.reference, params, out_dir="reports",
                 sensitivity=list(smk.input.sensitivity), histories=histories)


runner.run(snakemake, main)  # noqa: F821
