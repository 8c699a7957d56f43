# Phase `prune`: every base model pruned with every scheme of the matrix.

PRUNE_SCHEMES = [p for p in config["matrix"]["prune"] if p != "none"]


rule prune:
    input:
        model=lambda w: M.model(w.dataset, w.seed, w.base),
        data=M.prepared("{dataset}"),
        code=code_of("prune"),
    output:
        model=M.model("{dataset}", "{seed}", "{base}", "{prune}"),
        metrics=M.record(M.model("{dataset}", "{seed}", "{base}", "{prune}")),
    wildcard_constraints:
        prune="|".join(PRUNE_SCHEMES) or "^$",
    params:
        **params_of("prune"),
    log:
        "logs/prune/{dataset}/s{seed}/{base}+{prune}.log",
    benchmark:
        "logs/prune/{dataset}/s{seed}/{base}+{prune}.bench.tsv"
    threads: 1
    script:
        "../scripts/prune.py"


rule phase_prune:
    input:
        [M.model(c.dataset, c.seed, c.base, c.prune) for c in M.cells(config) if c.prune != "none"],
