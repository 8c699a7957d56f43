"""A throw-away single-node SLURM cluster on this machine, and a throw-away
environment with the SLURM executor plugin (tests/test_slurm.py).

Everything it adds to the machine is recorded and taken away again on exit:
the Debian packages it installed (purged, with the system users their
maintainer scripts created), /etc/slurm/slurm.conf, and the daemons it
started (stopped by their pid). Munge's key, socket and logs and SLURM's
state, spool, logs and pid files live in a temporary folder, not in /etc,
/run or /var.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
from pathlib import Path

PACKAGES = ["slurm-wlm", "munge"]  # Debian 12: SLURM 22.05
CONF = Path("/etc/slurm/slurm.conf")  # the plugin's job step drops SLURM_CONF: only here works
POLICY = Path("/usr/sbin/policy-rc.d")  # keeps apt from starting the packages' own services
USERS = ["slurm", "munge"]  # created by the packages' maintainer scripts
APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def skip_reason() -> str | None:
    """Why this machine cannot host the test cluster (None: it can)."""
    if os.environ.get("COMPRESSBENCH_SKIP_SLURM") == "1":
        return "COMPRESSBENCH_SKIP_SLURM=1"
    if not sys.platform.startswith("linux"):
        return "needs Linux (Debian's slurm-wlm and munge)"
    if os.geteuid() != 0:
        return "needs root: installs Debian packages, writes /etc/slurm/slurm.conf, starts SLURM daemons"
    if not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        return "needs apt-get and dpkg (Debian's slurm-wlm and munge)"
    if CONF.exists():
        return f"{CONF} already exists: this machine has its own SLURM setup, which the test leaves alone"
    return None


def _run(args, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _installed() -> set[str]:
    out = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status} ${Package}\n"],
                         capture_output=True, text=True).stdout
    return {line.split()[1] for line in out.splitlines() if line.startswith("installed ")}


def _users() -> set[str]:
    import pwd
    return {p.pw_name for p in pwd.getpwall()}


def _groups() -> set[str]:
    import grp
    return {g.gr_name for g in grp.getgrall()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _stop(pid: int, timeout: float = 20) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while _alive(pid) and time.time() < deadline:
            time.sleep(0.2)


def _wait_for(what: str, ready, timeout: float = 60, log: Path | None = None) -> None:
    deadline = time.time() + timeout
    while not ready():
        if time.time() > deadline:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} not ready after {timeout:.0f} s\n{tail}")
        time.sleep(0.5)


class Cluster:
    """`with Cluster() as c:` installs, configures and starts a one-node
    cluster (munged, slurmctld, slurmd); leaving the block undoes all of it."""

    def __init__(self):
        # Short: munged's socket path must fit a unix socket address (108 bytes).
        self.dir = Path(tempfile.mkdtemp(prefix="compressbench-slurm-"))
        self.node = socket.gethostname().split(".")[0]
        self.installed: list[str] = []  # packages this run installed (purged on exit)
        self.new_users: list[str] = []
        self.new_groups: list[str] = []
        self.wrote_policy = False
        self.made_etc_slurm = False
        self.wrote_conf = False
        self.pids: dict[str, int] = {}
        self.timings: dict[str, float] = {}

    # ---- setup ----------------------------------------------------------------------

    def __enter__(self) -> "Cluster":
        try:
            t0 = time.time()
            self._install()
            self.timings["install_s"] = time.time() - t0
            t0 = time.time()
            self._configure()
            self._start()
            self.timings["start_s"] = time.time() - t0
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _install(self) -> None:
        users, groups = _users(), _groups()
        before = _installed()
        if not POLICY.exists():
            POLICY.write_text("#!/bin/sh\n# written by compressbench's tests/slurm_cluster.py\nexit 101\n")
            POLICY.chmod(0o755)
            self.wrote_policy = True
        try:
            if not set(PACKAGES) <= before:
                cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                       "-o", "DPkg::Lock::Timeout=300", *PACKAGES]
                if subprocess.run(cmd, env=APT_ENV, capture_output=True).returncode != 0:
                    _run(["apt-get", "update", "-q"], env=APT_ENV)  # a fresh machine has no lists
                    _run(cmd, env=APT_ENV)
        finally:  # what a failed install left is undone too
            self.installed = sorted(_installed() - before)
            self.new_users = sorted(u for u in _users() - users if u in USERS)
            self.new_groups = sorted(g for g in _groups() - groups if g in USERS)

    def _configure(self) -> None:
        d = self.dir
        for sub, mode in (("key", 0o700), ("run", 0o755), ("state", 0o700), ("spool", 0o700), ("log", 0o755)):
            (d / sub).mkdir(parents=True, exist_ok=True)
            (d / sub).chmod(mode)
        d.chmod(0o755)  # munged wants its socket's folders searchable by all
        key = d / "key/munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        # This machine's real CPUs, sockets and memory, as slurmd sees them.
        hw = _run(["slurmd", "-C"]).stdout.splitlines()[0].split()
        fields = dict(f.split("=", 1) for f in hw[1:])
        fields["RealMemory"] = str(int(int(fields["RealMemory"]) * 0.95))
        node = " ".join(f"{k}={v}" for k, v in fields.items())
        conf = f"""\
# Written by compressbench's tests/slurm_cluster.py; removed when the test ends.
ClusterName=compressbench-test
SlurmctldHost={self.node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/run/munge.sock
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# Finished jobs stay visible to squeue this long: the plugin's squeue status
# checks need it (below ~3x its first-check delay it falls back to sacct).
MinJobAge=300
NodeName={self.node} NodeAddr=127.0.0.1 {node} State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        if not CONF.parent.exists():
            CONF.parent.mkdir(parents=True)
            self.made_etc_slurm = True
        CONF.write_text(conf)
        self.wrote_conf = True

    def _start(self) -> None:
        d = self.dir
        sock = d / "run/munge.sock"
        _run(["munged", f"--key-file={d}/key/munge.key", f"--socket={sock}",
              f"--log-file={d}/log/munged.log", f"--pid-file={d}/run/munged.pid",
              f"--seed-file={d}/key/munged.seed"])
        self.pids["munged"] = int((d / "run/munged.pid").read_text())
        for daemon in ("slurmctld", "slurmd"):  # both fork into the background
            _run([daemon])
            pidfile = d / f"run/{daemon}.pid"
            _wait_for(f"{daemon} pid file", pidfile.exists, 30, d / f"log/{daemon}.log")
            self.pids[daemon] = int(pidfile.read_text())
        _wait_for("the node", lambda: self.sinfo().split() == ["idle"], 60, d / "log/slurmctld.log")

    # ---- use ------------------------------------------------------------------------

    def sinfo(self) -> str:
        return subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()

    def jobs(self) -> dict[str, dict]:
        """Every job the controller still knows (finished ones for MinJobAge)."""
        out = _run(["squeue", "--states=all", "-h", "-o", "%i|%j|%T|%k|%l|%m|%C"]).stdout
        jobs = {}
        for line in out.splitlines():
            jobid, name, state, comment, limit, mem, cpus = line.split("|")
            jobs[jobid] = {"name": name, "state": state, "comment": comment, "minutes": minutes(limit),
                           "mem_mb": megabytes(mem), "cpus": int(cpus)}
        return jobs

    # ---- teardown ---------------------------------------------------------------------

    def __exit__(self, *exc) -> None:
        # Jobs still queued or running (a failed run) first, then the daemons.
        if self.pids.get("slurmctld"):
            ids = subprocess.run(["squeue", "-h", "-o", "%i", "--states=PENDING,RUNNING"],
                                 capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["scancel", *ids], capture_output=True)
                deadline = time.time() + 20
                while time.time() < deadline and subprocess.run(
                        ["squeue", "-h", "-o", "%i", "--states=RUNNING,COMPLETING"],
                        capture_output=True, text=True).stdout.strip():
                    time.sleep(0.5)
        for daemon in ("slurmd", "slurmctld", "munged"):
            if daemon in self.pids:
                _stop(self.pids.pop(daemon))
        if self.wrote_conf:
            CONF.unlink(missing_ok=True)
            self.wrote_conf = False
        if self.installed:
            _run(["apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", *self.installed],
                 env=APT_ENV)
            self.installed = []
        for user in self.new_users:
            subprocess.run(["userdel", user], capture_output=True)
        for group in self.new_groups:
            if group in _groups():
                subprocess.run(["groupdel", group], capture_output=True)
        self.new_users = self.new_groups = []
        if self.made_etc_slurm and CONF.parent.exists():
            shutil.rmtree(CONF.parent)
        if self.wrote_policy:
            POLICY.unlink(missing_ok=True)
            self.wrote_policy = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def stopped(self) -> bool:
        return not self.pids


def minutes(limit: str) -> int:
    """squeue's time limit ([D-]H:MM:SS or M:SS) in minutes."""
    days, _, hms = limit.rpartition("-")
    parts = [int(p) for p in hms.split(":")]
    h, m, s = ([0] * (3 - len(parts)) + parts)
    return (int(days or 0) * 24 + h) * 60 + m + (s > 0)


def megabytes(mem: str) -> int:
    """squeue's memory (512M, 2.50G) in MB."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?)", mem).groups()
    return round(float(number) * {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 ** 2}[unit])


def plugin_env(folder: Path) -> Path:
    """A venv that sees this environment's packages plus the `slurm` extra of
    pyproject.toml, so the environment running the tests never gets the plugin.
    Returns its python."""
    _run([sys.executable, "-m", "venv", "--without-pip", folder])
    python = folder / "bin/python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    here = sysconfig.get_paths()["purelib"]  # processed as a site dir: its own .pth files apply too
    (purelib / "_compressbench_base.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    root = Path(__file__).resolve().parents[1]
    pins = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["slurm"]
    _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input", *pins])
    return python
