# Phase `prune`: every base model pruned with every scheme of the matrix.

PRUNE_SCHEMES = [p for p in config["matrix"]["prune"] if p != "none"]


if PRUNE_SCHEMES:

    rule prune:
        input:
            model=lambda w: M.model(w.dataset, w.seed, w.base),
            data=M.prepared("{dataset}"),
            code=R.RULES["prune"].code_files,
        output:
            **R.RULES["prune"].outputs,
        wildcard_constraints:
            prune="|".join(PRUNE_SCHEMES),
        params:
            **params_of("prune"),
        log:
            R.RULES["prune"].log,
        benchmark:
            R.RULES["prune"].benchmark
        threads: 1
        script:
            script_of("prune")


rule phase_prune:
    input:
        [M.model(c.dataset, c.seed, c.base, c.prune) for c in M.cells(config) if c.prune != "none"],
