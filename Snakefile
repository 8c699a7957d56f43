# compressbench: the fine-grained DAG. `dvc.yaml` runs its eight phase targets.
import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")

# Jobs import the library from this checkout, installed or not.
_src = os.path.join(workflow.basedir, "src")
sys.path.insert(0, _src)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_src, os.environ.get("PYTHONPATH")]))
from compressbench import matrix as M, params as P, stages as S

configfile: "params.yaml"

# Duplicate keys are invisible once YAML is parsed: check the files themselves.
for _f in workflow.overwrite_configfiles or ["params.yaml"]:
    P.load_yaml(_f)
P.validate(config)  # messages name the key and the allowed values
validate(config, "workflow/schemas/params.schema.yaml")

# Every job claims `cpus` equal to its threads (profiles/default), and there
# are only as many as the machine has (unless --resources cpus=N says otherwise): `--cores 4` on a
# 2-core machine then runs two 1-thread jobs, never four threads on 2 cores.
# One thread per job is the fastest use of a small CPU (two 1-thread trainings
# beat one 2-thread training); raise it per rule with --set-threads.
if "cpus" not in workflow.global_resources:
    workflow.register_resource("cpus", os.cpu_count() or 1)

# Snakemake's default job-rate limit (100 jobs per 1 s) re-runs job selection
# every second while jobs wait for a core: input stats, param re-evaluation and
# the ILP over every ready job, ~30 % of one core on this DAG, taken from the two
# jobs running. Local jobs need no rate limit, so locally the scheduler wakes only
# when a job ends; cluster executors keep theirs. (onstart runs after the
# scheduler exists and before it schedules anything.)
onstart:
    if workflow.local_exec and getattr(workflow, "scheduler", None) is not None:
        workflow.scheduler.job_rate_limiter = None

for _dirs in S.PHASE_DIRS.values():
    for _d in _dirs:
        os.makedirs(_d, exist_ok=True)

wildcard_constraints:
    dataset="mnist|cifar10",
    seed=r"\d+",
    base=r"[a-z0-9-]+",
    prune=r"[a-z0-9-]+",
    quant=r"[a-z0-9-]+",


def params_of(rule, **fixed):
    """The rule's params from stages.RULES: Snakemake reruns a job when one changes."""
    def value(template):
        return lambda w: S.resolve(config, template, {**dict(w.items()), **fixed})
    return {name: value(t) for name, t in S.RULES[rule].params.items()}


def code_of(rule):
    return S.code_for(rule)


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
