"""The entry every workflow script goes through: logging, the CPU share, one
clear error line when a job fails, and the record beside each artefact naming
the rule and job that wrote it.

The terminal gets the project's own lines; everything else a job's process
writes to stderr (TensorFlow's C++ warnings, absl, Python warnings) and every
traceback goes to the job's log only.

Interruptions: SIGTERM (what `timeout`, CI cancellation, systemd and `docker stop`
send) and Ctrl-C's SIGINT end a job at once, at any moment from its first import:
the temporary files of its writes are removed on the way out (io.atomic_path), and
it exits 128 + the signal's number with one line in its log, never a traceback."""
from __future__ import annotations

import logging
import os
import signal
import sys

from . import io, machine, refusal

log = logging.getLogger("compressbench")
_trace = logging.getLogger("compressbench.trace")  # the job's log only
_terminal = sys.stderr  # where the user-facing lines go (Snakemake's terminal)


class Interrupted(BaseException):
    """A signal asked the job to stop (BaseException: no `except Exception` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum, _frame):
    raise Interrupted(signum)


def _exit_quietly(kind, exc, tb, _default=sys.excepthook):
    """An interruption outside run() (while the script is still importing): no traceback."""
    if issubclass(kind, (Interrupted, KeyboardInterrupt)):
        sys.stderr.flush()
        os._exit(128 + getattr(exc, "signum", signal.SIGINT))
    _default(kind, exc, tb)


def handle_interruptions() -> None:
    """SIGTERM and SIGINT raise Interrupted; a SIGINT ignored by the launcher stays ignored."""
    signal.signal(signal.SIGTERM, _raise_interrupted)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _raise_interrupted)
    sys.excepthook = _exit_quietly


# Every workflow script imports this module first: a Snakemake job's __main__ has `snakemake`.
if hasattr(sys.modules.get("__main__"), "snakemake"):
    handle_interruptions()


def setup_logging(logfile: str | None) -> None:
    """The project's lines to the terminal and the log; every other logger (TensorFlow,
    absl, tfmot) and the process's stderr to the log only."""
    terminal = sys.stderr
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    to_log = []
    if logfile:
        os.makedirs(os.path.dirname(logfile) or ".", exist_ok=True)
        fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        terminal = os.fdopen(os.dup(2), "w", buffering=1)
        os.dup2(fd, 2)  # C++ libraries write to fd 2 directly
        os.close(fd)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        to_log.append(logging.StreamHandler(sys.stderr))
    to_terminal = logging.StreamHandler(terminal)
    for handler in (to_terminal, *to_log):
        handler.setFormatter(fmt)
    logging.basicConfig(level=logging.INFO, handlers=to_log or [to_terminal], force=True)
    log.handlers, log.propagate, log.level = [to_terminal, *to_log], False, logging.INFO
    _trace.handlers, _trace.propagate = to_log or [to_terminal], False
    global _terminal
    _terminal = terminal


def _job(smk) -> str:
    return ", ".join(f"{k}={v}" for k, v in smk.wildcards.items())


def run(smk, main) -> None:
    """Call main(smk, threads); on failure the traceback goes to the log and one
    line naming the rule, job and problem to the terminal."""
    handle_interruptions()
    setup_logging(smk.log[0] if smk.log else None)
    log.info("%s [%s] start on %s", smk.rule, _job(smk), machine.cpu())
    try:
        main(smk, max(1, smk.threads))
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        _trace.warning("%s [%s] stopped by %s; nothing it was writing is kept", smk.rule, _job(smk),
                       signal.Signals(signum).name)
        raise SystemExit(128 + signum) from None
    except refusal.Refused as exc:  # the technique cannot apply: recorded for the report, then the job stops
        path = refusal_record(smk)
        refusal.write(path, exc, smk.rule, wildcards=dict(smk.wildcards.items()))
        print(f"error in {smk.rule} [{_job(smk)}]: {exc.message(smk.rule)} (recorded in {path})",
              file=_terminal, flush=True)
        raise SystemExit(1) from None
    except Exception as exc:
        if (signum := _interrupted_by(exc)) is not None:  # a signal inside a C module's import
            _trace.warning("%s [%s] stopped by %s; nothing it was writing is kept", smk.rule,
                           _job(smk), signal.Signals(signum).name)
            raise SystemExit(128 + signum) from None
        _trace.exception("%s [%s] failed", smk.rule, _job(smk))
        print(f"error in {smk.rule} [{_job(smk)}]: {describe(exc)}", file=_terminal, flush=True)
        raise SystemExit(1) from None
    log.info("%s [%s] done", smk.rule, _job(smk))


def _interrupted_by(exc: BaseException) -> int | None:
    """The signal behind `exc`, if an interruption caused it: a C extension's module init
    turns the Interrupted raised inside it into `ImportError: initialization failed`."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (Interrupted, KeyboardInterrupt)):
            return getattr(exc, "signum", signal.SIGINT)
        exc = exc.__cause__ or exc.__context__
    return None


def refusal_record(smk) -> str:
    """Where a refused job's record goes: beside its log (Snakemake keeps a failed job's
    log, never its outputs), `logs/<phase>/<rule>/<job>.refused.json`."""
    return (smk.log[0].removesuffix(".log") if smk.log else f"logs/{smk.rule}") + refusal.SUFFIX


def describe(exc: Exception) -> str:
    """The project's errors say what is wrong in their message; anything else also
    names its type (a bare KeyError says only 'key')."""
    text = str(exc)
    ours = type(exc).__module__.startswith("compressbench")
    return text if ours and text else f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def record(smk, path, fields: dict, artefacts=()) -> None:
    """Write the JSON beside an artefact: its facts, the sha256 of the
    `artefacts` the job wrote (checked by every job that loads them), the rule
    and job (wildcards) that wrote it, and the CPU and threads it ran on."""
    hashes = {os.path.basename(a): io.sha256(a) for a in artefacts}
    io.write_json(path, {**fields, **({"sha256": hashes} if hashes else {}), "rule": smk.rule,
                         "wildcards": dict(smk.wildcards.items()), "cpu": machine.cpu(),
                         "threads": max(1, smk.threads)})



def recorder(smk):
    """`record` bound to the job: what library code that writes records is handed."""
    return lambda path, fields, artefacts=(): record(smk, path, fields, artefacts)


def outputs(smk, *names) -> dict:
    """The job's outputs among `names`, by name (a rule may lack some)."""
    return {k: smk.output[k] for k in names if k in smk.output.keys()}
