"""Bad parameters are refused naming the key and what is allowed (each front end's refusal is in
tests/test_fault_matrix.py); command-line overrides take the schema's types."""
import copy
import functools
import re
import time
import tracemalloc

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config

from compressbench import data, params, rules, schema
from compressbench import matrix as M
from helpers import copy_repo, snakemake


def parent(cfg: dict, path: str) -> tuple[dict, str]:
    *parents, last = path.split(".")
    return functools.reduce(dict.__getitem__, parents, cfg), last


def setting(path, value):
    def mutate(cfg):
        node, key = parent(cfg, path)
        node[key] = value
    return mutate


def dropping(path):
    def mutate(cfg):
        node, key = parent(cfg, path)
        del node[key]
    return mutate


# (case, mutation, fragments the message must contain)
CASES = [
    ("unknown top-level key", setting("colour", "red"), ["colour", "allowed keys", "seeds"]),
    ("misspelt nested key", setting("train.epoch", 3), ["train", "epoch", "allowed keys", "epochs"]),
    ("misspelt pruning scheme", setting("matrix.prune", ["none", "globl"]),
     ["matrix.prune[1]", "globl", "local-all", "global"]),
    ("misspelt quantization scheme", setting("matrix.quant", ["float32", "ptq_int8"]),
     ["matrix.quant[1]", "ptq_int8", "ptq-int8"]),
    ("sparsity of one", setting("prune.schemes.local-all.sparsity", 1.0),
     ["prune.schemes.local-all.sparsity", "1"]),
    ("negative sparsity", setting("prune.schemes.global.sparsity", -0.1),
     ["prune.schemes.global.sparsity", "minimum of 0"]),
    ("zero epochs", setting("train.epochs.mnist.teacher", 0), ["train.epochs.mnist.teacher", "minimum of 1"]),
    ("negative epochs", setting("prune.fine_tune.epochs", -2), ["prune.fine_tune.epochs", "minimum of 1"]),
    ("zero temperature", setting("distill.temperature", 0), ["distill.temperature", "0"]),
    ("negative temperature", setting("distill.temperature", -3.0), ["distill.temperature"]),
    ("alpha above one", setting("distill.alpha", 1.5), ["distill.alpha", "maximum of 1"]),
    ("negative alpha", setting("distill.alpha", -0.1), ["distill.alpha", "minimum of 0"]),
    ("unknown dataset", setting("matrix.datasets", ["mnist", "fashion"]),
     ["matrix.datasets[1]", "fashion", "mnist", "cifar10"]),
    ("empty matrix", setting("matrix.quant", []), ["matrix.quant", "should be non-empty"]),
    ("wrong type", setting("train.batch_size", "128"), ["train.batch_size", "not of type 'integer'"]),
    ("base model that does not exist", setting("matrix.bases", ["teacher", "student-huge"]),
     ["matrix.bases[1]", "student-huge", "student-takd"]),
    ("zero learning rate", setting("train.learning_rate", 0), ["train.learning_rate"]),
    ("unknown precision", setting("train.precision", "float16"), ["train.precision", "float16", "mixed_bfloat16"]),
    ("initial sparsity above final", setting("prune.schemes.local-all.initial_sparsity", 0.9),
     ["prune.schemes.local-all.initial_sparsity", "initial_sparsity <= sparsity"]),
    ("m not below n", setting("prune.schemes.nm-2-4.m", 4), ["prune.schemes.nm-2-4", "m=4", "n=4"]),
    ("no seeds", setting("seeds", []), ["seeds", "should be non-empty"]),
    ("unknown pruning method", setting("prune.schemes.global.method", "lottery"), ["prune.schemes.global.method", "lottery"]),
    ("unknown layer kind", setting("zoo.mnist.student", [{"batchnorm": 2}]), ["zoo.mnist.student[0]", "batchnorm", "conv"]),
    ("negative validation size", setting("data.val_size", -5), ["data.val_size", "minimum of 0"]),
    # Conditions a job would otherwise trip over at its end (issue 31), each one message.
    ("no validation images for the teachers' logits", setting("data.val_size", 0),
     ["data.val_size: 0 leaves no validation images", "teacher", "allowed: 1 <= val_size"]),
    ("conv after a dense layer", setting("zoo.mnist.student", [{"conv": 16}, {"dense": 10}, {"conv": 8}, {"pool": 2}]),
     ["zoo.mnist.student: conv [2], pool [3] after the dense layer [1]", "before the first dense layer"]),
    ("validation size above the training split", setting("data.val_size", 60001),
     ["data.val_size: 60001 is greater than the maximum of 20000"]),
    ("global sparsity the capped layers cannot reach", setting("prune.schemes.global.sparsity", 0.99),
     ["prune.schemes.global.sparsity: 0.99 is beyond what global pruning reaches", "at most 0.98"]),
    ("unknown layer kind", setting("zoo.mnist.student", [{"foo": 3}]), ["zoo.mnist.student[0]", "allowed keys: conv"]),
    ("missing section", dropping("evaluate"), ["'evaluate' is a required property"]),
    ("scheme called none", setting("prune.schemes.none", {"method": "filters", "layers": "conv", "fraction": 0.5}),
     ["prune.schemes", "none"]),
]


def combining(*mutations):
    def mutate(cfg):
        for m in mutations:
            m(cfg)
    return mutate


NAN, INF = float("nan"), float("inf")
BIG = 1_000_000_000
# Non-finite numbers (NaN passes every JSON Schema bound) and the upper bounds, each
# checked on the message: key, what is allowed and, for bounds, the reason from the schema.
BOUND_CASES = [
    ("nan learning rate", setting("train.learning_rate", NAN),
     ["train.learning_rate", "nan is not a finite number", "0 < learning_rate <= 1"]),
    ("nan alpha", setting("distill.alpha", NAN), ["distill.alpha", "not a finite number", "0 <= alpha <= 1"]),
    ("infinite temperature", setting("distill.temperature", INF),
     ["distill.temperature", "inf is not a finite number", "0 < temperature <= 100"]),
    ("nan sparsity", setting("prune.schemes.local-all.sparsity", NAN),
     ["prune.schemes.local-all.sparsity", "not a finite number", "0 <= sparsity <= 0.99"]),
    ("nan qat learning rate", setting("quantize.schemes.qat.learning_rate", NAN),
     ["quantize.schemes.qat.learning_rate", "not a finite number", "0 < learning_rate <= 1"]),
    ("infinite epochs", setting("train.epochs.cifar10.teacher", INF),
     ["train.epochs.cifar10.teacher", "inf is not a finite number", "an integer, 1 <= teacher <= 1000"]),
    ("negative infinite seed", setting("seeds", [0, -INF]), ["seeds[1]", "-inf is not a finite number", "seeds"]),
    ("nan dropout", setting("zoo.mnist.teacher", [{"conv": 8}, {"dense": 10}, {"dropout": NAN}]),
     ["zoo.mnist.teacher[2].dropout", "not a finite number", "0 <= dropout < 1"]),
    ("nan end fraction", setting("prune.schemes.global.end_fraction", NAN),
     ["prune.schemes.global.end_fraction", "not a finite number", "0 < end_fraction <= 1"]),
    ("huge training epochs", setting("train.epochs.mnist.teacher", BIG),
     ["train.epochs.mnist.teacher", "maximum of 1000", "16 h"]),
    ("huge fine-tune epochs", setting("prune.fine_tune.epochs", BIG), ["prune.fine_tune.epochs", "maximum of 100", "at most 100"]),
    ("huge qat epochs", setting("quantize.schemes.qat.epochs", BIG),
     ["quantize.schemes.qat.epochs", "maximum of 100", "at most 100"]),
    ("huge training batch", setting("train.batch_size", BIG), ["train.batch_size", "maximum of 60000", "MNIST"]),
    ("huge fine-tune batch", setting("prune.fine_tune.batch_size", BIG), ["prune.fine_tune.batch_size", "maximum of 60000"]),
    ("huge qat batch", setting("quantize.schemes.qat.batch_size", BIG), ["quantize.schemes.qat.batch_size", "maximum of 60000"]),
    ("training batch above the cifar10 split", setting("train.batch_size", 50000),
     ["train.batch_size", "cifar10 training split", "50000 images - data.val_size 5000", "1 <= batch_size <= 45000"]),
    ("fine-tune batch above the mnist split", combining(
        setting("matrix.datasets", ["mnist"]), setting("data.val_size", 20000), setting("prune.fine_tune.batch_size", 40001)),
     ["prune.fine_tune.batch_size", "mnist training split", "batch_size <= 40000"]),
    ("qat batch above the split", setting("quantize.schemes.qat.batch_size", 45001),
     ["quantize.schemes.qat.batch_size", "training split", "batch_size <= 45000"]),
    ("huge evaluation batch", setting("evaluate.batch_size", BIG), ["evaluate.batch_size", "maximum of 10000", "test split"]),
    ("huge latency runs", setting("latency.max_runs", BIG), ["latency.max_runs", "maximum of 100000", "at most 100000"]),
    ("huge warm-up runs", setting("latency.warmup_runs", BIG), ["latency.warmup_runs", "maximum of 1000"]),
    ("latency tolerance of zero", setting("latency.tolerance", 0), ["latency.tolerance"]),
    ("aeq-int4 without a block size", dropping("quantize.schemes.aeq-int4w.block_size"), ["aeq-int4w", "block_size"]),
    ("aeq block size not a quantizer size", setting("quantize.schemes.aeq-int4w.block_size", 48), ["aeq-int4w.block_size"]),
    ("aeq layers on a scheme that is not mixed", setting("quantize.schemes.aeq-int8w.layers", [{"bits": 8}]), ["aeq-int8w"]),
    ("huge calibration", setting("quantize.schemes.ptq-int8.calibration_samples", BIG),
     ["quantize.schemes.ptq-int8.calibration_samples", "maximum of 10000", "TFLite"]),
    ("huge temperature", setting("distill.temperature", 1000.0), ["distill.temperature", "maximum of 100", "Hinton"]),
    ("sparsity above 0.99", setting("prune.schemes.global.sparsity", 0.995),
     ["prune.schemes.global.sparsity", "maximum of 0.99", "144 weights"]),
    ("initial sparsity above 0.99", setting("prune.schemes.local-conv.initial_sparsity", 0.995),
     ["prune.schemes.local-conv.initial_sparsity", "maximum of 0.99"]),
    ("huge mask frequency", setting("prune.schemes.global.frequency", BIG),
     ["prune.schemes.global.frequency", "maximum of 10000", "schedule_steps"]),
    ("huge m:n group", setting("prune.schemes.nm-2-4.n", BIG), ["prune.schemes.nm-2-4.n", "maximum of 64"]),
    ("huge conv", setting("zoo.cifar10.student", [{"conv": BIG}]), ["zoo.cifar10.student[0].conv", "maximum of 1024"]),
    ("huge dense", setting("zoo.mnist.ta", [{"dense": BIG}]), ["zoo.mnist.ta[0].dense", "maximum of 4096"]),
    ("too many layers", setting("zoo.mnist.student", [{"dense": 8}] * 33),
     ["zoo.mnist.student", "33 items are too many", "at most 32"]),
    ("too many seeds", setting("seeds", list(range(101))), ["seeds", "101 items are too many", "at most 100"]),
    ("seed beyond 32 bits", setting("seeds", [2**32]), ["seeds[0]", "maximum of 4294967295", "NumPy"]),
    ("split seed beyond 32 bits", setting("data.split_seed", 2**32), ["data.split_seed", "maximum of 4294967295"]),
]
ALL_CASES = CASES + BOUND_CASES
# One message per root cause: these must not cascade into the checks that build on them.
ONE_MESSAGE = ("no validation images for the teachers' logits", "conv after a dense layer",
               "validation size above the training split", "global sparsity the capped layers cannot reach",
               "unknown layer kind", "sparsity above 0.99")
# The front ends get one case of each kind (each run costs a Snakemake start-up).
FRONTEND_CASES = CASES + [c for c in BOUND_CASES if c[0] in
                          ("nan alpha", "infinite temperature", "huge latency runs", "training batch above the cifar10 split")]


@pytest.fixture(scope="module")
def default_cfg():
    return params.load_yaml(params.ROOT / "params.yaml")


def test_default_params_are_valid(default_cfg):
    assert params.validate(copy.deepcopy(default_cfg)) is not None


@pytest.mark.parametrize("case,mutate,fragments", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_invalid_params_are_rejected_naming_key_and_allowed(default_cfg, case, mutate, fragments):
    cfg = copy.deepcopy(default_cfg)
    mutate(cfg)
    with pytest.raises(params.ParamsError) as err:
        params.validate(cfg)
    for fragment in fragments:
        assert fragment in str(err.value), (case, str(err.value))
    if case in ONE_MESSAGE:
        assert str(err.value).count("\n  - ") == 1, str(err.value)


def test_duplicate_scheme_names_are_rejected(tmp_path):
    text = (params.ROOT / "params.yaml").read_text().replace(
        "    filters:     {method: filters", "    global:      {method: filters", 1)
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(params.ParamsError, match="duplicate key 'global'"):
        params.load_yaml(tmp_path / "params.yaml")


def test_mirror_env_var_wins_over_the_param(default_cfg, monkeypatch):
    cfg = copy.deepcopy(default_cfg)
    cfg["data"]["mirror"] = "/from/params"
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    assert data.mirror(cfg) == "/from/params"
    monkeypatch.setenv(data.MIRROR_ENV, "/from/env")
    assert data.mirror(cfg) == "/from/env"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("repo"))


def snakemake_config(default_cfg, *entries):
    """The config Snakemake 9 builds from params.yaml and `--config entries` (its own parser)."""
    cfg = copy.deepcopy(default_cfg)
    update_config(cfg, parse_config(list(entries)))
    return cfg


def test_snakemake_passes_list_items_and_nested_values_as_strings(default_cfg):
    cfg = snakemake_config(default_cfg, "seeds=[0,1,2]", "distill={alpha: 0.5}")
    assert cfg["seeds"] == ["0", "1", "2"] and cfg["distill"]["alpha"] == "0.5"  # what coerce is for
    with pytest.raises(params.ParamsError, match=r"seeds\[0\]: '0' is not of type 'integer'"):
        params.validate(copy.deepcopy(cfg))


def test_coerce_turns_integer_lists_from_strings_into_integers(default_cfg):
    cfg = snakemake_config(default_cfg, "seeds=[0,1,2]")
    assert params.coerce(cfg) is cfg
    assert cfg["seeds"] == [0, 1, 2] and all(type(s) is int for s in cfg["seeds"])
    params.validate(cfg)


def test_coerce_parses_a_whole_list_given_as_one_string(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["seeds"] = "[3, 4]"
    assert params.validate(params.coerce(cfg))["seeds"] == [3, 4]


def test_coerce_turns_numbers_from_strings_into_numbers(default_cfg):
    cfg = snakemake_config(default_cfg, "prune={schemes: {global: {sparsity: 0.7}}}",
                           "distill={temperature: 4, alpha: 0.25}", "train={epochs: {mnist: {teacher: 7}}}",
                           "quantize={schemes: {qat: {learning_rate: 0.0002}, float32-ft: {learning_rate: 0.0002}}}")
    params.validate(params.coerce(cfg))
    assert cfg["prune"]["schemes"]["global"] == {**default_cfg["prune"]["schemes"]["global"], "sparsity": 0.7}
    assert (cfg["distill"], cfg["train"]["epochs"]["mnist"]["teacher"]) == (
        {"alpha": 0.25, "temperature": 4, "t_squared": True}, 7)
    assert cfg["quantize"]["schemes"]["qat"]["learning_rate"] == 0.0002


@pytest.mark.parametrize("text,value", [("true", True), ("False", False)])
def test_coerce_turns_booleans_from_strings_into_booleans(default_cfg, text, value):
    cfg = snakemake_config(default_cfg, f"train={{augment: {text}}}")
    assert params.validate(params.coerce(cfg))["train"]["augment"] is value


@pytest.mark.parametrize("entry,fragments", [
    ("train={batch_size: 12.5}", ["train.batch_size", "'12.5' is not of type 'integer'"]),
    ("train={batch_size: true}", ["train.batch_size", "'true' is not of type 'integer'"]),
    ("train={augment: 1}", ["train.augment", "'1' is not of type 'boolean'"]),
    ("seeds=[0, x]", ["seeds[1]", "'x' is not of type 'integer'"]),
    ("distill={alpha: .nan}", ["distill.alpha", "nan is not a finite number", "0 <= alpha <= 1"]),
])
def test_coerce_keeps_strings_that_are_not_the_expected_type(default_cfg, entry, fragments):
    with pytest.raises(params.ParamsError) as err:
        params.validate(params.coerce(snakemake_config(default_cfg, entry)))
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_coerce_keeps_scheme_names_that_look_like_numbers(default_cfg):
    cfg = snakemake_config(default_cfg, "prune={schemes: {'10': {method: filters, layers: conv, fraction: 0.1}}}",
                           "matrix={prune: [none, 10], quant: [float32]}", "data={mirror: 2024}")
    params.validate(params.coerce(cfg))
    assert cfg["matrix"]["prune"] == ["none", "10"] and "10" in cfg["prune"]["schemes"]
    assert cfg["data"]["mirror"] == "2024"
    assert cfg["prune"]["schemes"]["10"]["fraction"] == 0.1


def test_coerce_keeps_a_quoted_number_of_the_params_file(tmp_path, default_cfg):
    """A string in params.yaml is what was written; only --config strings are parsed."""
    cfg = copy.deepcopy(default_cfg)
    cfg["train"]["batch_size"] = "128"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    written = params.load_yaml(tmp_path / "params.yaml")
    with pytest.raises(params.ParamsError, match="train.batch_size: '128' is not of type 'integer'"):
        params.validate(params.coerce(copy.deepcopy(written), files=[tmp_path / "params.yaml"]))
    update_config(written, parse_config(["train={batch_size: 64}"]))
    assert params.coerce(written, files=[tmp_path / "params.yaml"])["train"]["batch_size"] == 64


def test_coerce_leaves_well_typed_params_alone(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    assert params.coerce(cfg) == default_cfg
    assert params.coerce(["not", "a", "mapping"]) == ["not", "a", "mapping"]


def test_snakemake_command_line_overrides_are_coerced(repo, default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["derived"] = {}  # and matrix.only's lists without the derived bases they named
    cfg["matrix"]["only"] = {k: {a: [v for v in vs if v in params.BASE_NAMES or a != "bases"] for a, vs in lim.items()}
                             for k, lim in cfg["matrix"]["only"].items()}
    cfg["matrix"]["only"] = {k: lim for k, lim in cfg["matrix"]["only"].items() if all(lim.values())}
    (repo / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = snakemake(repo, "-n", "--quiet", "rules", "--config", "seeds=[0,1,2]",
                     "matrix={datasets: [mnist], bases: [student-scratch], quant: [float32], replicates: []}",
                     "prune={schemes: {global: {sparsity: 0.7}}}", "train={augment: true}")
    # the prune jobs of the same override resolved in Python: one per seed and scheme that
    # matrix.only leaves to the scratch student on MNIST
    cfg["seeds"] = [0, 1, 2]
    cfg["matrix"] |= {"datasets": ["mnist"], "bases": ["student-scratch"], "quant": ["float32"], "replicates": []}
    cfg["prune"]["schemes"]["global"]["sparsity"], cfg["train"]["augment"] = 0.7, True
    expected = {(c.seed, c.prune) for c in M.cells(params.resolve(cfg, files=())) if c.prune != "none"}
    assert len(expected) >= 3 * 3
    assert rules.planned_jobs(proc.stdout)["prune"] == len(expected)


def alias_bomb() -> str:
    """params.yaml with 9 levels x 9 aliases under `seeds`: ~430 million nodes once expanded."""
    lines = ["  - &a0 [0, 0, 0, 0, 0, 0, 0, 0, 0]"]
    lines += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines.append(f"  - [{', '.join(['*a8'] * 9)}]")
    text = (params.ROOT / "params.yaml").read_text().replace("seeds: [0]\n", "seeds:\n" + "\n".join(lines) + "\n", 1)
    assert "&a8" in text
    return text


def test_alias_bomb_is_refused_fast_naming_file_and_key(tmp_path):
    (tmp_path / "params.yaml").write_text(alias_bomb())
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(params.ParamsError) as err:
        params.load_yaml(tmp_path / "params.yaml")
    seconds, (_, peak) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 5 and peak < 20 * 2**20, (seconds, peak)  # a loaded CI machine is slow; memory is the point
    for fragment in [str(tmp_path / "params.yaml"), "seeds[", "more than 100000 YAML nodes", "at most 100000"]:
        assert fragment in str(err.value), str(err.value)


def test_recursive_alias_is_refused_naming_the_key(tmp_path):
    (tmp_path / "params.yaml").write_text("seeds: &s [0, *s]\n")
    with pytest.raises(params.ParamsError, match=r"params.yaml: seeds\[1\]: an alias refers to a node that contains it"):
        params.load_yaml(tmp_path / "params.yaml")


def schema_properties(node, where="schema"):
    """(where, schema) of every property the schema defines, in $defs too (not the
    conditions of if/then, which only test a property)."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}.{name}", sub
        for key, sub in node.items():
            if key != "if":
                yield from schema_properties(sub, f"{where}.{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from schema_properties(sub, f"{where}[{i}]")


def test_every_schema_property_has_a_description():
    props = list(schema_properties(schema.schema()))
    assert len(props) > 60
    missing = [where for where, sub in props if not (isinstance(sub.get("description"), str) and sub["description"])]
    assert not missing, missing


def test_every_upper_bound_states_its_reason():
    def bounded(node, where="schema"):
        if isinstance(node, dict):
            if {"maximum", "exclusiveMaximum", "maxItems"} & set(node):
                yield where, node
            for key, sub in node.items():
                yield from bounded(sub, f"{where}.{key}")
    bounds = list(bounded(schema.schema()))
    assert len(bounds) > 15
    unexplained = [where for where, sub in bounds if len(sub.get("description", "")) < 15]
    assert not unexplained, unexplained


def test_a_float32_ft_control_must_train_exactly_as_the_qat_it_controls(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["quantize"]["schemes"]["float32-ft"]["epochs"] = 3
    with pytest.raises(params.ParamsError, match=r"quantize.schemes.float32-ft.epochs: 3 differs from qat's 1"):
        params.validate(cfg)


def test_matrix_only_must_name_declared_schemes_and_values(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["matrix"]["only"] = {"float32-fx": {"prune": ["none"]}, "float32-ft": {"prune": ["nonee"]}}
    with pytest.raises(params.ParamsError) as err:
        params.validate(cfg)
    assert "matrix.only.float32-fx: not a base or scheme; allowed:" in str(err.value)
    assert "matrix.only.float32-ft.prune: 'nonee' is not one; allowed: none, finetune" in str(err.value)


def test_a_list_of_numbers_in_a_scheme_is_a_sweep_of_schemes_named_by_value(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["prune"]["schemes"]["demo-s"] = {**cfg["prune"]["schemes"]["global"], "sparsity": [0.5, 0.9],
                                         "initial_sparsity": 0.5}
    cfg["matrix"]["prune"].append("demo-s")
    cfg["matrix"]["only"]["demo-s"] = {"bases": ["student-kd"]}
    out = params.resolve(cfg)
    assert [n for n in out["prune"]["schemes"] if n.startswith("demo-s")] == ["demo-s0.5", "demo-s0.9"]
    assert out["prune"]["schemes"]["demo-s0.9"]["sparsity"] == 0.9
    assert out["matrix"]["prune"][-2:] == ["demo-s0.5", "demo-s0.9"]
    assert out["matrix"]["only"]["demo-s0.9"] == {"bases": ["student-kd"]}
    assert out["sweeps"]["demo-s"] == ["demo-s0.5", "demo-s0.9"]


def test_a_derived_sweep_gives_one_base_per_value_with_its_protocol(default_cfg):
    out = params.resolve(copy.deepcopy(default_cfg))
    sweep = [b for b in out["derived"] if b.startswith("kd-study-t")]
    assert sweep == ["kd-study-t2", "kd-study-t5", "kd-study-t10", "kd-study-t20", "kd-study-t30"]
    p = out["protocols"]["cifar10"]["kd-study-t5"]
    assert (p["temperature"], p["t_squared"], p["epochs"], p["batch_size"]) == (5, False, 5, 32)
    assert out["protocols"]["mnist"]["student-kd-quant"]["epochs"] == 3
    assert "temperature" not in out["protocols"]["mnist"]["teacher-study5"]


@pytest.mark.parametrize("derived, expected", [
    ({"x": {"like": "nobody"}}, "derived.x.like: 'nobody' is not a base"),
    ({"x": {"like": "student-scratch", "distill": {"temperature": 2}}}, "derived.x: student-scratch is trained on the labels"),
    ({"x": {"like": "student-kd", "teacher": "student-scratch"}}, "derived.x.teacher: 'student-scratch' is no teacher"),
    ({"x": {"like": "teacher", "prune": ["global"], "quant": ["qat-scratch"]}}, "qat-scratch retrains the model from scratch"),
    ({"a": {"like": "b"}, "b": {"like": "student-kd"}}, "derived.a.like: 'b' is not a base declared before it"),
    ({"teacher": {"like": "ta"}}, "derived.teacher: 'teacher' is one of the five bases"),
    ({"x": {"like": "student-kd", "distill": {"temperature": [2, 4], "alpha": [0.1, 0.2]}}}, "sweeps distill.temperature, distill.alpha at once"),
    ({"x": {"like": "student-kd", "quant": ["int4"]}}, "derived.x.quant: 'int4' is not one"),
])
def test_bad_derived_bases_are_refused_naming_the_key(default_cfg, derived, expected):
    cfg = copy.deepcopy(default_cfg)
    cfg["derived"] = derived
    with pytest.raises(params.ParamsError, match=re.escape(expected)):
        params.resolve(cfg)


def test_a_derived_base_of_another_family_trains_with_that_familys_keys_and_its_own(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["matrix"].pop("protocol", None)  # the matrix under train's own family (the study's)
    cfg["derived"]["kd-c"] = {"like": "student-kd", "protocol": "converged", "train": {"epochs": 7}}
    p = params.resolve(cfg)["protocols"]["cifar10"]
    family = default_cfg["families"]["converged"]
    assert p["kd-c"]["family"] == "converged" and p["kd-c"]["epochs"] == 7
    assert (p["kd-c"]["schedule"], p["kd-c"]["batch_size"], p["kd-c"]["augment"]) == \
        (family["schedule"], family["batch_size"], family["augment"])
    assert p["kd-c"]["temperature"] == default_cfg["distill"]["temperature"]  # distill keys still apply
    assert p["student-kd"]["family"] == default_cfg["train"]["name"]  # the matrix keeps its family


def test_the_matrix_family_applies_to_its_bases_and_to_derived_bases_like_them(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["matrix"]["protocol"] = "converged"
    p = params.resolve(cfg)["protocols"]
    epochs = default_cfg["families"]["converged"]["epochs"]
    assert p["cifar10"]["teacher"]["family"] == "converged"
    assert p["mnist"]["student-scratch"]["epochs"] == epochs["mnist"]["student-scratch"]
    # A derived base naming no family trains like its base; one naming the study's keeps it.
    cfg["derived"]["kd-x"] = {"like": "student-kd"}
    p = params.resolve(cfg)["protocols"]
    assert p["cifar10"]["kd-x"]["family"] == "converged"
    assert p["cifar10"]["teacher-st"]["family"] == p["cifar10"]["ta-study"]["family"] == default_cfg["train"]["name"]


@pytest.mark.parametrize("where", ["matrix", "derived"])
def test_an_unknown_protocol_family_is_refused_naming_the_key(default_cfg, where):
    cfg = copy.deepcopy(default_cfg)
    if where == "matrix":
        cfg["matrix"]["protocol"] = "fast"
    else:
        cfg["derived"]["ta-study"]["protocol"] = "fast"
    with pytest.raises(params.ParamsError, match=rf"{where}\S*protocol: 'fast' is not a protocol family; allowed: study"):
        params.resolve(cfg)


def test_a_familys_fine_tune_style_reaches_its_bases_and_the_studys_has_none(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["derived"]["kd-c"] = {"like": "student-kd", "protocol": "converged"}
    p = params.resolve(cfg)["protocols"]["cifar10"]
    assert p["kd-c"]["fine_tune"] == default_cfg["families"]["converged"]["fine_tune"]
    assert p["student-kd-st"]["fine_tune"] == {}  # the study's twin


def test_an_older_runs_params_resolve_once_upgraded_with_the_keys_added_since():
    older = params.load_yaml(params.ROOT / "benchmarks/baseline-run8/params.yaml")
    with pytest.raises(params.ParamsError):
        params.resolve(copy.deepcopy(older), files=())
    resolved = params.resolve(params.upgrade(older), files=())
    assert resolved["protocols"]["cifar10"]["teacher"]["family"] == "study"
    assert resolved["protocols"]["cifar10"]["teacher"]["shift"] == 2


def test_weight_decay_without_adam_is_refused_before_any_job(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["families"]["converged"] |= {"optimizer": "sgd", "weight_decay": 0.01}
    with pytest.raises(params.ParamsError, match=r"families.converged.weight_decay: 0.01 with optimizer 'sgd'"):
        params.validate(cfg)


def test_a_family_without_a_datasets_epochs_keeps_trains_for_it_and_a_removed_derived_base_limits_nothing(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["families"]["converged"]["epochs"].pop("mnist")          # as for a user's dataset the family omits
    cfg["derived"].pop("mobilenet-kd")                           # still named in matrix.only's lists
    resolved = params.resolve(cfg)
    assert resolved["protocols"]["mnist"]["teacher"]["epochs"] == default_cfg["train"]["epochs"]["mnist"]["teacher"]
    assert resolved["protocols"]["mnist"]["teacher"]["family"] == "converged"
