"""Which cell each compressed variant is compared with (controls.py): chosen by the
methods' roles and traits (catalog.methods), never by a scheme's name."""
import copy

import pytest

from compressbench import controls, params

HAVE = {"ta+none+float32", "ta+none+qat", "ta+none+float32-ft", "ta+finetune+float32", "ta+finetune+ptq-int8",
        "ta+global+float32", "ta+global+ptq-int8", "ta+global+qat", "ta+none+ptq-int8"}


@pytest.fixture(scope="module")
def cfg():
    return params.load(params.ROOT / "params.yaml")


def test_a_pruned_variant_is_paired_with_the_same_fine_tune_unpruned(cfg):
    assert controls.control(cfg, "ta+global+ptq-int8", HAVE) == controls.Reference("ta+finetune+ptq-int8", True)
    assert controls.pruning_control(cfg, "ta+finetune+float32", HAVE) is None  # the control has none
    assert controls.pruning_control(cfg, "ta+global+qat", HAVE) is None  # ta+finetune+qat is not in the run


def test_unpruned_qat_is_paired_with_float32_ft_and_pruned_qat_with_its_float32_export_marked_unequal(cfg):
    assert controls.control(cfg, "ta+none+qat", HAVE) == controls.Reference("ta+none+float32-ft", True)
    ref = controls.quantization_reference(cfg, "ta+global+qat", HAVE)
    assert ref == controls.Reference("ta+global+float32", False) and "no equal-budget control" in ref.note
    assert controls.quantization_reference(cfg, "ta+none+ptq-int8", HAVE) == controls.Reference("ta+none+float32", True)
    assert controls.control(cfg, "ta+none+float32", HAVE) is None
    assert controls.control(cfg, "ta+none+float32-ft", HAVE) is None


def test_a_float32_ft_control_of_a_pruned_model_is_not_equal_budget(cfg):
    have = {"ta+global+qat", "ta+global+float32-ft", "ta+global+float32"}
    assert controls.quantization_reference(cfg, "ta+global+qat", have) == controls.Reference(
        "ta+global+float32-ft", False)


def test_renamed_schemes_pair_the_same_way_because_controls_read_the_methods(cfg):
    renamed = copy.deepcopy(cfg)
    p, q = renamed["prune"]["schemes"], renamed["quantize"]["schemes"]
    p["same-ft"], q["f32"], q["q8"], q["q8-control"] = p.pop("finetune"), q.pop("float32"), q.pop("qat"), q.pop(
        "float32-ft")
    have = {"ta+global+f32", "ta+same-ft+f32", "ta+none+q8", "ta+none+q8-control", "ta+none+f32", "ta+global+q8"}
    assert controls.control(renamed, "ta+global+f32", have) == controls.Reference("ta+same-ft+f32", True)
    assert controls.control(renamed, "ta+none+q8", have) == controls.Reference("ta+none+q8-control", True)
    assert controls.quantization_reference(renamed, "ta+global+q8", have) == controls.Reference("ta+global+f32", False)
    assert controls.names(renamed) == {"prune": "same-ft", "quant": "q8-control", "reference": "f32"}


def test_a_budget_sweeps_pruned_cell_is_paired_with_the_control_of_its_own_fine_tune_epochs(cfg):
    # the default sweeps global pruning and its control over 1 and 5 epochs (2: global, finetune)
    have = {"kd+finetune-e1+float32", "kd+finetune+float32", "kd+finetune-e5+float32"}
    for pruned, control in [("global-e1", "finetune-e1"), ("global", "finetune"), ("global-e5", "finetune-e5")]:
        assert controls.pruning_control(cfg, f"kd+{pruned}+float32", have) == controls.Reference(
            f"kd+{control}+float32", True)
    # none of the same budget in the run: no control, rather than one of another budget
    assert controls.pruning_control(cfg, "kd+global-e5+float32", {"kd+finetune+float32"}) is None
