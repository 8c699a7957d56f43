"""The cells of the matrix: the product of its axes and seeds, less what `matrix.only` excludes."""
import copy

from compressbench import matrix as M


def test_only_limits_a_scheme_to_some_cells_and_leaves_the_product_elsewhere(cfg):
    c = copy.deepcopy(cfg)
    c["derived"] = {}
    c["matrix"].update(datasets=["mnist"], bases=["teacher", "student-kd"], prune=["none", "global"],
                       quant=["float32", "qat", "float32-ft"], only={"float32-ft": {"prune": ["none"]}}, replicates=[],
                       cluster=["none"])
    cells = M.cells(c)
    ft = [x.variant for x in cells if x.quant == "float32-ft"]
    assert ft == ["teacher+none+float32-ft", "student-kd+none+float32-ft"]
    # the full product without the control, each QAT cell's integer-only export, the control's two cells
    assert len(cells) == 2 * 2 * 2 + 2 * 2 + 2
    c["matrix"]["only"] = {"global": {"bases": ["student-kd"], "quant": ["float32"]}}
    assert [x.variant for x in M.cells(c) if x.prune == "global"] == ["student-kd+global+float32"]


def test_qats_control_is_a_training_export_like_qat_not_a_conversion(cfg):
    assert "float32-ft" in M.control_schemes(cfg) and "qat" in M.qat_schemes(cfg)
    assert "float32-ft" not in M.ptq_schemes(cfg) and "ptq-int8" in M.ptq_schemes(cfg)


def _small(cfg, **matrix):
    c = copy.deepcopy(cfg)
    c["derived"] = {}
    c["matrix"].update({"datasets": ["mnist"], "bases": ["teacher", "student-kd"], "prune": ["none", "finetune"],
                        "quant": ["float32", "qat"], "only": {}, "replicates": [], "cluster": ["none"]} | matrix)
    return c


def test_replicates_add_training_seeds_and_fine_tune_seeds_to_the_cells_they_select(cfg):
    c = _small(cfg, replicates=[{"bases": ["student-kd"], "prune": ["none"], "quant": ["float32"], "seeds": [0, 1]},
                                {"bases": ["student-kd"], "ft_seeds": [0, 2]}])
    runs = {(x.variant, x.seed, x.ft) for x in M.cells(c) if not x.quant.endswith(M.INT8_IO)}
    assert {("student-kd+none+float32", s, 0) for s in (0, 1)} <= runs
    # fine-tune seeds where the cell trains after its base model only (not a plain export)
    assert ("student-kd+none+float32", 0, 2) not in runs
    assert {("student-kd+none+qat", 0, 2), ("student-kd+finetune+float32", 0, 2)} <= runs
    assert {(v, s, f) for v, s, f in runs if v.startswith("teacher")} == {
        (f"teacher+{p}+{q}", 0, 0) for p in ("none", "finetune") for q in ("float32", "qat")}


def test_a_teacher_trains_once_for_students_of_every_seed(cfg):
    c = _small(cfg, replicates=[{"bases": ["student-kd"], "seeds": [0, 1, 2]}])
    assert [M.teacher_seed(c, "mnist", s, "teacher") for s in (0, 1, 2)] == [0, 0, 0]
    models = M.base_models(c)
    assert [m for m in models if m[2] == "teacher"] == [("mnist", 0, "teacher")]
    assert [m for m in models if m[2] == "student-kd"] == [("mnist", s, "student-kd") for s in (0, 1, 2)]


def test_students_learn_from_the_teacher_of_their_seed_where_it_is_trained_with_it(cfg):
    # the default trains teacher-study5 with 3 seeds (params.yaml replicates), the matrix's
    # teacher once: a student of seed 3 (none by default) would learn from seed 0's
    assert M.bases(cfg)["student-kd-quant6"].teacher == "teacher-study5"
    assert [M.teacher_seed(cfg, ds, s, "teacher-study5") for ds in ("mnist", "cifar10") for s in range(4)] == [
        0, 1, 2, 0] * 2
    # the converged MNIST teacher and TA train with 3 seeds (replicates), CIFAR-10's once
    assert [M.teacher_seed(cfg, "mnist", s, b) for b in ("teacher", "ta") for s in (1, 2)] == [1, 2] * 2
    assert [M.teacher_seed(cfg, "cifar10", s, b) for b in ("teacher", "ta") for s in (1, 2)] == [0] * 4


def test_derived_bases_run_beside_the_matrix_in_their_own_cells_with_their_teachers(cfg):
    c = _small(cfg)
    c["derived"] = {"kd-hot": {"like": "student-kd", "distill": {"temperature": 40}, "quant": ["float32", "qat"]},
                    "takd-hot": {"like": "student-takd", "teacher": "ta-hot"},
                    "ta-hot": {"like": "ta", "datasets": ["mnist"]}}
    derived = [x.variant for x in M.cells(c) if x.base.endswith("-hot") and not x.quant.endswith(M.INT8_IO)]
    assert derived == ["kd-hot+none+float32", "kd-hot+none+qat", "takd-hot+none+float32", "ta-hot+none+float32"]
    info = M.bases(c)
    assert (info["takd-hot"].teacher, info["takd-hot"].rule, info["takd-hot"].arch) == ("ta-hot", "distill_student",
                                                                                        "student")
    assert M.root(c, "takd-hot") == "student-takd"
    assert M.base_model(c, "mnist", 0, "ta-hot") == "models/teacher_assistant/mnist/s0/ta-hot.keras"


def test_fine_tune_seed_zero_keeps_the_training_seed_and_others_differ():
    assert M.job_seed(3, 0) == 3
    assert len({M.job_seed(s, f) for s in range(3) for f in range(3)}) == 9


def test_every_qat_cell_has_its_integer_only_export_and_no_other_cell_does(cfg):
    c = _small(cfg)
    quants = {x.variant: x.quant for x in M.cells(c)}
    assert {v for v, q in quants.items() if q.endswith(M.INT8_IO)} == {
        v.replace("+qat", "+qat-int8io") for v, q in quants.items() if q == "qat"}
    assert M.quant_method(c, "qat-int8io").name == "int8io" and M.quant_method(c, "ptq-int8").name == "int8"


def test_a_cluster_step_adds_a_fourth_name_part_only_where_it_is_present(cfg):
    c = _small(cfg, cluster=["none", "cluster-16"], only={"cluster-16": {"prune": ["finetune"], "quant": ["float32"]}})
    names = [x.variant for x in M.cells(c)]
    assert "teacher+finetune+cluster-16+float32" in names and "teacher+finetune+float32" in names
    assert not [n for n in names if "cluster-16" in n and "+none+" in n]
    assert M.parse_variant("teacher+finetune+cluster-16+float32") == ("teacher", "finetune", "cluster-16", "float32")
    assert M.parse_variant("teacher+finetune+float32") == ("teacher", "finetune", "none", "float32")
    cell = next(x for x in M.cells(c) if x.cluster != "none")
    # Paths carry each wildcard in its own segment: nothing is parsed back from a name.
    assert M.cell_tflite(cell) == "tflite/mnist/s0/f0/teacher/finetune/cluster-16/float32.tflite"
    assert M.cell_model(c, cell) == "models/cluster/mnist/s0/f0/teacher/finetune/cluster-16.keras"
    plain = next(x for x in M.cells(c) if x.cluster == "none" and x.prune == "finetune")
    assert M.cell_tflite(plain) == f"tflite/mnist/s0/f0/teacher/finetune/none/{plain.quant}.tflite"


def test_the_teacher_heads_the_longest_chain_of_students(cfg):
    assert [M.chain_below(cfg, b) for b in ("teacher", "ta", "student-takd", "student-scratch")] == [2, 1, 0, 0]
    assert M.chain_below(cfg, "teacher-study5") == 1  # its quantization-notebook students
