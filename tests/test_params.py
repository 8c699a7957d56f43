"""Bad parameters stop both front ends before any job runs, naming the key and what is allowed."""
import copy

import pytest
import yaml

from compressbench import params
from helpers import copy_repo, dvc, snakemake


def setting(path, value):
    def mutate(cfg):
        *parents, last = path.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        node[last] = value
    return mutate


def dropping(path):
    def mutate(cfg):
        *parents, last = path.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        del node[last]
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
    ("unknown pruning method", setting("prune.schemes.global.method", "random"), ["prune.schemes.global.method", "random"]),
    ("unknown layer kind", setting("zoo.mnist.student", [{"pool": 2}]), ["zoo.mnist.student[0]", "pool", "conv"]),
    ("negative validation size", setting("data.val_size", -5), ["data.val_size", "minimum of 0"]),
    ("missing section", dropping("evaluate"), ["'evaluate' is a required property"]),
    ("scheme called none", setting("prune.schemes.none", {"method": "filters", "layers": "conv", "fraction": 0.5}),
     ["prune.schemes", "none"]),
]


@pytest.fixture(scope="module")
def default_cfg():
    return params.load_yaml(params.ROOT / "params.yaml")


def test_default_params_are_valid(default_cfg):
    assert params.validate(copy.deepcopy(default_cfg)) is not None


@pytest.mark.parametrize("case,mutate,fragments", CASES, ids=[c[0] for c in CASES])
def test_invalid_params_are_rejected_naming_key_and_allowed(default_cfg, case, mutate, fragments):
    cfg = copy.deepcopy(default_cfg)
    mutate(cfg)
    with pytest.raises(params.ParamsError) as err:
        params.validate(cfg)
    for fragment in fragments:
        assert fragment in str(err.value), (case, str(err.value))


def test_duplicate_scheme_names_are_rejected(tmp_path):
    text = (params.ROOT / "params.yaml").read_text().replace(
        "    filters:     {method: filters", "    global:      {method: filters", 1)
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(params.ParamsError, match="duplicate key 'global'"):
        params.load_yaml(tmp_path / "params.yaml")


def test_mirror_env_var_wins_over_the_param(default_cfg, monkeypatch):
    cfg = copy.deepcopy(default_cfg)
    cfg["data"]["mirror"] = "/from/params"
    monkeypatch.delenv(params.MIRROR_ENV, raising=False)
    assert params.mirror(cfg) == "/from/params"
    monkeypatch.setenv(params.MIRROR_ENV, "/from/env")
    assert params.mirror(cfg) == "/from/env"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("repo"))


@pytest.mark.parametrize("case,mutate,fragments", CASES, ids=[c[0] for c in CASES])
def test_snakemake_stops_on_invalid_params_before_any_job(repo, default_cfg, case, mutate, fragments):
    cfg = copy.deepcopy(default_cfg)
    mutate(cfg)
    (repo / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = snakemake(repo, check=False)
    assert proc.returncode != 0
    for fragment in fragments:
        assert fragment in proc.stderr + proc.stdout, (case, proc.stderr[-2000:])
    assert not (repo / "data").exists() and not (repo / "models").exists()


@pytest.mark.parametrize("case", ["misspelt pruning scheme", "alpha above one", "unknown top-level key"])
def test_dvc_repro_stops_on_invalid_params_before_any_job(tmp_path, default_cfg, case):
    repo = copy_repo(tmp_path)
    dvc(repo, "init", "--no-scm", "-q")
    _, mutate, fragments = next(c for c in CASES if c[0] == case)
    cfg = copy.deepcopy(default_cfg)
    mutate(cfg)
    (repo / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = dvc(repo, "repro", check=False)
    assert proc.returncode != 0
    for fragment in fragments:
        assert fragment in proc.stderr + proc.stdout, (case, proc.stderr[-2000:])
    assert not (repo / "data" / "raw").exists() and not (repo / "models").exists()
