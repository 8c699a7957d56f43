"""What the report phase writes, and the study's figures it reads: the report's own
layout, which the rule table (its outputs) and the report (its writer) both read."""

REFERENCE = "reports/reference/arxiv-2305.08075.yaml"  # the study's published figures
REPORT_FILES = {"results": "reports/results.csv", "variants": "reports/variants.csv",
                "summary": "reports/summary.json",
                "report": "reports/report.md", "figure": "reports/figures/{dataset}-pareto.png",
                "tradeoff": "reports/figures/{dataset}-tradeoff.png",
                "sensitivity": "reports/figures/{dataset}-sensitivity.png",
                "sensitivity_table": "reports/sensitivity/{dataset}.csv",
                "plot": "reports/plots/{dataset}.csv", "tradeoff_plot": "reports/plots/{dataset}-tradeoff.csv",
                "temperature": "reports/figures/temperature.png", "temperature_plot": "reports/plots/temperature.csv"}
