"""Which cell each compressed variant is compared with (controls.py)."""
from compressbench import controls

HAVE = {"ta+none+float32", "ta+none+qat", "ta+none+float32-ft", "ta+finetune+float32", "ta+finetune+ptq-int8",
        "ta+global+float32", "ta+global+ptq-int8", "ta+global+qat", "ta+none+ptq-int8"}


def test_a_pruned_variant_is_paired_with_the_same_fine_tune_unpruned():
    assert controls.control("ta+global+ptq-int8", HAVE) == controls.Reference("ta+finetune+ptq-int8", True)
    assert controls.pruning_control("ta+finetune+float32", HAVE) is None  # the control has none
    assert controls.pruning_control("ta+global+qat", HAVE) is None  # ta+finetune+qat is not in the run


def test_unpruned_qat_is_paired_with_float32_ft_and_pruned_qat_with_its_float32_export_marked_unequal():
    assert controls.control("ta+none+qat", HAVE) == controls.Reference("ta+none+float32-ft", True)
    ref = controls.quantization_reference("ta+global+qat", HAVE)
    assert ref == controls.Reference("ta+global+float32", False) and "no equal-budget control" in ref.note
    assert controls.quantization_reference("ta+none+ptq-int8", HAVE) == controls.Reference("ta+none+float32", True)
    assert controls.control("ta+none+float32", HAVE) is None and controls.control("ta+none+float32-ft", HAVE) is None


def test_a_float32_ft_control_of_a_pruned_model_is_not_equal_budget():
    have = {"ta+global+qat", "ta+global+float32-ft", "ta+global+float32"}
    assert controls.quantization_reference("ta+global+qat", have) == controls.Reference("ta+global+float32-ft", False)
