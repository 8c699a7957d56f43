"""Ship the choice: one command copies a chosen variant's .tflite out of a finished
run with a model card beside it (recipe, protocol, accuracy with its 95 % CI, size,
latency with its spread, arena estimate, input/output types and scales, the commit
and the params it came from).

    python -m compressbench.export student-kd+global+aeq-int8 --dataset cifar10 --out ship/
    python -m compressbench.export --compression 10 --dataset cifar10 --out ship/

The second form picks from reports/results.csv the most accurate cell at least that
many times smaller (gzip) than the teacher; ties go to the smaller file.
"""
from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from . import io, matrix

Z95 = 1.959964


class ExportError(ValueError):
    """The variant or target cannot be exported (named in the message)."""


def wilson(accuracy: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson 95 % interval of an accuracy measured on n images.

    >>> [round(v, 4) for v in wilson(0.9, 10000)]
    [0.894, 0.9057]
    """
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def choose(results: pd.DataFrame, dataset: str, compression: float, params: dict | None = None) -> pd.Series:
    """The first screen's recipe at `compression`: among the rows of `dataset` at least that much
    smaller than the teacher (of the matrix's protocol family, with resolved `params`), the variant
    most accurate on validation over its runs (test accuracy where the results have no validation
    accuracy), the smaller on a tie; its first run (training seed, then fine-tune seed)."""
    from . import selection
    rows = results[(results["dataset"] == dataset) & (results["compression_ratio"] >= compression)]
    if params is not None and len(rows):
        rows = rows[selection.in_matrix_family(rows, params).to_numpy()]
    if rows.empty:
        best = results.loc[results["dataset"] == dataset, "compression_ratio"].max()
        raise ExportError(f"no {dataset} cell is {compression}x smaller than the teacher (the most: {best:.2f}x)")
    by = selection.selected_by(rows)
    means = rows.groupby("variant").agg(score=(by, "mean"), gzip=("gzip_bytes", "mean"))
    variant = means.sort_values(["score", "gzip"], ascending=[False, True], kind="mergesort").index[0]
    return rows[rows["variant"] == variant].sort_values(["seed", "ft_seed"], kind="mergesort").iloc[0]


def _scheme(params: dict, section: str, name: str):
    return params.get(section, {}).get("schemes", {}).get(name, "none" if name == "none" else "not in params.yaml")


def _io_lines(tflite: Path) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(tflite))
    out = []
    for kind, details in (("input", interp.get_input_details()), ("output", interp.get_output_details())):
        for d in details:
            scale, zero = d["quantization"]
            q = f", scale {scale:.8g}, zero point {zero}" if scale else ""
            out.append(f"- {kind} `{d['name']}`: {d['dtype'].__name__} {[int(v) for v in d['shape']]}{q}")
    return out


def model_card(metrics: dict, tflite: Path, params: dict, commit: str, n_test: int | None) -> str:
    """The markdown card of one exported cell (its metrics record and the run's params)."""
    m, base = metrics, metrics["base"]
    acc = m["accuracy"]
    ci = f" (95 % CI {wilson(acc, n_test)[0]:.2%} to {wilson(acc, n_test)[1]:.2%}, {n_test} test images)" if n_test else ""
    lat = (f"{m['latency_ms']} ms median at 1 thread (95 % CI {m.get('latency_ci_low_ms')} to "
           f"{m.get('latency_ci_high_ms')}, IQR {m.get('latency_iqr_ms')} ms); {m.get('latency_all_ms')} ms at "
           f"{m.get('latency_threads')} threads (IQR {m.get('latency_all_iqr_ms')} ms); {m.get('latency_delegate')}, "
           f"on {m.get('latency_cpu', m.get('cpu'))}") if "latency_ci_low_ms" in m else f"{m.get('latency_ms')} ms"
    recipe = {"base": base, "protocol": params.get("protocols", {}).get(m["dataset"], {}).get(base, "see params.yaml"),
              "prune": _scheme(params, "prune", m["prune"]), "cluster": _scheme(params, "cluster", m["cluster"]),
              "quantize": _scheme(params, "quantize", m["quant"])}
    return "\n".join([
        f"# {m['variant']} ({m['dataset']}, seed {m['seed']}, fine-tune seed {m['ft_seed']})", "",
        f"- file: `{tflite.name}`, {m['tflite_bytes']} bytes ({m['gzip_bytes']} gzip -9)",
        f"- accuracy: {acc:.2%}{ci}",
        f"- latency: {lat}",
        f"- tensor arena: ~{m.get('arena_bytes_estimate', 'n/a')} bytes (an estimate: the peak of the "
        "activation tensors live at once in execution order, read from the .tflite; scratch buffers not counted)",
        f"- params {m['params']} ({m['nonzero_params']} non-zero), MACs {m['macs']} ({m['nonzero_macs']} non-zero)",
        *_io_lines(tflite),
        f"- from commit `{commit}`", "",
        "## Recipe (params.yaml of the run)", "", "```yaml",
        yaml.safe_dump(recipe, sort_keys=False, default_flow_style=None).rstrip(), "```", ""])


def _commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def export(variant: str, dataset: str, seed: int, ft: int, out: Path, root: Path = Path("."),
           params: dict | None = None) -> Path:
    """Copy the cell's .tflite into `out` with `<variant>.md` beside it; returns the .tflite."""
    base, prune, cluster, quant = matrix.parse_variant(variant)  # the name the user gave
    src = root / matrix.tflite(dataset, seed, ft, base, prune, quant, cluster)
    metrics_path = root / matrix.metrics(dataset, seed, ft, base, prune, quant, cluster)
    if not src.is_file() or not metrics_path.is_file():
        raise ExportError(f"{variant} ({dataset}, s{seed}, f{ft}): {src} or {metrics_path} is missing; "
                          f"run `snakemake --cores all {metrics_path}` first")
    if params is None:
        from . import params as P
        params = P.load(root / "params.yaml")
    facts = root / matrix.record(matrix.prepared(dataset))
    n_test = io.read_json(facts).get("counts", {}).get("test") if facts.is_file() else None
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"{dataset}-{variant}.tflite"
    shutil.copyfile(src, dest)
    io.write_text(dest.with_suffix(".md"), model_card(io.read_json(metrics_path), dest, params, _commit(root), n_test))
    return dest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m compressbench.export", description=__doc__.split("\n\n")[0])
    ap.add_argument("variant", nargs="?", help="e.g. student-kd+global+aeq-int8 (or give --compression)")
    ap.add_argument("--dataset", required=True, help="a dataset of the run (matrix.datasets)")
    ap.add_argument("--compression", type=float, help="pick the most accurate cell at least this many times smaller")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ft", type=int, default=0, help="fine-tune seed")
    ap.add_argument("--root", type=Path, default=Path("."), help="the run's working tree")
    ap.add_argument("--results", help="default: <root>/reports/results.csv")
    ap.add_argument("--out", type=Path, default=Path("export"))
    args = ap.parse_args(argv)
    try:
        if (args.variant is None) == (args.compression is None):
            raise ExportError("give a variant or --compression, not both")
        variant, seed, ft = args.variant, args.seed, args.ft
        if args.compression is not None:
            from . import params as P
            row = choose(pd.read_csv(args.results or args.root / "reports/results.csv"), args.dataset, args.compression,
                         P.load(args.root / "params.yaml"))
            variant, seed, ft = row["variant"], int(row["seed"]), int(row["ft_seed"])
        dest = export(variant, args.dataset, seed, ft, args.out, args.root)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{dest} and {dest.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
