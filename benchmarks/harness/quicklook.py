"""The quick look's wall time (`time make quicklook`, measured by the caller) against its target."""
from __future__ import annotations

from .render import Fact, Section, Target

GOAL_MIN, GOAL_CORES = 10.0, 2


def section(seconds: float | None, cores: int, cpu: str | None = None) -> Section:
    s = Section("quicklook", "Quick look",
                "`--quicklook-seconds`, the wall of `make quicklook` (`python -m compressbench.quicklook`) as the "
                f"caller measured it (e.g. `time make quicklook`), on the run's machine ({cores} cores"
                + (f", `{cpu}`" if cpu else "") + ").")
    if seconds is None:
        s.notes.append("Not measured: give `--quicklook-seconds N` (`time make quicklook`).")
    else:
        s.facts.append(Fact("wall", seconds, "s", f"Quick look: **{seconds / 60:.1f} min** ({seconds:.0f} s) "
                            f"on {cores} cores.", "--quicklook-seconds (measured by the caller)"))
    s.targets.append(Target(f"Quick look ({GOAL_CORES} cores)", f"< {GOAL_MIN:.0f} min",
                            "n/a" if seconds is None else f"{seconds / 60:.1f} min"
                            + ("" if cores == GOAL_CORES else f" on {cores} cores"),
                            None if seconds is None or cores != GOAL_CORES else seconds < GOAL_MIN * 60))
    return s
