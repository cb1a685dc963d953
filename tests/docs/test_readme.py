"""Every example of README.md works as written, run the way a newcomer runs it.

The shell blocks run in order in one bash session, in a fresh folder, with the commands on PATH as
the README's first command leaves them (``.venv/bin``); YAML blocks whose first line names a file
(``# my-first.yaml``) are written there first. A line that ends in ``&`` starts something in the
background, and the next line waits until it answers; one that says "Ctrl-C to stop" runs for three
seconds. The ports the README uses are swapped for free
ones. The README's first two commands are what CI runs already: the first runs without its set-up
part, the second (this suite) not at all. The Python blocks are the files of a scratch project,
tested with pytest as that project would be.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SETUP = re.compile(r"^python3 -m venv \.venv && \.venv/bin/pip install -e '?\.(\[\w+\])?'? && ")
PORTS = (8025, 8026, 8000)  # the server's, listen's, and "your app's" in the README
FILE = re.compile(r"^# ([\w.-]+\.(?:ya?ml|py|toml))\n")


def blocks() -> list[tuple[str, str, int]]:
    """(language, text, line) of every fenced block, in order."""
    text = README.read_text("utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def script(mapping: dict[int, int]) -> tuple[str, int]:
    """The shell blocks as one bash script, and how many commands it runs."""
    lines = [
        "set -euo pipefail",
        'export PATH="$PWD/.venv/bin:$PATH"',
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
        'wait_for_port() { python3 -c "import socket,sys,time\n'
        "for _ in range(600):\n"
        "    try: socket.create_connection(('127.0.0.1', int(sys.argv[1])), 0.2).close(); break\n"
        "    except OSError: time.sleep(0.05)\n"
        'else: sys.exit(\'nothing answers on port \' + sys.argv[1])" "$1"; }',
    ]
    commands = 0
    for language, text, line in blocks():
        if language != "sh":
            continue
        if ".venv/bin/pytest" in text:
            continue  # the test command: what runs this
        lines.append(f"echo '### README.md line {line}' >&2")
        for command in SETUP.sub("", swap(text, mapping)).splitlines():
            server = re.match(r"idp-emulator (serve|listen)\b", command)
            if server and "--port" not in command:  # its default port, swapped like the others
                default = mapping[8026] if server.group(1) == "listen" else mapping[8025]
                command = command.replace(server.group(0), f"{server.group(0)} --port {default}", 1)
            if "Ctrl-C to stop" in command:  # runs until stopped: a few seconds of it
                command = f"timeout 3 {command.split('  #', 1)[0].strip()} || test $? -eq 124"
            lines.append(command)
            if command.strip() and not command.startswith((" ", "#")):
                commands += 1
            if command.rstrip().endswith("&"):
                port = re.search(r"--port (\d+)", command)
                default = mapping[8026] if " listen" in command else mapping[8025]
                lines.append(f"wait_for_port {port.group(1) if port else default}")
    return "\n".join(lines) + "\n", commands


def swap(text: str, mapping: dict[int, int]) -> str:
    return re.sub(r"\b(8025|8026|8000)\b", lambda m: str(mapping[int(m.group(1))]), text)


def test_the_tour_runs_as_written(tmp_path):
    mapping = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    (tmp_path / ".venv").symlink_to(sys.prefix)
    for name in ("scenarios", "emulator", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    written = []
    for language, text, _ in blocks():
        match = FILE.match(text)
        if language in ("yaml", "toml") and match:
            (tmp_path / match.group(1)).write_text(swap(text, mapping))
            written.append(match.group(1))
    body, commands = script(mapping)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_EMULATOR_")}
    result = subprocess.run(["bash", "-c", body], cwd=tmp_path, capture_output=True, text=True, timeout=170, env=env)
    where = [line for line in result.stderr.splitlines() if line.startswith("### README.md")]
    assert result.returncode == 0, (
        f"the README's shell blocks stopped at {where[-1] if where else '?'} (exit {result.returncode}):\n"
        f"{result.stderr[-3000:]}\n--- stdout ---\n{result.stdout[-2000:]}"
    )
    assert commands >= 20 and written  # the tour, not an empty README


def test_the_pytest_section_works_in_a_new_project(tmp_path):
    """The README's Python blocks are a project's own test file, run by its own pytest (no settings of ours)."""
    python = [text for language, text, _ in blocks() if language == "python"]
    assert python, "the README shows no Python"
    (tmp_path / "test_webhooks.py").write_text("\n\n".join(python))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{sum(t.count('def test_') for t in python)} passed" in result.stdout
