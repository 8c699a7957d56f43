# Phase `report`: results.csv, summary.json, report.md and figures from every metric.

REPORT = ["reports/results.csv", "reports/summary.json", "reports/report.md"]
FIGURES = expand("reports/figures/{dataset}-pareto.png", dataset=config["matrix"]["datasets"])
PLOTS = expand("reports/plots/{dataset}.csv", dataset=config["matrix"]["datasets"])


def stage_metrics():
    """The training/pruning/conversion records whose wall times the report shows."""
    out = []
    for ds in config["matrix"]["datasets"]:
        for seed in config["seeds"]:
            for b in M.needed_bases(config):
                out.append(M.record(M.model(ds, seed, b)))
    for c in M.cells(config):
        if c.prune != "none":
            out.append(M.record(M.model(c.dataset, c.seed, c.base, c.prune)))
        out.append(M.record(M.tflite(c.dataset, c.seed, c.base, c.prune, c.quant)))
    return sorted(set(out))


rule report:
    input:
        metrics=rules.phase_evaluate.input,
        stages=stage_metrics(),
        facts=expand(M.record(M.prepared("{dataset}")), dataset=config["matrix"]["datasets"]),
        reference="reports/reference/arxiv-2305.08075.yaml",
        code=code_of("report"),
    output:
        REPORT + PLOTS,
        # Shown by `snakemake --report report.html`.
        [report(f, category="Accuracy vs size", caption="../report/pareto.rst") for f in FIGURES],
    params:
        **params_of("report"),
    log:
        "logs/report/report.log",
    benchmark:
        "logs/report/report.bench.tsv"
    threads: 1
    script:
        "../scripts/report.py"


rule phase_report:
    input:
        REPORT + FIGURES + PLOTS,
