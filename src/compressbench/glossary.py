"""One line per term of the first screen: the report's folded glossary and README's
Glossary hold the same text (tests/test_first_screen.py)."""
from __future__ import annotations

from . import forgetting, selection
from . import reproduction as R
from .overview import NONE_THIS_SMALL, folded
from .results import EFFICIENCY_WITHIN_PP, TEACHER
from .selection import TARGETS


# One line per term of the first screen (and of README's Glossary, which holds the same
# text: tests/test_first_screen.py). "a / b" names terms defined together.
GLOSSARY = {
    "phase": "one of the eight steps of the DAG, each a DVC stage: `download`, `train_baseline`, "
             "`teacher_assistant`, `student_distill`, `prune`, `quantize`, `evaluate`, `report`.",
    "rule": "a Snakemake rule, the recipe of one kind of job (`train_teacher`, `prune`, `convert`, …); every "
            "rule belongs to one phase.",
    "job": "one run of a rule for one set of wildcards, one process (e.g. `prune` for mnist, seed 0, fine-tune "
           "seed 0, `student-kd+local-all`).",
    "base": "a trained model the compression starts from: `teacher`, `ta`, `student-scratch`, `student-kd`, "
            "`student-takd`, or a derived base (`params.yaml` `derived`): one of those trained with some settings "
            "changed (its protocol family, architecture or KD settings), e.g. `student-kd-st` (the study's "
            "protocol) or `mobilenet-kd` (the MobileNet-style student).",
    "scheme / sweep": "a named setting of one technique in `params.yaml` (`prune.schemes`, `cluster.schemes`, "
                      "`quantize.schemes`), e.g. `global` or `ptq-int8`; a sweep is a scheme (or derived base) "
                      "with a list of numbers in one setting: one entry per value, named by it (`global-s0.875`).",
    "variant": "`base+prune+quant`, one compressed model, e.g. `student-kd+global+ptq-int8` (`none` = no "
               "pruning), or `base+prune+cluster+quant` after a cluster step; every QAT export also comes "
               "integer-only (int8 input and output) as `<scheme>-int8io`, from the same training.",
    "cell": "one variant of one dataset, training seed and fine-tune seed: one `.tflite`, one row of "
            "`reports/results.csv`; `matrix.replicates` gives some cells more seeds.",
    "trained model": "what one training or fine-tune produced; its float32, dynamic-range, float16 and int8 "
                     "exports are one model, one row in every claim and count.",
    "seeds / n": "independently trained copies of a base model (training seeds; fine-tune seeds of one trained "
                 "model average into one); n = how many a number is the mean of.",
    "protocol family": "how a group of base models is trained (`train`, `families`), each result belongs to "
                       "one; recipes and the Pareto front are chosen among the variants of the matrix's family "
                       "(`matrix.protocol`) only.",
    "converged": "the matrix's protocol family by default (`families.converged`): a cosine-decayed rate, larger "
                 "batches, augmentation where a dataset gains from it, trained on the split without the "
                 "validation images, so their validation accuracy is unseen (its settings: the run summary).",
    "study / twin": "the study's protocol family (`train`: Adam at a constant 1e-3, batch 32, the whole training "
                    "split, validation images included); a twin (`-st`) is a matrix base trained under it, paired "
                    "with its role by `claims.protocols`.",
    "protocol settings": "how a family trains: optimizer, learning rate (its schedule), batch size, data "
                         "(`train`: without the validation images; `train+val`: all of them), augmentation, "
                         "precision; the bases that differ are named after a semicolon.",
    "epochs": "passes over the training data, per dataset and base (`train.epochs`, "
              "`families.<family>.epochs`, a derived base's own).",
    "KD": "knowledge distillation: a student trained on its teacher's softened logits; alpha = the weight of "
          "the hard-label loss, T = the temperature, T² = the soft loss scaled by T² (the study's loss has none).",
    "architecture": "what a base is built from: the study's layer stacks (`zoo`: teacher, TA, student; "
                    f"*{selection.STUDY_STACKS}*) or a catalog architecture named in `architectures` (e.g. "
                    "`mobilenet`); target recipes are chosen per architecture.",
    "recipe": "a variant chosen for a purpose (the most accurate, the best at a target compression, the "
              "smallest within N pp of the teacher), on validation accuracy, reported with its test accuracy.",
    "target": f"a compression a practitioner asks for ({', '.join(f'≥ {t:g}×' for t in TARGETS)}): the recipe "
              "most accurate on validation among the variants at least that much smaller than the teacher, per "
              f"architecture; *{NONE_THIS_SMALL}* when none is.",
    "compression ×": f"the teacher's gzip bytes / the variant's; the teacher is `{TEACHER}`, the float32 "
                     "teacher of the matrix's family and the same dataset.",
    "gzip KB": "the size of the `.tflite` after `gzip -9` in 10³ bytes: what a download costs, pruning's zeros "
               "compressed.",
    "val % / test %": "accuracy on the validation split (what recipes are chosen on) / the test split (what is "
                      "reported).",
    "95 % CI": "the t-based 95 % confidence interval of a mean or a difference (paired or Welch); after a test "
               "accuracy, its half-width in pp, from the variant's training seeds or with one seed its family's "
               "pooled spread.",
    "loss vs teacher": "the teacher's test accuracy − the variant's, pp (negative: the variant is more "
                       "accurate), with its 95 % CI (paired where both come from one trained model, else Welch).",
    "Δ pp": f"the variant's test accuracy − that of `{TEACHER}` of the same dataset, percentage points.",
    "control": "the variant a compressed variant is compared with (*Δ pp vs control*, `controls.py`): at equal "
               "training, `base+finetune+Q` for a pruned one and `base+none+float32-ft` for unpruned QAT; a "
               "post-training export against its float32 export; where no equal-budget control runs, the "
               "reference had less training and is marked with an asterisk.",
    "agreement": "the share of test images a variant predicts as its uncompressed model does.",
    "worst class drop": "the largest per-class test-accuracy loss against the uncompressed model, pp; a recipe "
                        f"*loses a class* when it is ≥ {forgetting.LOST_CLASS_PP:g} pp more than its overall "
                        "loss.",
    "best efficiency": "the highest accuracy per gzip MB (chosen on validation) among the variants within "
                       f"{EFFICIENCY_WITHIN_PP:g} pp of the teacher (per MB alone rewards a tiny useless model).",
    "Pareto front": "the variants no other beats on both axes: none is at least as accurate on validation and at "
                    "most as large in gzip bytes, and strictly better in one.",
    "beyond noise / within noise": "a difference whose test rejects \"no difference\" at `claims.alpha` "
                                   "(after the claim's correction) / one that does not.",
    "one-sided test": "of \"a is not more accurate than b\": Welch's t over both sides' seeds, or one seed "
                      "against the other side's one-sided prediction bound.",
    "prediction interval": "where one new run of a configuration lands with 95 % probability: mean ± "
                           "t·s·sqrt(1 + 1/n), from its own seeds or its family's pooled spread.",
    "TOST / equivalence": "two one-sided tests: a \"no loss\" claim (C4, C5) passes a row only when the 90 % "
                          "CI of its loss lies inside ±margin (`claims.c4_margin_pp`, `c5_margin_pp`), never "
                          "because a difference is within noise.",
    "claim": "one of the study's five statements (C1–C5), tested on our numbers by the rule stated with it.",
    "confirmed / refuted / not shown / not run": "a claim's verdict per dataset and protocol family, by its "
                                                 "rule: shown beyond noise / its opposite shown / neither / the "
                                                 "variants it needs are not in the run.",
    "reproduction rows": "the numbers the study published (`reports/reference/`), each next to ours from a run "
                         "with that row's protocol.",
    "within noise / ours higher / ours lower": "an accuracy row's verdict: the study's number inside / below / "
                                               "above the 95 % prediction interval of one new run of ours.",
    "same size / ours larger / ours smaller / formats differ": "a size row's verdict: .tflite sizes within "
                                                               f"{100 * R.SIZE_TOLERANCE:g} % or not; formats "
                                                               "differ: the study's gzip bytes are of a Keras .h5 "
                                                               "file, ours of a .tflite.",
    "published %": "the study's test accuracy where its reproduction row is this very base (the notebook named).",
}


def glossary() -> list[str]:
    """The folded glossary: one line per GLOSSARY term."""
    return folded("Glossary: every term of the first screen in one line",
                  [*(f"- **{term}**: {text}" for term, text in GLOSSARY.items()), ""])
