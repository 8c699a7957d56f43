"""The architectures catalog: zoo stacks, factories (importable or a work-tree file)
and saved .keras files pinned by their sha256; a user's model added from the outside
touches its own file and params.yaml only."""
import hashlib
import subprocess
import textwrap

import pytest
import tf_keras as keras

from compressbench import matrix, models, params
from compressbench.catalog import architectures as A

FACTORY = '''\
import tf_keras as keras


def build(input_shape, num_classes, width=8):
    i = keras.Input(input_shape)
    x = keras.layers.Conv2D(width, 3, padding="same")(i)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(i, keras.layers.Dense(num_classes)(x))
'''


def _saved(path, shape=(8, 8, 1), activation=None):
    i = keras.Input(shape)
    model = keras.Model(i, keras.layers.Dense(10, activation=activation)(keras.layers.Flatten()(i)))
    model.save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_factory_file_of_the_work_tree_builds_with_its_keyword_arguments(tmp_path):
    (tmp_path / "archs").mkdir()
    (tmp_path / "archs/mynet.py").write_text(FACTORY)
    entry = {"factory": "archs/mynet.py:build", "kwargs": {"width": 5}}
    model = A.build(entry, (8, 8, 3), 7, root=tmp_path)
    assert model.output_shape == (None, 7) and model.layers[1].filters == 5
    assert A.files(entry, tmp_path) == ["archs/mynet.py"]


def test_an_importable_factory_builds_and_the_packages_module_is_no_user_input():
    entry = {"factory": "compressbench.catalog.zoo_models:mobilenet", "kwargs": {"stem": 4, "blocks": [[8, 2]]}}
    model = A.build(entry, (16, 16, 3), 10)
    assert any(isinstance(l, keras.layers.DepthwiseConv2D) for l in model.layers)
    assert A.files([{"conv": 4}]) == []


def test_a_saved_model_trains_from_fresh_weights_unless_kept(tmp_path):
    digest = _saved(tmp_path / "net.keras")
    entry = {"file": "net.keras", "sha256": digest}
    saved = keras.models.load_model(tmp_path / "net.keras")
    fresh = A.build(entry, (8, 8, 1), 10, root=tmp_path)
    kept = A.build(entry | {"weights": "keep"}, (8, 8, 1), 10, root=tmp_path)
    assert (kept.get_weights()[0] == saved.get_weights()[0]).all()
    assert not (fresh.get_weights()[0] == saved.get_weights()[0]).all()
    assert A.files(entry) == ["net.keras"]


def test_a_changed_saved_model_is_refused_naming_it(tmp_path):
    digest = _saved(tmp_path / "net.keras")
    _saved(tmp_path / "net.keras", activation="relu")  # the file changes under its pin
    cfg = {"architectures": {"saved": {"file": "net.keras", "sha256": digest}}}
    (error,) = A.errors(cfg, tmp_path)
    assert error.startswith("architectures.saved.file: net.keras has sha256") and "the file changed" in error
    with pytest.raises(A.ArchitectureError, match="net.keras"):
        A.build(cfg["architectures"]["saved"], (8, 8, 1), 10, root=tmp_path)


def test_a_factory_whose_module_is_missing_is_refused_naming_it(tmp_path):
    cfg = {"architectures": {"a": {"factory": "archs/none.py:build"}, "b": {"factory": "nosuchpkg.mod:build"}}}
    assert A.errors(cfg, tmp_path) == [
        "architectures.a.factory: module archs/none.py not found (a .py file is relative to the work tree; "
        "a module must be importable)",
        "architectures.b.factory: module nosuchpkg.mod not found (a .py file is relative to the work tree; "
        "a module must be importable)"]


@pytest.mark.parametrize("shape, activation, message", [
    ((8, 8, 3), None, r"input shape \(8, 8, 1\); the dataset's is \(8, 8, 3\)"),
    ((8, 8, 1), "softmax", "ends in a softmax"),
])
def test_a_model_that_does_not_fit_the_dataset_is_refused(tmp_path, shape, activation, message):
    digest = _saved(tmp_path / "net.keras", activation=activation)
    with pytest.raises(A.ArchitectureError, match=message):
        A.build({"file": "net.keras", "sha256": digest}, shape, 10, root=tmp_path)


def test_a_derived_base_takes_any_architecture_and_an_unknown_one_is_refused(cfg):
    raw = params.load_yaml(params.ROOT / "params.yaml")
    raw["derived"]["mine"] = {"like": "teacher", "arch": "resnet", "datasets": ["cifar10"]}
    raw["derived"]["small-teacher"] = {"like": "teacher", "arch": "student"}
    resolved = params.resolve(raw)
    assert matrix.bases(resolved)["mine"].arch == "resnet"
    assert resolved["archs"]["cifar10"]["mine"] == raw["architectures"]["resnet"]
    assert resolved["archs"]["mnist"]["small-teacher"] == raw["zoo"]["mnist"]["student"]
    raw["derived"]["mine"]["arch"] = "resnt"
    with pytest.raises(params.ParamsError, match="derived.mine.arch: 'resnt' is not an architecture; allowed: "
                                                 "teacher, ta, student, mobilenet, resnet"):
        params.resolve(raw)


def test_the_zoo_stacks_job_param_is_the_layer_list_as_before(cfg):
    assert cfg["archs"]["mnist"]["teacher"] == cfg["zoo"]["mnist"]["teacher"]
    assert cfg["archs"]["cifar10"]["student-kd"] == cfg["zoo"]["cifar10"]["student"]
    assert isinstance(models.build(cfg["archs"]["mnist"]["ta"], (28, 28, 1), 10), keras.Sequential)


@pytest.mark.slow
def test_a_users_model_touches_its_own_file_and_params_yaml_only(tmp_path):
    from helpers import copy_repo, run, snakemake
    repo = copy_repo(tmp_path / "repo")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    run(["git", "init", "-q"], repo)
    run([*git, "add", "-A"], repo)
    run([*git, "commit", "-qm", "base"], repo)
    (repo / "archs").mkdir()
    (repo / "archs/mynet.py").write_text(FACTORY)
    digest = _saved(repo / "archs/net.keras", shape=(32, 32, 3))
    text = (repo / "params.yaml").read_text()
    text = text.replace("architectures:\n", "architectures:\n" + textwrap.indent(textwrap.dedent(f"""\
        mine: {{factory: "archs/mynet.py:build", kwargs: {{width: 16}}}}
        saved: {{file: archs/net.keras, sha256: {digest}}}
        """), "  "), 1)
    text = text.replace("derived:\n", "derived:\n" + textwrap.indent(textwrap.dedent("""\
        mine-kd: {like: student-kd, arch: mine, datasets: [cifar10]}
        saved-scratch: {like: student-scratch, arch: saved, datasets: [cifar10]}
        """), "  "), 1)
    (repo / "params.yaml").write_text(text)
    changed = run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout.split("\n")
    assert sorted(line[3:] for line in changed if line) == ["archs/mynet.py", "archs/net.keras", "params.yaml"]
    diff = run(["git", "diff", "--", "params.yaml"], repo).stdout
    print(diff)  # what the user wrote
    dry = snakemake(repo, "-n", "models/student_distill/cifar10/s0/mine-kd.keras",
                    "models/train_baseline/cifar10/s0/saved-scratch.keras").stdout
    assert "archs/mynet.py" in dry and "archs/net.keras" in dry  # inputs of the jobs building them
    _saved(repo / "archs/net.keras", shape=(32, 32, 3), activation="relu")
    refused = snakemake(repo, "-n", check=False)
    assert refused.returncode != 0 and "architectures.saved.file: archs/net.keras has sha256" in refused.stderr


def test_a_refusal_is_recorded_beside_the_jobs_log_with_the_layer_and_reason(tmp_path):
    from types import SimpleNamespace

    from compressbench import refusal, runner
    smk = SimpleNamespace(log=[str(tmp_path / "logs/prune/prune/cifar10/s0/f0/mine-kd+filters.log")], rule="prune")
    path = runner.refusal_record(smk)
    assert path.endswith("logs/prune/prune/cifar10/s0/f0/mine-kd+filters.refused.json")
    refusal.write(path, refusal.Refused("stem", "its output reaches residual (Add)"), "prune", wildcards={"prune": "filters"})
    assert refusal.read(path) == "prune refuses layer stem: its output reaches residual (Add)"
