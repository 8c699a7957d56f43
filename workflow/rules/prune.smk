# Phase `prune`: every base model pruned with every scheme of the matrix.

PRUNE_SCHEMES = M.prune_schemes(config)


if PRUNE_SCHEMES:

    rule prune:
        input:
            model=lambda w: M.base_model(config, w.dataset, w.seed, w.base),
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
        [M.cell_model(config, c) for c in M.cells(config) if c.prune != "none"],
