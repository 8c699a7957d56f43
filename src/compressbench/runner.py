"""The entry every workflow script goes through: logging to the rule's log,
the CPU share, and one clear error line when a stage fails."""
from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("compressbench")


def setup_logging(logfile: str | None) -> None:
    handlers = [logging.StreamHandler(sys.stderr)]
    if logfile:
        os.makedirs(os.path.dirname(logfile) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")


def run(smk, main) -> None:
    """Call main(smk, threads); on failure log the traceback and exit naming the problem."""
    setup_logging(smk.log[0] if smk.log else None)
    wildcards = ", ".join(f"{k}={v}" for k, v in smk.wildcards.items())
    log.info("%s [%s] start", smk.rule, wildcards)
    try:
        main(smk, max(1, smk.threads))
    except Exception as exc:
        log.exception("%s [%s] failed", smk.rule, wildcards)
        raise SystemExit(f"error in {smk.rule} [{wildcards}]: {exc}") from None
    log.info("%s [%s] done", smk.rule, wildcards)
