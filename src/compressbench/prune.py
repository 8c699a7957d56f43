"""Pruning schemes: local and global magnitude pruning (tfmot), structured N:M
(tfmot), random pruning on the magnitude schedule (the baseline), and filter
pruning that rebuilds a physically smaller model."""
from __future__ import annotations

import math

import numpy as np
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from . import models, training
from .catalog import methods
from .filters import keep_filters, remove_filters  # noqa: F401 (filter pruning's home; kept importable here)
from .filters import plan as filters_plan
from .refusal import Refused

sparsity_api = tfmot.sparsity.keras
# Layer kinds a scheme's `layers` selects among those with a prunable weight
# (models.prunable_weight: conv, separable conv and dense kernels; a depthwise conv has none).
KINDS = {"conv": (keras.layers.Conv2D, keras.layers.SeparableConv2D), "dense": (keras.layers.Dense,),
         "all": (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.Dense)}


def selected(model, layers: str) -> list[str]:
    """Names of the layers a scheme acts on: conv, dense or all prunable layers."""
    return [l.name for l in model.layers if isinstance(l, KINDS[layers]) and models.prunable_weight(l) is not None]


# tfmot's schedules take a layer's sparsity below 1. One global ranking can claim a whole
# layer, which would also cut the network (at 80 % it took all 2,560 logits weights of the
# study's CIFAR-10 teacher, the smallest of its kernels); each layer keeps at least 1 %.
MAX_LAYER_SPARSITY = 0.99


def global_targets(kernels: dict[str, np.ndarray], sparsity: float) -> dict[str, float]:
    """Per-layer sparsities from one magnitude ranking over every kernel.

    The k smallest weights of the whole model are counted per layer, so the
    layers' targets differ but their zeros add up to exactly `sparsity` overall;
    a layer full at MAX_LAYER_SPARSITY passes its further weights to the next smallest."""
    names = list(kernels)
    # Each layer offers only its smallest MAX_LAYER_SPARSITY share; the k smallest offered win.
    offered = [np.sort(np.abs(kernels[n]), axis=None)[:int(MAX_LAYER_SPARSITY * kernels[n].size)] for n in names]
    owner = np.concatenate([np.full(o.size, i) for i, o in enumerate(offered)])
    k = int(round(sparsity * sum(kernels[n].size for n in names)))
    if k > owner.size:
        raise ValueError(f"global sparsity {sparsity} needs {k} zero weights, but with no layer beyond "
                         f"{MAX_LAYER_SPARSITY:.0%} these layers can give only {owner.size}")
    counts = np.bincount(owner[np.argsort(np.concatenate(offered), kind="stable")[:k]], minlength=len(names))
    return {n: float(counts[i] / kernels[n].size) for i, n in enumerate(names)}


def m_by_n_applies(layer, n: int) -> bool:
    """tfmot groups N:M along the input channels; a width not divisible by n
    (e.g. a 1-channel input conv) would silently stay dense, so it is skipped."""
    return models.prunable_weight(layer).shape[-2] % n == 0


def m_by_n_check(model, names: list[str], n: int) -> list[str]:
    """The selected layers N:M leaves dense (their input width is not a multiple of n);
    Refused, naming the first, when that leaves none to prune."""
    skipped = [name for name in names if not m_by_n_applies(model.get_layer(name), n)]
    if names and len(skipped) == len(names):
        width = models.prunable_weight(model.get_layer(skipped[0])).shape[-2]
        raise Refused(skipped[0], f"N:M groups {n} input channels, and its input has {width}; so has every "
                      "selected layer (a depthwise conv has no input channels to group: tfmot prunes none)")
    return skipped


def schedule_steps(total_steps: int, end_fraction: float, frequency: int) -> tuple[int, int]:
    """(end_step, frequency) that fit the fine-tune: the last mask update falls on
    end_step, inside the run, so the final sparsity is really reached."""
    freq = max(1, min(frequency, total_steps // 10))
    end = int(min(end_fraction * total_steps, total_steps - 1) // freq) * freq
    return max(end, freq), freq


def wrap(model, targets: dict[str, dict]):
    """A pruning-wrapped copy of `model`: layers named in `targets` get
    prune_low_magnitude(**targets[name]); the source model is left untouched."""
    copy = models.clone(model)  # the wrappers take over the layers they get

    def clone_fn(layer):
        if layer.name in targets:
            # The wrapper computes in its layer's precision (float32 logits under bf16).
            return sparsity_api.prune_low_magnitude(layer, dtype=layer.dtype_policy, **targets[layer.name])
        return layer

    return keras.models.clone_model(copy, clone_function=clone_fn)


class RandomPruning(keras.callbacks.Callback):
    """Random pruning on the magnitude schemes' schedule: every selected kernel gets
    fixed random scores; whenever the schedule updates the masks, the lowest-scored
    share (its sparsity at that step) is zeroed, and kept zero after every step."""

    def __init__(self, layers: list[str], schedule, seed: int):
        super().__init__()
        self.names, self.schedule, self.seed = layers, schedule, seed
        self.step = 0

    def on_train_begin(self, logs=None):
        rng = np.random.default_rng(self.seed)
        self.kernels = {n: models.prunable_weight(self.model.get_layer(n)) for n in self.names}
        self.scores = {n: rng.random(k.shape) for n, k in self.kernels.items()}
        self.masks = {n: np.ones(k.shape, dtype=np.float32) for n, k in self.kernels.items()}

    def on_train_batch_begin(self, batch, logs=None):
        update, sparsity = self.schedule(self.step)
        self.step += 1
        if bool(update):
            for n, score in self.scores.items():
                k = int(round(float(sparsity) * score.size))
                self.masks[n] = (score >= np.sort(score, axis=None)[k]).astype(np.float32) if k < score.size \
                    else np.zeros(score.shape, dtype=np.float32)

    def on_train_batch_end(self, batch, logs=None):
        for n, kernel in self.kernels.items():
            kernel.assign(kernel * self.masks[n])


def magnitude_plan(model, scheme: dict, total_steps: int) -> tuple[dict, list[str]]:
    """prune_low_magnitude arguments per layer for a scheme, and the skipped layers."""
    names = selected(model, scheme["layers"])
    if scheme["method"] == "m_by_n":
        skipped = m_by_n_check(model, names, scheme["n"])
        pruned = [n for n in names if n not in skipped]
        _, freq = schedule_steps(total_steps, 1.0, 100)
        # The schedule only times the mask updates; the N:M pattern sets the sparsity.
        sched = sparsity_api.ConstantSparsity(0.5, begin_step=0, frequency=freq)
        return ({n: dict(pruning_schedule=sched, sparsity_m_by_n=(scheme["m"], scheme["n"])) for n in pruned},
                skipped)
    if scheme["method"] == "global":
        kernels = models.prunable_kernels(model)
        targets = global_targets({n: kernels[n] for n in names}, scheme["sparsity"])
    else:
        targets = {n: scheme["sparsity"] for n in names}
    end, freq = schedule_steps(total_steps, scheme["end_fraction"], scheme["frequency"])
    plan = {}
    for name, final in targets.items():
        sched = sparsity_api.PolynomialDecay(initial_sparsity=min(scheme["initial_sparsity"], final),
                                             final_sparsity=final, begin_step=0, end_step=end,
                                             frequency=freq)
        plan[name] = dict(pruning_schedule=sched)
    return plan, []


# ---- the stage ------------------------------------------------------------------------

def check_filters(model, scheme: dict) -> None:
    """Refused, naming the conv, where filter removal cannot follow its channels (into a
    layer that joins branches, or one it cannot rebuild)."""
    filters_plan(model, scheme["fraction"])


def check_m_by_n(model, scheme: dict) -> None:
    """Refused, naming a layer, when no selected layer can take the N:M pattern."""
    m_by_n_check(model, selected(model, scheme["layers"]), scheme["n"])


def fine_tune_only(model, data: dict, scheme: dict, fit: dict, steps: int, seed: int):
    """The control: the same fine-tune, nothing pruned."""
    copy = models.clone(model)
    return copy, training.train_supervised(copy, data, **fit), []


def filters(model, data: dict, scheme: dict, fit: dict, steps: int, seed: int):
    """Filter removal: a physically smaller model, fine-tuned."""
    small = remove_filters(model, scheme["fraction"])
    return small, training.train_supervised(small, data, **fit), []


def random(model, data: dict, scheme: dict, fit: dict, steps: int, seed: int):
    """The baseline: magnitude's schedule, random ranking."""
    copy = models.clone(model)
    end, freq = schedule_steps(steps, scheme["end_fraction"], scheme["frequency"])
    sched = sparsity_api.PolynomialDecay(initial_sparsity=scheme["initial_sparsity"],
                                         final_sparsity=scheme["sparsity"], begin_step=0, end_step=end,
                                         frequency=freq)
    mask = RandomPruning(selected(copy, scheme["layers"]), sched, seed)
    return copy, training.train_supervised(copy, data, callbacks=[mask], **fit), []


def magnitude(model, data: dict, scheme: dict, fit: dict, steps: int, seed: int):
    """tfmot's prune_low_magnitude (local, global or N:M targets, magnitude_plan)."""
    plan, skipped = magnitude_plan(model, scheme, steps)
    wrapped = wrap(model, plan)
    history = training.train_supervised(wrapped, data, callbacks=[sparsity_api.UpdatePruningStep()], **fit)
    return sparsity_api.strip_pruning(wrapped), history, skipped


def prune(model, data: dict, scheme: dict, fine_tune: dict, *, seed: int, label: str, style: dict | None = None):
    """Prune and fine-tune a copy of `model` with the scheme's registered method; return
    (pruned model, history, skipped layers). Every method fine-tunes with the same
    `fine_tune` settings in the protocol family's `style` (training.fine_tune_keywords),
    the control too; a scheme's own `epochs` replace the settings' (a budget sweep).
    Refused (before training, naming the layer) where the scheme cannot apply."""
    fine_tune = fine_tune | ({"epochs": scheme["epochs"]} if "epochs" in scheme else {})  # a scheme's own budget
    steps = fine_tune["epochs"] * math.ceil(len(data["x_train"]) / fine_tune["batch_size"])
    fit = training.fine_tune_keywords(fine_tune, style) | dict(seed=seed, label=label)
    check(model, scheme)
    return methods.get(scheme["method"], methods.PRUNE).function()(model, data, scheme, fit, steps, seed)


def check(model, scheme: dict) -> None:
    """Refused (naming the layer and why) when the scheme's method cannot apply to `model`
    (its registered check: filter removal into a layer that joins branches, N:M where no
    selected layer can take the pattern). Cheap, before any training."""
    method = methods.get(scheme["method"], methods.PRUNE)
    if method.check:
        method.check_function()(model, scheme)
