"""Instructions per delivery of ``idp-emulator run``'s sending process, counted by valgrind's callgrind.

On a shared machine the delivery benchmark's rates swing by a fifth from round to round; the
number of instructions a delivery costs does not. This runs ``bench/deliver.py``'s default path
(the command line's defaults for ``--case``, 50 actors, a SQLite store file, one local receiver)
once with ``--small`` and once with ``--large`` deliveries under callgrind, and divides the
difference in instructions by the difference in deliveries: what one more delivery costs the
process that stores, signs, sends and records (its event loop and the store writer's thread), and
that process together with the render process it forks (callgrind follows a fork into a file of
its own; the receiver is another program and is not traced). Start-up, imports and the scenario's
parsing cancel out. Both runs must be long enough to render in a child (1,000 actions, about 3,000
deliveries), or the shorter one counts its rendering in the sending process.

The second figure is the one to judge a change by on a machine of few cores: the sending process,
the render process and the receiver share them, so work moved from one process to another is not
work saved (``bench/README.md``).

``--against REV`` measures a git revision the same way, from a temporary worktree, side by side,
and prints the ratios (the revision's ``bench/deliver.py`` must have the default path's helpers).

Runs without address randomization where ``setarch -R`` is allowed (``fixed_addresses``): with
it, a render's counts varied by 3% from run to run, and without it they repeat exactly. The
sending process's still vary by about 1% (403,570 and 398,098 for fusionauth, two runs of the same
tree): how attempts group into flushes and commits follows the timing.

Needs valgrind (Debian: ``apt-get install valgrind``); each measurement takes about a minute.

    .venv/bin/python bench/instructions.py                         # keycloak, 4,000 and 12,000 deliveries
    .venv/bin/python bench/instructions.py --case fusionauth --against d366e92
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = ("keycloak", "fusionauth", "idaas", "standard-webhooks")


def one_run(source: Path, case: str, deliveries: int) -> int:
    """One default run of ``case`` with the emulator and benchmark helpers of ``source``."""
    sys.path.insert(0, str(source / "bench"))
    import deliver  # the source's own: it puts its emulator first on the path

    let_render_process_exit()

    async def go(receiver: deliver.Receiver) -> int:
        registry = deliver.Registry()
        with tempfile.TemporaryDirectory(prefix="bench-instructions-") as folder:
            scenario = deliver.scenario_for(deliver.ACTORS, deliveries, deliver.CASES[case].vendor, registry)
            path = deliver.path_for("default", deliver.CASES[case], receiver.url, scenario, registry)
            summary, _ = await deliver.run(path, registry, Path(folder))
        return int(summary.delivered)

    with deliver.Receiver() as receiver:
        return asyncio.run(go(receiver))


def let_render_process_exit() -> None:
    """Have the run wait for its render process to exit instead of killing it after its last event.

    A process killed with SIGKILL under callgrind writes no counts; the render process exits on its
    own right after its last event, so here (and only here) the run waits for that."""
    try:
        from emulator.delivery import ahead  # the source's own
    except ImportError:  # a revision from before rendering moved to a child process
        return
    real = ahead.os

    class WaitingOs:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        @staticmethod
        def kill(pid: int, _signal: int) -> None:
            real.waitpid(pid, 0)  # the run's own waitpid then finds it reaped, as after a kill

    ahead.os = WaitingOs()  # type: ignore[assignment]


def counted(source: Path, case: str, deliveries: int, folder: Path) -> tuple[int, int, int]:
    """Instructions of the sending process for one run, of it and its render process together, and
    the deliveries it made."""
    out = folder / f"callgrind.{source.name}.{deliveries}.%p"
    command = [
        *fixed_addresses(),
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, str(Path(__file__).resolve()),
        "--one", str(deliveries), "--case", case, "--source", str(source),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    delivered = [line for line in done.stdout.splitlines() if line.startswith("delivered ")]
    if done.returncode != 0 or not delivered:
        raise SystemExit(f"the run under callgrind failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    mine = folder / out.name.replace("%p", str(sending_pid(done)))
    family = sum(summary(file) for file in folder.glob(out.name.replace("%p", "*")))
    return summary(mine), family, int(delivered[0].split()[1])


@functools.cache
def fixed_addresses() -> tuple[str, ...]:
    """The prefix that runs a command without address randomization, where the system allows it.

    Memo caches and the like key objects by identity, so where objects land changes how many
    probes a lookup takes: with randomization on, counts of the same tree vary by about 3% from
    one run to the next (a render's, measured); with it off, a render's counts repeat exactly."""
    prefix = ("setarch", platform.machine(), "-R")
    if shutil.which("setarch") is None:
        return ()
    tried = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if tried.returncode == 0 else ()


def summary(file: Path) -> int:
    """The instructions a callgrind output file counts."""
    for line in file.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"{file}: no summary line")


def sending_pid(done: subprocess.CompletedProcess[str]) -> int:
    """The sending process's pid: the one valgrind started (its children write files of their own)."""
    for line in done.stderr.splitlines():
        if line.startswith("==") and "Command:" in line:
            return int(line.split("==")[1])
    raise SystemExit("valgrind did not say which process it ran")


def per_delivery(source: Path, case: str, small: int, large: int, folder: Path) -> tuple[float, float]:
    """Instructions one more delivery costs: the sending process, and it with its render process."""
    few, few_all, made_few = counted(source, case, small, folder)
    many, many_all, made_many = counted(source, case, large, folder)
    made = made_many - made_few
    return (many - few) / made, (many_all - few_all) / made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--case", choices=CASES, default="keycloak", help="a case of bench/deliver.py (default keycloak)"
    )
    parser.add_argument("--small", type=int, default=4_000, help="deliveries of the shorter run (default 4,000)")
    parser.add_argument("--large", type=int, default=12_000, help="deliveries of the longer run (default 12,000)")
    parser.add_argument("--against", metavar="REV", help="a git revision to measure the same way, side by side")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # inside callgrind: one run of this many
    parser.add_argument("--source", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        print(f"delivered {one_run(args.source, args.case, args.one)}")
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.large <= args.small:
        parser.error("--large must be more than --small")
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as name:
        folder = Path(name)
        print(
            f"{args.case}: instructions per delivery of the sending process, and with its render process"
            f" ({args.small:,} and {args.large:,})"
        )
        now = per_delivery(ROOT, args.case, args.small, args.large, folder)
        print(f"  this tree: {now[0]:,.0f} (sending process), {now[1]:,.0f} (with the render process)")
        if args.against:
            tree = folder / "against"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), args.against], check=True
            )
            try:
                then = per_delivery(tree, args.case, args.small, args.large, folder)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
            print(f"  {args.against}: {then[0]:,.0f} (sending process), {then[1]:,.0f} (with the render process)")
            print(
                f"  ratio this tree / {args.against}: {now[0] / then[0]:.3f} (sending process),"
                f" {now[1] / then[1]:.3f} (with the render process)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
