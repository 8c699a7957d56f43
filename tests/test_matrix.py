"""The cells of the matrix: the product of its axes and seeds, less what `matrix.only` excludes."""
import copy

from compressbench import matrix as M


def test_only_limits_a_scheme_to_some_cells_and_leaves_the_product_elsewhere(cfg):
    c = copy.deepcopy(cfg)
    c["matrix"].update(datasets=["mnist"], bases=["teacher", "student-kd"], prune=["none", "global"],
                       quant=["float32", "qat", "float32-ft"], only={"float32-ft": {"prune": ["none"]}})
    cells = M.cells(c)
    ft = [x.variant for x in cells if x.quant == "float32-ft"]
    assert ft == ["teacher+none+float32-ft", "student-kd+none+float32-ft"]
    assert len(cells) == 2 * 2 * 2 + 2  # the full product without the control, plus its two cells
    c["matrix"]["only"] = {"global": {"bases": ["student-kd"], "quant": ["float32"]}}
    assert [x.variant for x in M.cells(c) if x.prune == "global"] == ["student-kd+global+float32"]


def test_qats_control_is_a_training_export_like_qat_not_a_conversion(cfg):
    assert "float32-ft" in M.qat_schemes(cfg) and "qat" in M.qat_schemes(cfg)
    assert "float32-ft" not in M.ptq_schemes(cfg) and "ptq-int8" in M.ptq_schemes(cfg)
