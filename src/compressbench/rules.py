"""The rule table: for every Snakemake rule, its phase, script, library code,
params, outputs, log and benchmark.

The Snakefile builds each rule's tracked `params:` (values at paths into the config), code
inputs (the fingerprints of what its modules do), log and benchmark from it, so a job
reruns exactly when a value it reads or the behaviour of a module it runs changes;
`dvc.yaml` is generated from it
(`python -m compressbench.rules > dvc.yaml`), and the benchmarks read log and
benchmark paths from it."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from . import fingerprints
from . import matrix as M
from .report_files import REFERENCE, REPORT_FILES
from .catalog import datasets as D

# The eight phases, in DAG order, and the rules file (workflow/rules/<file>.smk)
# holding the rules of each.
PHASES = {
    "download": "data", "train_baseline": "train", "teacher_assistant": "train",
    "student_distill": "train", "prune": "prune", "quantize": "quantize",
    "evaluate": "evaluate", "report": "report",
}
# Every job runs through runner (logging, threads, the error line); __init__
# sets the TensorFlow environment (Keras 2, oneDNN) before TensorFlow loads.
RUNNER = ("__init__", "runner", "machine", "refusal")
# data reads the dataset catalog, which names each dataset's decoder.
DATA = ("data", "decode", "catalog.__init__", "catalog.datasets")
# The matrix reads the compression methods' traits from the catalog.
MATRIX = ("matrix", "catalog.__init__", "catalog.methods")
TRAIN = (*DATA, "io", *MATRIX, "models", "progress", "training")

CELL = "{dataset}/s{seed}/f{ft}/{base}/{prune}/{cluster}/{quant}"  # one .tflite
MODEL = "{dataset}/s{seed}/f{ft}/{base}/{prune}"                     # one pruned model
CLUSTERED = MODEL + "/{cluster}"                                     # one clustered model
# The phases that write base models: whatever reads "every base model" reads them all.
BASE_PHASES = tuple(dict.fromkeys(b.phase for b in M.BASES.values()))


@dataclass(frozen=True)
class Rule:
    name: str
    phase: str
    script: str                 # workflow/scripts/<script>.py
    job: str                    # pattern naming one job: its log and benchmark stem
    code: tuple[str, ...]       # modules of src/compressbench the script runs
    params: dict[str, str] = field(default_factory=dict)   # name in the script -> path into params
    outputs: dict[str, str] = field(default_factory=dict)  # name -> path pattern
    reads: tuple[str, ...] = ()  # phases whose artefacts its inputs are (dvc.yaml's deps)

    @property
    def log(self) -> str:
        return f"logs/{self.phase}/{self.name}/{self.job}.log"

    @property
    def benchmark(self) -> str:
        return f"logs/{self.phase}/{self.name}/{self.job}.bench.tsv"

    @property
    def script_file(self) -> str:
        return f"workflow/scripts/{self.script}.py"

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules of the package a job of this rule runs (dotted names)."""
        return (*RUNNER, *self.code)

    @property
    def code_files(self) -> list[str]:
        """The job's code inputs: its modules' fingerprints, not their sources, so a
        comment or docstring edit reruns nothing (compressbench.fingerprints). Its
        script stays a plain input: Snakemake reruns a `script:` rule whenever the
        script's time stamp moves, whatever its inputs say."""
        return [fingerprints.path(m) for m in self.modules]


def bases_of(rule: str, cfg: dict | None = None) -> list[str]:
    """The base models a training rule trains (its `{base}` wildcard's values), with
    the derived ones of `cfg`."""
    return [b for b, info in (M.bases(cfg) if cfg else M.BASES).items() if info.rule == rule]


# A job's protocol (params.resolve: train, distill and the derived base's overrides)
# is a lookup into the resolved config; DVC reads the keys it comes from.
PROTOCOL = "protocols/{dataset}/{base}"
STYLE = PROTOCOL + "/fine_tune"  # how the base's family fine-tunes (training.FINE_TUNE_STYLE)
PROTOCOL_SOURCES = ("train", "families", "matrix", "distill", "derived")
# A base model's architecture (params.resolve: the zoo's layers or an `architectures` entry).
ARCH = "archs/{dataset}/{base}"
# A dataset's facts from the catalog (params.resolve): shape, classes, a user's file and its pin.
DATASET = "datasets/{dataset}"
# Keys params.resolve adds to the config -> the params.yaml keys they come from (what DVC tracks).
RESOLVED = {"protocols": PROTOCOL_SOURCES, "sweeps": ("prune", "cluster", "quantize", "derived"),
            "archs": ("zoo", "architectures", "derived"), "datasets": ("data.local",)}


def _train_rule(name: str, kd: bool) -> Rule:
    infos = [M.BASES[b] for b in bases_of(name)]
    (phase,) = {i.phase for i in infos}  # one per rule
    params = {"protocol": PROTOCOL, "arch": ARCH, "dataset": DATASET}
    stem = M.model_stem("{dataset}", "{seed}", "{base}", phase)
    outputs = {"model": stem + ".keras", "record": stem + ".json", "history": stem + M.HISTORY}
    if any(i.name in M.TEACHERS for i in infos):
        outputs["logits"] = stem + ".logits.npz"
    teachers = {M.BASES[i.teacher].phase for i in infos if i.teacher}
    reads = ("download", *sorted(teachers, key=list(PHASES).index))
    return Rule(name, phase, "distill" if kd else "train", "{dataset}/s{seed}/{base}",
                TRAIN + ("bases", "catalog.architectures", "catalog.zoo_models") + (("distill",) if kd else ()),
                params, outputs, reads)


def _exported(quant: str = "{quant}", prefix: str = "") -> dict[str, str]:
    path = M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", quant, "{cluster}")
    return {f"{prefix}tflite": path, f"{prefix}record": M.record(path)}


RULES = {r.name: r for r in [
    # Sources and the mirror are not tracked: the files are verified by hash, so
    # where they came from cannot change them.
    Rule("download", "download", "download", "{dataset}", (*DATA, "io"),
         outputs={"raw": M.raw_dir("{dataset}")}),
    # A user's dataset is read in place (under D.LOCAL_ROOT): its file is prepare's input.
    Rule("prepare", "download", "prepare", "{dataset}", (*DATA, "io"),
         {"dataset": DATASET, "val_size": "data/val_size", "split_seed": "data/split_seed", "slice": "data/slice"},
         {"data": M.prepared("{dataset}"), "record": M.record(M.prepared("{dataset}"))}, ("download",)),
    _train_rule("train_teacher", kd=False),
    _train_rule("train_student_scratch", kd=False),
    _train_rule("distill_ta", kd=True),
    _train_rule("distill_student", kd=True),
    Rule("prune", "prune", "prune", MODEL, TRAIN + ("prune", "filters"),
         {"scheme": "prune/schemes/{prune}", "fine_tune": "prune/fine_tune", "precision": "train/precision",
          "style": STYLE},
         {"model": M.model("{dataset}", "{seed}", "{base}", "{prune}", "{ft}"),
          "record": M.record(M.model("{dataset}", "{seed}", "{base}", "{prune}", "{ft}"))},
         ("download", *BASE_PHASES)),
    Rule("cluster", "prune", "cluster", CLUSTERED, TRAIN + ("cluster",),
         {"scheme": "cluster/schemes/{cluster}", "fine_tune": "cluster/fine_tune", "precision": "train/precision",
          "style": STYLE},
         {"model": M.model("{dataset}", "{seed}", "{base}", "{prune}", "{ft}", cluster="{cluster}"),
          "record": M.record(M.model("{dataset}", "{seed}", "{base}", "{prune}", "{ft}", cluster="{cluster}"))},
         ("download", *BASE_PHASES)),
    # One job per post-training scheme: a change to one scheme reruns only its exports.
    Rule("convert", "quantize", "convert", CELL, TRAIN + ("quantize", "litert_quantizer", "integer_io", "evaluate",
                                                          "tflite_graph"),
         {"scheme": "quantize/schemes/{quant}"}, _exported(), ("download", *BASE_PHASES, "prune")),
    # QAT writes its float-I/O and its integer-only export; qat-scratch retrains the base
    # model from scratch: its protocol, and the distill code.
    Rule("qat", "quantize", "qat", CELL, TRAIN + ("quantize", "distill"),
         {"scheme": "quantize/schemes/{quant}", "protocol": PROTOCOL, "int8io": "quantize/int8io"},
         _exported() | _exported("{quant}" + M.INT8_IO, "int8io_"), ("download", *BASE_PHASES, "prune")),
    # QAT's control: the same epochs in float32, exported float32.
    Rule("float32_ft", "quantize", "qat", CELL, TRAIN + ("quantize", "distill"),
         {"scheme": "quantize/schemes/{quant}", "protocol": PROTOCOL}, _exported(),
         ("download", *BASE_PHASES, "prune")),
    # Latency alone on the machine: the rule reserves every core (workflow/rules/evaluate.smk).
    Rule("latency", "evaluate", "latency", CELL, (*DATA, "io", "evaluate", "tflite_graph", "latency"),
         {"latency": "latency"},
         {"latency": M.latency("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}")},
         ("download", "quantize")),
    Rule("evaluate", "evaluate", "evaluate", CELL, (*DATA, "io", *MATRIX, "evaluate", "tflite_graph", "integer_io"),
         {"evaluate": "evaluate"},
         {"metrics": M.metrics("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}"),
          "predictions": M.predictions(M.metrics("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}",
                                                 "{cluster}"))},
         ("download", "quantize")),
    # One-shot per-layer pruning of a base model, no fine-tune (Distiller's sensitivity analysis).
    Rule("sensitivity", "evaluate", "sensitivity", "{dataset}/s{seed}/{base}", (*DATA, "io", *MATRIX, "models",
                                                                                "progress", "training", "sensitivity"),
         {"sensitivity": "sensitivity"},
         {"table": M.sensitivity("{dataset}", "{seed}", "{base}"),
          "record": M.record(M.sensitivity("{dataset}", "{seed}", "{base}"))}, ("download", *BASE_PHASES)),
    Rule("report", "report", "report", "report",
         ("io", *MATRIX, "report_files", "report", "results", "figures", "sweep_figures", "markdown", "run_facts",
          "overview", "run_summary", "base_table", "glossary", "tables", "deployment", "provenance", "claims",
          "controls", "protocol_frames", "reproduction", "selection", "paramfile", "stats", "evidence",
          "forgetting", "variants", "refused", "refusal"),
         {k: k for k in ("seeds", "matrix", "derived", "protocols", "sweeps", "zoo", "train", "distill", "prune",
                         "cluster", "quantize", "evaluate", "latency", "sensitivity", "claims")}
         | {"val_size": "data/val_size", "split_seed": "data/split_seed"},
         REPORT_FILES, ("download", *BASE_PHASES, "prune", "quantize", "evaluate")),
]}


def code_modules() -> list[str]:
    """Every module some rule runs: the fingerprints the Snakefile and dvc.yaml's first
    stage keep up to date."""
    return sorted({m for r in RULES.values() for m in r.modules})


def value_at(cfg: dict, dpath: str):
    """The value at a rule param's path ("train/epochs/mnist/teacher") in the config."""
    value = cfg
    for key in dpath.split("/"):
        value = value[key]
    return value


def of_phase(phase: str) -> list[Rule]:
    return [r for r in RULES.values() if r.phase == phase]


# ---- phases as DVC stages ----------------------------------------------------------

def _folder(pattern: str) -> str:
    """The folder DVC tracks for an output pattern: its part before the first wildcard."""
    fixed = pattern.split("{", 1)[0]
    return fixed.rsplit("/", 1)[0] if "{" in pattern else pattern


def outputs_of(phase: str) -> list[str]:
    """What a phase writes, as DVC outs: artefact folders (or files), then its logs."""
    outs = list(dict.fromkeys(_folder(p) for r in of_phase(phase) for p in r.outputs.values()))
    # A folder inside another of the phase's is tracked with it (DVC refuses overlapping outs).
    outs = [o for o in outs if not any(o.startswith(other + "/") for other in outs)]
    return outs + [f"logs/{phase}"]


def folders_of(phase: str) -> list[str]:
    """The folders among a phase's outs (its patterns with wildcards, and its logs)."""
    return list(dict.fromkeys([_folder(p) for r in of_phase(phase) for p in r.outputs.values() if "{" in p]
                              + [f"logs/{phase}"]))


def params_of(phase: str) -> list[str]:
    """The params a phase reads, as DVC params: each dpath up to its first wildcard,
    after the keys that decide which jobs it has (only the datasets for download)."""
    keys = ["matrix.datasets"] if phase == "download" else ["seeds", "matrix", "derived"]
    for r in of_phase(phase):
        for dpath in r.params.values():
            key = ".".join(p for p in dpath.split("{", 1)[0].split("/") if p)
            keys += RESOLVED.get(key, [key])
    keys = list(dict.fromkeys(keys))
    # A key already covered by a shorter one (train covers train.epochs) is dropped.
    return [k for k in keys if not any(k.startswith(o + ".") for o in keys if o != k)]


def inputs_of(phase: str) -> list[str]:
    """Upstream artefacts a phase reads, as DVC deps (raw downloads only feed prepare)."""
    reads = {p for r in of_phase(phase) for p in r.reads if p != phase}
    folders = [o for p in PHASES if p in reads for o in outputs_of(p)[:-1]]
    extra = {"report": [REFERENCE], "download": [D.LOCAL_ROOT]}.get(phase, [])
    return [f for f in folders if f != M.raw_dir("{dataset}").split("/{")[0]] + extra


def planned_jobs(dry_run_stdout: str) -> dict[str, int]:
    """Rule -> number of jobs, from the `job count` table `snakemake -n` prints."""
    jobs, started = {}, False
    for line in dry_run_stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            started = True
            continue
        if started and parts[:1] == ["total"]:
            break  # the table ends here; job details follow
        if started and len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    return dict(sorted(jobs.items()))


# ---- dvc.yaml ---------------------------------------------------------------------

HEADER = """\
# Generated from the rule table (src/compressbench/rules.py) by
#   python -m compressbench.rules > dvc.yaml
# Do not edit: tests/test_rules.py checks this file against the table.
#
# A first stage, fingerprints, rewrites the fingerprint of a library module
# (workflow/fingerprints/) only when what the module does changes: the phases
# depend on those, not on the sources, so a comment edit reruns no stage.
# Then eight phase stages, each running its phase's Snakemake target. Snakemake
# decides which jobs inside a phase rerun; DVC records hashes, params and
# metrics per phase. Outputs persist, so DVC never deletes what Snakemake would
# reuse; the Snakefile's onsuccess gives a phase with no jobs its (empty) folders
# after a successful run (a run refused by validation leaves nothing behind).
# --allowed-rules keeps a stage to its own rules: without it, a phase target
# would also run missing upstream jobs, and their outputs would land in a stage
# that does not own them (its help calls it "intended primarily for internal
# use"; no public option restricts a run to some rules).
"""


def _item(path: str, **flags) -> str:
    opts = ", ".join(f"{k}: {str(v).lower()}" for k, v in flags.items())
    return f"      - {path}: {{{opts}}}"


def _stage(phase: str) -> list[str]:
    rules = of_phase(phase)
    outs = outputs_of(phase)
    allowed = " ".join([r.name for r in rules] + [f"phase_{phase}"])
    code = dict.fromkeys(f for r in rules for f in r.code_files)
    scripts = dict.fromkeys(r.script_file for r in rules)
    deps = [*inputs_of(phase), "Snakefile", f"workflow/rules/{PHASES[phase]}.smk", *code, *scripts]
    lines = [f"  {phase}:",
             f"    cmd: snakemake --cores all --allowed-rules {allowed} -- phase_{phase}",
             "    deps:", *(f"      - {d}" for d in deps),
             "    params:", *(f"      - {p}" for p in params_of(phase)), "    outs:"]
    metrics = [o for o in outs if o == REPORT_FILES["summary"]]
    for o in outs:
        if o in metrics:
            continue
        # Report files are small and committed to git: DVC need not cache them.
        lines.append(_item(o, persist=True, cache=False) if o.startswith("reports/") else _item(o, persist=True))
    if metrics:
        lines += ["    metrics:", *(_item(m, persist=True, cache=False) for m in metrics)]
    return lines


FINGERPRINT_STAGE = "fingerprints"


def _fingerprint_stage() -> list[str]:
    """Runs when a module's source changes (not `always_changed`, so `dvc status`
    stays up to date while nothing changed) and rewrites only fingerprints that
    differ; persist keeps DVC from deleting them first, which would move their
    time stamps and rerun every Snakemake job."""
    modules = code_modules()
    deps = dict.fromkeys([*(fingerprints.source(m) for m in modules), fingerprints.source("fingerprints")])
    return [f"  {FINGERPRINT_STAGE}:", "    cmd: python -m compressbench.fingerprints",
            "    deps:", *(f"      - {d}" for d in deps),
            "    outs:", *(_item(fingerprints.path(m), persist=True, cache=False) for m in modules)]


def dvc_yaml() -> str:
    lines = [HEADER.rstrip("\n"), "stages:", *_fingerprint_stage(), ""]
    for phase in PHASES:
        lines += _stage(phase) + [""]
    lines.append("plots:")
    for ds in D.BUILTIN:  # a user's dataset has its plots in reports/plots/ too
        lines += [f"  - {REPORT_FILES['plot'].format(dataset=ds)}:", "      x: gzip_bytes", "      y: accuracy",
                  "      template: scatter"]
        lines += [f"  - {REPORT_FILES['tradeoff_plot'].format(dataset=ds)}:", "      x: compression_ratio",
                  "      y: accuracy", "      template: linear"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dvc_yaml())
