"""A minimal Debian 12 booted with systemd as PID 1, for the package test
(test_package_systemd.py).

- build_tree(): `debootstrap --variant=minbase bookworm` from the mirror
  the host's apt uses, plus systemd and the .deb's run-time dependencies
  (so `apt-get install ./mailqd_*.deb` inside needs no network), cached in
  a directory under the build tree: the first run costs a few minutes, later
  ones reuse it. A stamp file names the mirror and the packages; when they
  change, the tree is made again. An interrupted build leaves only a
  `.new` directory, which the next run removes.
- Machine: one boot of that tree. The tree itself stays clean: the machine
  runs on an overlayfs whose upper layer is a temporary directory, so every
  run starts from the same freshly debootstrapped system. It is booted with
  `systemd-nspawn -b --register=no --keep-unit` (no machined here) and
  shares the host's network, so servers the test runs on the host loopback
  are the machine's loopback too. Commands run in it through `nsenter` into
  the namespaces of its PID 1 (systemctl and journalctl talk to that
  systemd over its private socket; no D-Bus or machined is needed).
  stop() halts it (SIGTERM to nspawn: a clean shutdown), kills it if it
  does not halt in time, and unmounts the overlay.

What it trusts: it runs as root and mounts, boots and removes what it made
itself, by path and by PID.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BOOT_TIMEOUT = 60.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class CannotRun(Exception):
    """Containers cannot run here (the reason is the message): the test skips."""


def host_mirror():
    """The Debian archive the host's apt uses for SUITE (deb822 .sources or
    one-line sources.list), else deb.debian.org."""
    candidates = []
    sources_d = Path("/etc/apt/sources.list.d")
    for path in sorted(sources_d.glob("*.sources")) if sources_d.is_dir() else []:
        for stanza in path.read_text(errors="replace").split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.lstrip().startswith("#"):
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.split()
            if (fields.get("enabled", ["yes"])[0] != "no" and "deb" in fields.get("types", [])
                    and SUITE in fields.get("suites", [])):
                candidates += fields.get("uris", [])
    lists = [Path("/etc/apt/sources.list")] + (sorted(sources_d.glob("*.list")) if sources_d.is_dir() else [])
    for path in lists:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and m.group(2) == SUITE:
                candidates.append(m.group(1))
    for uri in candidates:
        if uri.startswith(("http://", "https://")) and "security" not in uri:
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def deb_dependencies(deb):
    """Real package names for the .deb's Depends (first of each
    alternative). A virtual name (libspdlog1.10-fmt9) becomes the package
    that provides it on this host, which the .deb was built against:
    debootstrap --include takes real packages only."""
    out = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                         check=True).stdout
    installed = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Provides}\n"],
                               capture_output=True, text=True, check=True).stdout
    real, provider = set(), {}
    for line in installed.splitlines():
        package, _, provides = line.partition("\t")
        real.add(package)
        for item in provides.split(","):
            name = item.strip().split(" ")[0]
            if name:
                provider.setdefault(name, package)
    names = []
    for item in out.split(","):
        name = item.split("|")[0].strip().split(" ")[0].split(":")[0]
        if name:
            names.append(name if name in real or name not in provider else provider[name])
    return sorted(set(names))


def prefetch_debs(debs, includes, log=print):
    """Best effort: the packages debootstrap will want (minbase is priority
    required plus apt; then includes, with their dependencies as the host's
    apt resolves them) fetched into its cache dir by apt-get download: one
    pipelined transfer (17 s here for the ~100 packages) instead of a wget
    per package. Names debootstrap does not want cost only their download;
    another version, or anything this misses, debootstrap fetches itself."""
    try:
        avail = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True,
                               timeout=120).stdout
        names, package = set(includes) | {"apt"}, None
        for line in avail.splitlines():
            if line.startswith("Package: "):
                package = line.split()[1]
            elif line.startswith("Priority: required") and package:
                names.add(package)
        deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                               "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                               *sorted(names)], capture_output=True, text=True, timeout=120).stdout
        wanted = sorted({line.strip() for line in deps.splitlines()
                         if line and not line[0].isspace() and not line.startswith("<")})
        r = subprocess.run(["apt-get", "download", "-q", *wanted], cwd=debs, capture_output=True, text=True,
                           timeout=600)
        log(f"prefetched {len(list(Path(debs).glob('*.deb')))} packages (apt-get download: exit {r.returncode})")
    except (OSError, subprocess.SubprocessError) as e:
        log(f"no prefetch ({e}): debootstrap downloads everything")


def build_tree(cache_dir, extra_packages, log=print):
    """The cached minbase tree under cache_dir, made if missing or stale.
    Returns its path. Raises CannotRun if debootstrap cannot fetch."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tree = cache_dir / f"{SUITE}-minbase"
    mirror = host_mirror()
    includes = sorted(set(["systemd", "systemd-sysv"] + list(extra_packages)))
    want = {"suite": SUITE, "mirror": mirror, "include": includes}
    stamp = tree / ".mailqd-test-tree"
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()) == want:
                log(f"reusing {tree}")
                return tree
        except ValueError:
            pass
        log(f"{tree} was made for other packages or another mirror: making it again")
    new = cache_dir / f"{SUITE}-minbase.new"
    if new.exists():
        shutil.rmtree(new)
    log(f"debootstrap --variant=minbase {SUITE} from {mirror} into {tree} (a few minutes, once)")
    started = time.monotonic()
    # dpkg in the tree without an fsync per file: a throwaway test system
    # (saves a minute of debootstrap's and every install's time).
    (new / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True)
    (new / "etc/dpkg/dpkg.cfg.d/mailqd-test-unsafe-io").write_text("force-unsafe-io\n")
    # The downloaded .debs stay in debs/: a tree made again for a changed
    # dependency fetches only what is new.
    debs = cache_dir / "debs"
    debs.mkdir(exist_ok=True)
    prefetch_debs(debs, includes, log)
    r = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(includes)}",
                        f"--cache-dir={debs}", SUITE, str(new), mirror],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).splitlines()[-15:])
        shutil.rmtree(new, ignore_errors=True)
        if re.search(r"Failed getting release file|Temporary failure resolving|Could not resolve|"
                     r"Connection refused|unable to fetch", tail, re.I):
            raise CannotRun(f"debootstrap cannot reach {mirror}: {tail.splitlines()[-1] if tail else ''}")
        raise RuntimeError(f"debootstrap failed ({r.returncode}):\n{tail}")
    for deb in (new / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()  # copies of what debs/ holds
    (new / ".mailqd-test-tree").write_text(json.dumps(want))
    if tree.exists():
        shutil.rmtree(tree)  # only now: a failed debootstrap keeps the old one
    os.rename(new, tree)
    log(f"debootstrap took {time.monotonic() - started:.0f}s")
    return tree


def _children(pid):
    try:
        text = " ".join(p.read_text() for p in Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Machine:
    """One boot of tree on a throwaway overlay. Use start() and stop()."""

    def __init__(self, tree, workdir, name):
        self.tree = Path(tree)
        self.workdir = Path(workdir)
        self.name = name
        self.root = self.workdir / "root"  # the machine's / as the host sees it
        self.console = self.workdir / "console.log"
        self.proc = None
        self.leader = None
        self.mounted = False

    # ---- lifecycle ----

    def start(self):
        upper, work = self.workdir / "upper", self.workdir / "work"
        for d in (upper, work, self.root):
            d.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={self.tree},upperdir={upper},workdir={work}", str(self.root)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise CannotRun(f"cannot mount an overlayfs for the machine: {r.stderr.strip()}")
        self.mounted = True
        with open(self.console, "wb") as console:
            self.proc = subprocess.Popen(
                ["systemd-nspawn", "--quiet", "-D", str(self.root), f"--machine={self.name}",
                 "--register=no", "--keep-unit", "--console=read-only", "--boot"],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT)
        self._wait_booted()
        return self

    def _wait_booted(self):
        deadline = time.monotonic() + BOOT_TIMEOUT
        while self.leader is None:
            if self.proc.poll() is not None:
                raise CannotRun(f"systemd-nspawn exited with {self.proc.returncode} before the machine "
                                f"booted: {self.console_tail()}")
            if time.monotonic() > deadline:
                raise CannotRun(f"no systemd in the machine after {BOOT_TIMEOUT:.0f}s: {self.console_tail()}")
            for child in _children(self.proc.pid):
                if _comm(child) == "systemd":
                    self.leader = child
            time.sleep(0.05)
        state = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CannotRun(f"the machine stopped while booting: {self.console_tail()}")
            state = self.run("systemctl", "is-system-running", check=False, timeout=10).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.1)
        raise CannotRun(f"the machine did not finish booting in {BOOT_TIMEOUT:.0f}s (state {state!r}): "
                        f"{self.console_tail()}")

    def console_tail(self, lines=15):
        try:
            text = self.console.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout=30.0):
        """Halts the machine (nspawn turns SIGTERM into a clean shutdown),
        SIGKILL after timeout; then unmounts and removes the overlay."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(10)
        finally:
            self.proc = None
            self.leader = None
            if self.mounted:
                r = subprocess.run(["umount", str(self.root)], capture_output=True)
                if r.returncode != 0:
                    subprocess.run(["umount", "--lazy", str(self.root)], capture_output=True)
                self.mounted = False
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- inside ----

    def run(self, *args, user=None, input=None, check=True, timeout=60):
        """args run in the machine (as root, or as user through runuser),
        with a clean environment. Returns the CompletedProcess; check=True
        raises with its output on a non-zero exit."""
        if self.leader is None:
            raise RuntimeError("the machine is not running")
        argv = [str(a) for a in args]
        if user is not None:
            argv = ["runuser", "-u", user, "--"] + argv
        cmd = ["nsenter", "-t", str(self.leader), "-a", "--", "env", "-i", f"PATH={PATH}",
               "LANG=C.UTF-8", "HOME=/root"] + argv
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"in the machine: {' '.join(argv)}: exit {r.returncode}\n"
                                 f"{r.stdout}{r.stderr}")
        return r

    def path(self, inside):
        """The host's path of a file in the machine."""
        return self.root / str(inside).lstrip("/")

    def show(self, unit, *props):
        """systemctl show UNIT -p ... as a dict."""
        out = self.run("systemctl", "show", unit, *[f"--property={p}" for p in props]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit, since_cursor=None):
        args = ["journalctl", "--no-pager", "-o", "cat", "-u", unit]
        if since_cursor:
            args.append(f"--after-cursor={since_cursor}")
        return self.run(*args, check=False).stdout

    def journal_cursor(self):
        out = self.run("journalctl", "--no-pager", "-n", "0", "--show-cursor", check=False).stdout
        m = re.search(r"-- cursor: (\S+)", out)
        return m.group(1) if m else None


def make_workdir():
    """A short directory for one machine's overlay (not pytest's tmp_path:
    its upper layer must not be on an overlay, and paths stay short)."""
    return Path(tempfile.mkdtemp(prefix="mq-machine-", dir="/var/tmp"))
