# Phase `report`: results.csv, summary.json, report.md and figures from every metric.

from compressbench import report_files as RF

DATASETS = config["matrix"]["datasets"]
REPORT = R.RULES["report"].outputs
# Per dataset-pattern file, the datasets the report writes it for: a figure only where the
# params run what it shows (no sensitivity without sensitivity.bases, no trade-off curves
# without a pruning sweep), decided from the params as the report decides (RF.written).
WRITTEN = RF.written(config)
FIGURES = expand(REPORT["figure"], dataset=WRITTEN["figure"])
TRADEOFFS = expand(REPORT["tradeoff"], dataset=WRITTEN["tradeoff"])
BUDGETS = expand(REPORT["budget"], dataset=WRITTEN["budget"])
SENSITIVITIES = expand(REPORT["sensitivity"], dataset=WRITTEN["sensitivity"])
PLOTS = [p for key in ("plot", "tradeoff_plot", "budget_plot") for p in expand(REPORT[key], dataset=WRITTEN[key])]
TABLES = expand(REPORT["sensitivity_table"], dataset=WRITTEN["sensitivity_table"])


def job_records():
    """The records of the training, pruning and export jobs (their wall times are reported)."""
    out = [M.record(M.base_model(config, ds, seed, b)) for ds, seed, b in M.base_models(config)]
    for c in CELLS:
        if c.compressed:
            out.append(M.record(M.cell_model(config, c)))
        out.append(M.record(M.cell_tflite(c)))
    return sorted(set(out))


rule report:
    input:
        metrics=[M.cell_metrics(c) for c in CELLS],
        # Predicted labels beside each metrics file: agreement with the uncompressed model.
        predictions=[M.cell_predictions(c) for c in CELLS],
        sensitivity=sensitivity_tables(),
        records=job_records(),
        # Per-epoch histories: validation sweeps (params `derived`) are ranked by them.
        histories=[M.history(config, ds, seed, b) for ds, seed, b in M.base_models(config)],
        facts=expand(M.record(M.prepared("{dataset}")), dataset=DATASETS),
        reference=R.REFERENCE,
        code=R.RULES["report"].code_files,
    output:
        # Shown by `snakemake --report report.html`, like the figures.
        results=report(REPORT["results"], category="Results", caption="../report/results.rst"),
        variants=REPORT["variants"],
        summary=REPORT["summary"],
        report=REPORT["report"],
        plots=PLOTS,
        sensitivity_tables=TABLES,
        # Shown by `snakemake --report report.html`.
        figures=[report(f, category="Accuracy vs size", caption="../report/pareto.rst") for f in FIGURES],
        tradeoffs=[report(f, category="Trade-off curves", caption="../report/tradeoff.rst") for f in TRADEOFFS],
        budgets=[report(f, category="Fine-tune budget", caption="../report/budget.rst") for f in BUDGETS],
        sensitivities=[report(f, category="Per-layer sensitivity", caption="../report/sensitivity.rst")
                       for f in SENSITIVITIES],
        temperature=report(REPORT["temperature"], category="Knowledge distillation", caption="../report/temperature.rst"),
        temperature_plot=REPORT["temperature_plot"],
    params:
        **params_of("report"),
        # The cells left out because a technique refused them (Snakefile, refused.py): listed.
        refused=REFUSED,
    log:
        R.RULES["report"].log,
    benchmark:
        R.RULES["report"].benchmark
    threads: 1
    script:
        script_of("report")


rule phase_report:
    input:
        REPORT["results"], REPORT["variants"], REPORT["summary"], REPORT["report"], FIGURES, PLOTS, TRADEOFFS,
        BUDGETS, SENSITIVITIES, TABLES, REPORT["temperature"], REPORT["temperature_plot"],
