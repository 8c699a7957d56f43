#!/usr/bin/env python
"""Test accuracy of one model trained from scratch with one seed and one precision.

    python benchmarks/seed_noise.py --dataset cifar10 --base student-scratch --precision float32 --seed 1

Trains exactly as the workflow's train job does (params.yaml, the prepared
data, one thread), measures the float32 copy on the full test set and prints
one markdown table row. Several seeds per precision give the seed-to-seed
spread that a float32-vs-bfloat16 difference has to be compared with
(benchmarks/seed-noise.md). `--summarize` reads the printed rows on stdin and
writes the per-group mean ± std tables.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def summarize(rows: list[str]) -> str:
    """Markdown: the rows this script printed, then mean ± std per dataset, base and precision,
    and each dataset's bfloat16 - float32 difference of the means."""
    import statistics

    runs = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows if r.startswith("|")]
    out = ["| dataset | base | precision | seed | test accuracy % | train s |", "|---|---|---|---|---|---|"]
    out += [f"| {' | '.join(r)} |" for r in sorted(runs, key=lambda r: (r[0], r[1], r[2], int(r[3])))]
    groups: dict[tuple, list[float]] = {}
    for ds, base, prec, _, acc, _ in runs:
        groups.setdefault((ds, base, prec), []).append(float(acc))
    out += ["", "| dataset | base | precision | seeds | mean % | std pp |", "|---|---|---|---|---|---|"]
    for (ds, base, prec), accs in groups.items():
        std = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        out.append(f"| {ds} | {base} | {prec} | {len(accs)} | {statistics.fmean(accs):.2f} | {std:.2f} |")
    out += ["", "| dataset | base | mean bfloat16 − float32 pp | larger seed std pp |", "|---|---|---|---|"]
    for ds, base in dict.fromkeys((k[0], k[1]) for k in groups):
        f32, bf16 = groups.get((ds, base, "float32")), groups.get((ds, base, "mixed_bfloat16"))
        if f32 and bf16 and len(f32) > 1 and len(bf16) > 1:
            diff = statistics.fmean(bf16) - statistics.fmean(f32)
            out.append(f"| {ds} | {base} | {diff:+.2f} | {max(statistics.stdev(f32), statistics.stdev(bf16)):.2f} |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    if argv is None and sys.argv[1:2] == ["--summarize"]:
        sys.stdout.write(summarize(sys.stdin.read().splitlines()))  # rows printed by earlier calls
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", required=True, help="a dataset of the catalog (catalog/datasets.py)")
    ap.add_argument("--base", choices=["teacher", "student-scratch"], required=True,
                    help="a base trained on the labels alone")
    ap.add_argument("--precision", choices=["float32", "mixed_bfloat16"], required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)

    import yaml

    from compressbench import data, matrix, models, training
    from compressbench.catalog import datasets

    cfg = yaml.safe_load(Path(args.params).read_text())
    t = cfg["train"]
    training.configure(args.seed, 1, args.precision)
    arrays = data.load_prepared(matrix.prepared(args.dataset))
    model = models.build_for(cfg, args.dataset, matrix.BASES[args.base].arch)
    start = time.perf_counter()
    training.train_supervised(model, arrays, epochs=t["epochs"][args.dataset][args.base],
                              batch_size=t["batch_size"], optimizer_name=t["optimizer"],
                              learning_rate=t["learning_rate"], augment=t["augment"],
                              flip=datasets.get(args.dataset, cfg).flip, seed=args.seed,
                              label=f"{args.dataset}/{args.base}")
    seconds = time.perf_counter() - start
    accuracy = training.accuracy(models.clone(model, "float32"), arrays["x_test"], arrays["y_test"])
    print(f"| {args.dataset} | {args.base} | {args.precision} | {args.seed} | {100 * accuracy:.2f} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
