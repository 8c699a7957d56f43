"""The architectures catalog: what a base model is built from.

Three kinds of entry, declared in params.yaml:

- the study's layer stacks, `zoo.<dataset>.<teacher|ta|student>`: a list of
  layers (models.build);
- a Python factory, `architectures.<name>: {factory: "module:function", kwargs: {...}}`,
  called as `function(input_shape, num_classes, **kwargs)` and returning a tf_keras
  model; `module` is an importable module (`compressbench.catalog.zoo_models:mobilenet`)
  or a `.py` file of the work tree (`archs/mynet.py:build`);
- a saved model, `architectures.<name>: {file: archs/net.keras, sha256: <hex>}`, in the
  work tree and pinned by its sha256 (a changed file is refused, naming it); trained
  from fresh weights drawn with the job's seed, or from its own with `weights: keep`.

A derived base picks one with `arch: <name>` (a zoo key or an architectures name);
the five bases use the zoo's teacher, ta and student. Every architecture gets the
dataset's input shape and number of classes as plain arguments, and must output
one logit per class (no softmax).

The entry point of training jobs:

>>> model = build(spec, (32, 32, 3), 10, name="student-kd")     # doctest: +SKIP

Validation (`errors`) and the job inputs (`files`) import no TensorFlow.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

from .. import io

ZOO = ("teacher", "ta", "student")  # the study's stacks, per dataset in params `zoo`
FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$|^[\w./-]+\.py:[A-Za-z_]\w*$")


class ArchitectureError(ValueError):
    """An architecture entry cannot give a model: names the entry or file and why."""


def names(cfg: dict) -> list[str]:
    """Every architecture a base can name: the zoo's, then `architectures`."""
    return [*ZOO, *(cfg.get("architectures") or {})]


def value(cfg: dict, dataset: str, arch: str):
    """What builds `arch` on `dataset`: the zoo's layer list, or the architectures entry.
    (A training job's `arch` param: its value decides when the job reruns.)"""
    if arch in ZOO:
        return cfg["zoo"][dataset][arch]
    return (cfg.get("architectures") or {})[arch]


def _module_file(factory: str, root: Path) -> Path | None:
    """The file of a factory's module (None: not found), without running the module."""
    module = factory.rsplit(":", 1)[0]
    if module.endswith(".py"):
        path = root / module
        return path if path.is_file() else None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a parent package missing
        return None
    return Path(spec.origin) if spec and spec.origin else None


def files(arch, root=".") -> list[str]:
    """The work-tree files building `arch` reads (a job's inputs): a factory's module
    file, a saved model. Paths relative to `root` as written; an installed module outside
    the work tree is the code of the package, not an input."""
    if not isinstance(arch, dict):
        return []
    if "file" in arch:
        return [arch["file"]]
    path = _module_file(arch["factory"], Path(root))
    if path is None:
        return []
    try:
        return [str(path.resolve().relative_to(Path(root).resolve()))]
    except ValueError:
        return []


def _file_errors(where: str, entry: dict, root: Path) -> list[str]:
    path = root / entry["file"]
    if not path.is_file():
        return [f"{where}.file: {entry['file']} does not exist in the work tree"]
    actual = io.sha256(path)
    if actual != entry["sha256"]:
        return [f"{where}.file: {entry['file']} has sha256 {actual}, but {where}.sha256 pins {entry['sha256']}: "
                "the file changed; allowed: the pinned file (or pin the new one, which retrains on it)"]
    return []


def errors(cfg: dict, root=".") -> list[str]:
    """Validation of `architectures` and of every derived base's `arch` (TF-free)."""
    out, root = [], Path(root)
    for name, entry in (cfg.get("architectures") or {}).items():
        where = f"architectures.{name}"
        if name in ZOO:
            out.append(f"{where}: {name!r} is a zoo architecture; allowed: a new name")
        elif "file" in entry:
            out += _file_errors(where, entry, root)
        elif not FACTORY.match(entry["factory"]):
            out.append(f"{where}.factory: {entry['factory']!r}; allowed: 'module:function' or 'path/file.py:function'")
        elif _module_file(entry["factory"], root) is None:
            out.append(f"{where}.factory: module {entry['factory'].split(':')[0]} not found (a .py file is "
                       "relative to the work tree; a module must be importable)")
    allowed = names(cfg)
    for name, d in (cfg.get("derived") or {}).items():
        if "arch" in d and d["arch"] not in allowed:
            out.append(f"derived.{name}.arch: {d['arch']!r} is not an architecture; allowed: {', '.join(allowed)}")
    return out


# ---- building (job code: imports TensorFlow) -------------------------------------

def _factory(spec: str, root: Path):
    module, _, function = spec.rpartition(":")
    if module.endswith(".py"):
        path = root / module
        loader = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(mod)
    else:
        mod = importlib.import_module(module)
    try:
        return getattr(mod, function)
    except AttributeError:
        raise ArchitectureError(f"factory {spec}: {module} has no function {function!r}") from None


def _checked(model, where: str, input_shape, num_classes: int):
    """`model` if it takes the dataset's images and outputs one logit per class."""
    from tf_keras import Model, activations
    if not isinstance(model, Model):
        raise ArchitectureError(f"{where}: returned {type(model).__name__}, not a tf_keras model")
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise ArchitectureError(f"{where}: input shape {tuple(model.input_shape[1:])}; the dataset's is "
                                f"{tuple(input_shape)}")
    if tuple(model.output_shape[1:]) != (num_classes,):
        raise ArchitectureError(f"{where}: output shape {tuple(model.output_shape[1:])}; allowed: ({num_classes},), "
                                "one logit per class")
    last = model.get_layer(model.output_names[0])
    if getattr(last, "activation", None) is activations.softmax:
        raise ArchitectureError(f"{where}: layer {last.name} ends in a softmax; allowed: logits (the losses and "
                                "the distillation take logits)")
    return model


def build(arch, input_shape, num_classes: int, name: str = "model", root="."):
    """A fresh tf_keras model of `arch` (a zoo layer list or an architectures entry) for
    images of `input_shape` and `num_classes` classes."""
    from .. import models
    root = Path(root)
    if isinstance(arch, list):
        return models.build(arch, input_shape, num_classes, name=name)
    if "factory" in arch:
        where = f"factory {arch['factory']}"
        made = _factory(arch["factory"], root)(tuple(input_shape), num_classes, **(arch.get("kwargs") or {}))
        # In the job's precision with float32 logits, whatever dtypes the factory chose.
        return models.clone(_checked(made, where, input_shape, num_classes))
    errors = _file_errors(f"architecture {arch['file']}", arch, root)
    if errors:
        raise ArchitectureError(errors[0])
    import tf_keras as keras
    saved = keras.models.load_model(root / arch["file"], compile=False)
    _checked(saved, arch["file"], input_shape, num_classes)
    # clone_model draws fresh weights (with the job's seed); `weights: keep` trains from the file's own.
    return models.clone(saved if arch.get("weights") == "keep" else keras.models.clone_model(saved))
