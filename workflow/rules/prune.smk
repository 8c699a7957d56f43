# Phase `prune`: every base model pruned with every scheme of the matrix, then
# (in the cells that have one) weight-clustered.

PRUNE_SCHEMES = M.prune_schemes(config)
CLUSTER_SCHEMES = M.cluster_schemes(config)


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


if CLUSTER_SCHEMES:

    rule cluster:
        input:
            model=lambda w: M.base_model(config, w.dataset, w.seed, w.base, w.prune, w.ft),  # unclustered
            data=M.prepared("{dataset}"),
            code=R.RULES["cluster"].code_files,
        output:
            **R.RULES["cluster"].outputs,
        wildcard_constraints:
            prune="|".join(["none", *PRUNE_SCHEMES]),
            cluster="|".join(CLUSTER_SCHEMES),
        params:
            **params_of("cluster"),
        log:
            R.RULES["cluster"].log,
        benchmark:
            R.RULES["cluster"].benchmark
        threads: 1
        script:
            script_of("cluster")


rule phase_prune:
    input:
        [M.cell_model(config, c) for c in CELLS if c.compressed],
