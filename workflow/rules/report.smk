# Phase `report`: results.csv, summary.json, report.md and figures from every metric.

DATASETS = config["matrix"]["datasets"]
REPORT = R.RULES["report"].outputs
FIGURES = expand(REPORT["figure"], dataset=DATASETS)
TRADEOFFS = expand(REPORT["tradeoff"], dataset=DATASETS)
SENSITIVITIES = expand(REPORT["sensitivity"], dataset=DATASETS)
PLOTS = expand(REPORT["plot"], dataset=DATASETS) + expand(REPORT["tradeoff_plot"], dataset=DATASETS)
TABLES = expand(REPORT["sensitivity_table"], dataset=DATASETS)


def job_records():
    """The records of the training, pruning and export jobs (their wall times are reported)."""
    out = [M.record(M.base_model(config, ds, seed, b)) for ds, seed, b in M.base_models(config)]
    for c in M.cells(config):
        if c.compressed:
            out.append(M.record(M.cell_model(config, c)))
        out.append(M.record(M.cell_tflite(c)))
    return sorted(set(out))


rule report:
    input:
        metrics=[M.cell_metrics(c) for c in M.cells(config)],
        # Predicted labels beside each metrics file: agreement with the uncompressed model.
        predictions=[M.cell_predictions(c) for c in M.cells(config)],
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
        sensitivities=[report(f, category="Per-layer sensitivity", caption="../report/sensitivity.rst")
                       for f in SENSITIVITIES],
        temperature=report(REPORT["temperature"], category="Knowledge distillation", caption="../report/temperature.rst"),
        temperature_plot=REPORT["temperature_plot"],
    params:
        **params_of("report"),
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
        SENSITIVITIES, TABLES, REPORT["temperature"], REPORT["temperature_plot"],
