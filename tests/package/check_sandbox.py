#!/usr/bin/python3
"""Checks what the daemon did (strace -ff output) against tributary.service's sandbox:

  - every system call it made is allowed by the unit's SystemCallFilter= lines (the
    groups expanded with `systemd-analyze syscall-filter`, `~` lines removed);
  - every socket it opened is of a family in RestrictAddressFamilies= (families refused
    by sandbox_exec.py are listed: the daemon went on without them);
  - it created, wrote, renamed or removed files only under the WRITABLE directories (the
    buffer's and the stage's, colon-separated) and /dev, since ProtectSystem=strict makes
    the rest read-only. (The unit's private /tmp is writable, but the daemon has no
    business there, and the test's buffer lives under /tmp.)

    check_sandbox.py UNIT WRITABLE TRACE_FILE...

Exit status 1 with the offending calls, families or paths listed; the last line of the
output is a summary either way.
"""
import functools
import re
import subprocess
import sys

CALL = re.compile(r"^([a-z0-9_]+)\(")
SOCKET = re.compile(r"^socket\((AF_[A-Z0-9]+),.* = (-?\d+)")
OPEN = re.compile(r'^openat\([^,]+, "([^"]+)", ([A-Z_|]+)')
PATH_CHANGE = re.compile(
    r'^(?:mkdir|mkdirat|rmdir|rename|renameat|renameat2|unlink|unlinkat)\((?:[A-Z_]+, )?"([^"]+)"')


@functools.cache
def group(name):
    """The system calls of a systemd syscall group, nested groups expanded."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                         text=True, check=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:  # the first line is the group's own name
        word = line.strip()
        if word.startswith("@"):
            calls |= group(word)
        elif re.fullmatch(r"[a-z0-9_]+", word):
            calls.add(word)
    return frozenset(calls)


def unit_policy(unit):
    allowed, denied, families = set(), set(), set()
    for line in open(unit, encoding="utf-8"):
        key, _, value = line.strip().partition("=")
        if key == "SystemCallFilter":
            target = denied if value.startswith("~") else allowed
            for item in value.lstrip("~").split():
                target |= group(item) if item.startswith("@") else {item}
        elif key == "RestrictAddressFamilies":
            families |= set(value.split())
    if not allowed:
        sys.exit(f"{unit}: no SystemCallFilter= allow list")
    return allowed - denied, families


def daemon_lines(trace):
    """The lines of one strace -ff file that the daemon made: in the file of the process
    that started as sandbox_exec.py, only those after its execve of the daemon."""
    with open(trace, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    if lines and lines[0].startswith('execve("/usr/bin/python3"'):
        for i, line in enumerate(lines):
            if line.startswith('execve("/usr/bin/tributary"') and line.endswith("= 0"):
                return lines[i:]
        return []
    return lines


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: check_sandbox.py UNIT WRITABLE TRACE_FILE...")
    unit, traces = argv[1], argv[3:]
    writable = tuple(d.rstrip("/") + "/" for d in argv[2].split(":") if d)
    allowed, families = unit_policy(unit)
    used, opened, refused, written = set(), set(), set(), set()
    for trace in traces:
        for line in daemon_lines(trace):
            m = CALL.match(line)
            if not m:
                continue  # signals, exits
            used.add(m.group(1))
            m = SOCKET.match(line)
            if m:
                (refused if m.group(2) == "-1" else opened).add(m.group(1))
            m = OPEN.match(line)
            if m and re.search(r"O_WRONLY|O_RDWR|O_CREAT", m.group(2)):
                written.add(m.group(1))
            m = PATH_CHANGE.match(line)
            if m and "= -1 EEXIST" not in line:
                written.add(m.group(1))
    if not used:
        sys.exit("no system calls of the daemon in the traces")

    problems = []
    if used - allowed:
        problems.append("system calls SystemCallFilter= refuses: " + " ".join(sorted(used - allowed)))
    if opened - families:
        problems.append("socket families RestrictAddressFamilies= refuses: " +
                        " ".join(sorted(opened - families)))
    outside = sorted(p for p in written if not p.startswith(writable + ("/dev/",)))
    if outside:
        problems.append("files changed outside the buffer and stage (read-only in the unit): " +
                        " ".join(outside))
    for problem in problems:
        print(problem)
    coped = f", refused {' '.join(sorted(refused))} and went on" if refused else ""
    print(f"{len(used)} distinct system calls, socket families {' '.join(sorted(opened))}{coped}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
