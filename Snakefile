# compressbench: the fine-grained DAG. Every rule's phase, script, code, params,
# outputs, log and benchmark come from one table, src/compressbench/rules.py;
# dvc.yaml, generated from the same table, runs the eight phase targets.
import os
import re
import sys

from snakemake.utils import min_version

from compressbench import eta, fingerprints, matrix as M, params as P, refused, rules as R, workspace
from compressbench import decode as DC
from compressbench.catalog import datasets as D

min_version("9.0")

# A refusal is its message alone: an exception raised here would be printed with
# Snakemake's frame lines of this file after it.
if (_dvc := workspace.dvc_writer()) is not None:
    sys.exit(f"`{_dvc}` is running in this workspace ({workspace.DVC_RWLOCK}): "
             "wait for it to finish or stop it, then run snakemake again")
# What a killed job (SIGKILL, power cut) left half-written: removed before anything runs.
workspace.sweep_partials()


def checked(load, *args, errors=P.ParamsError):
    try:
        return load(*args)
    except errors as exc:
        sys.exit(str(exc))


# Jobs' code inputs are fingerprints of what their modules do (workflow/fingerprints/),
# brought up to date before any job is judged and rewritten only when they change:
# a comment or docstring edit reruns nothing, a behaviour change reruns its jobs.
checked(fingerprints.refresh, R.code_modules(), errors=fingerprints.FingerprintError)


# The project's loader reads params.yaml before Snakemake's does: it refuses
# duplicate keys (YAML keeps the last one silently) and documents that expand
# past a bound (an alias bomb), naming the key.
checked(P.load_yaml, "params.yaml")


configfile: "params.yaml"


def command_line_configfiles():
    """The files given with --configfile. Snakemake has no documented accessor;
    this attribute (Snakemake 9.27, pinned) is read here only, and a missing one
    means none are checked beyond Snakemake's own parse."""
    return list(getattr(workflow, "overwrite_configfiles", None) or [])


for _f in command_line_configfiles():
    checked(P.load_yaml, _f)
# Snakemake parses --config values itself (plain PyYAML: an alias is a shared object,
# free to build and a bomb to walk); bound what they expand to before anything walks them.
checked(P.check_size, config, "--config")
# --config values arrive as strings where the schema wants numbers or lists:
# coerce them by the schema, expand the sweeps, then one validation whose messages
# name the key; jobs read the resolved config (with each base model's protocol).
_resolved = checked(P.resolve, config, ["params.yaml", *command_line_configfiles()])
config.clear()
config.update(_resolved)


# The plan: every cell of the params but those a technique refused in an earlier job
# (refused.py: recorded beside that job's log; the report lists them).
CELLS, REFUSED = refused.split(M.cells(config), refused.records())
if (_line := refused.announce(REFUSED)) is not None:
    print(_line, file=sys.stderr)


# Every core this run may use (--cores): the latency job holds them all (evaluate.smk)
# and the ETA divides by them. A cluster executor's run has no such total, neither where
# it submits jobs nor inside a job (whose --cores are the node's, not what it was granted).
from snakemake.exceptions import WorkflowError

try:
    ALL_CORES = None if workflow.non_local_exec or workflow.remote_exec else workflow.cores
except WorkflowError:
    ALL_CORES = None


wildcard_constraints:
    dataset="|".join(re.escape(ds) for ds in D.names(config)),
    seed=r"\d+",
    ft=r"\d+",
    base=r"[a-z0-9.-]+",
    prune=r"[a-z0-9.-]+",
    cluster=r"[a-z0-9.-]+",
    quant=r"[a-z0-9.-]+",


# Snakemake's job-rate limit (default 100 jobs/1 s) schedules a re-selection one
# timespan after every job selection, and each re-selection schedules the next:
# after N finished jobs, N timers fire every timespan, so selection runs grow with
# the run (49,320 for 159 jobs in the tests' matrix). A longer timespan keeps the
# process alive that long after the last job (a non-daemon timer). No documented
# setting turns it off (benchmarks/README.md has the measurements), so local runs
# drop it here; this is the one Snakemake internal the workflow writes, guarded,
# on the pinned Snakemake 9.27 (upstream: snakemake/snakemake#3744, open, the loop
# re-run on every job's end). Cluster executors keep their limit.
onstart:
    if workflow.local_exec and getattr(workflow, "scheduler", None) is not None:
        workflow.scheduler.job_rate_limiter = None
    # An ETA line under each progress line, projected from the last run's seconds (eta.py);
    # a run without a total of cores has nothing to project onto: none.
    if ALL_CORES is not None:
        eta.install(config, ALL_CORES)


# Every phase has its folders, which DVC records as the phase's outputs, even when
# the matrix gives it no jobs; made after a successful run only (never by a dry run,
# nor by one refused by validation).
onsuccess:
    for _phase in R.PHASES:
        for _folder in R.folders_of(_phase):
            os.makedirs(_folder, exist_ok=True)


def params_of(rule):
    """The rule's params, each the value at a path into the config (wildcards filled
    in): a job reruns when the value it reads changes (Snakemake's params rerun
    trigger). Snakemake's `lookup` does the same, but its dpath search walks the whole
    config for every job (5 s of a dry run of the default matrix)."""
    def at(dpath):
        if "{" not in dpath:
            return R.value_at(config, dpath)
        return lambda w: R.value_at(config, dpath.format(**w))
    return {name: at(dpath) for name, dpath in R.RULES[rule].params.items()}


def sensitivity_tables():
    """The analyses of `sensitivity.bases` on the models this run trains: a base the matrix
    does not train on a dataset (e.g. after narrowing matrix.bases) is not analysed there."""
    trained = {(ds, b) for ds, _, b in M.base_models(config)}
    return [M.sensitivity(ds, config["seeds"][0], b) for ds in config["matrix"]["datasets"]
            for b in config["sensitivity"]["bases"] if (ds, b) in trained]


def script_of(rule):
    return f"../scripts/{R.RULES[rule].script}.py"  # relative to workflow/rules/


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/prune.smk"
include: "workflow/rules/quantize.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.phase_report.input,
