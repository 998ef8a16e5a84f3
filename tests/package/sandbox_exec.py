#!/usr/bin/python3
"""Runs a command the way tributary.service's RestrictAddressFamilies= would: socket()
with any other address family fails with EAFNOSUPPORT (a seccomp filter, as systemd
installs one), with no_new_privs set (NoNewPrivileges=). x86-64 only.

    sandbox_exec.py AF_INET AF_INET6 AF_UNIX -- COMMAND [ARG...]

The package test runs the installed daemon under it, so what the unit refuses is
refused here too, without systemd as PID 1.
"""
import ctypes
import os
import platform
import socket
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
AUDIT_ARCH_X86_64 = 0xC000003E
NR_SOCKET_X86_64 = 41
EAFNOSUPPORT = 97
# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def insn(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)


def family_filter(families):
    """BPF: socket(family not in FAMILIES, ...) -> EAFNOSUPPORT; everything else allowed."""
    checks = [insn(BPF_JEQ_K, f, jt=len(families) - i, jf=0) for i, f in enumerate(families)]
    return b"".join([
        insn(BPF_LD_W_ABS, OFFSET_ARCH),
        insn(BPF_JEQ_K, AUDIT_ARCH_X86_64, jt=1, jf=0),
        insn(BPF_RET_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),  # a foreign ABI: refused
        insn(BPF_LD_W_ABS, OFFSET_NR),
        insn(BPF_JEQ_K, NR_SOCKET_X86_64, jt=1, jf=0),
        insn(BPF_RET_K, SECCOMP_RET_ALLOW),
        insn(BPF_LD_W_ABS, OFFSET_ARG0),
        *checks,
        insn(BPF_RET_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),
        insn(BPF_RET_K, SECCOMP_RET_ALLOW),
    ])


def main(argv):
    if "--" not in argv or platform.machine() != "x86_64":
        sys.exit("usage (x86-64): sandbox_exec.py FAMILY... -- COMMAND [ARG...]")
    split = argv.index("--")
    families = [int(getattr(socket, name)) for name in argv[1:split]]
    command = argv[split + 1:]
    program = family_filter(families)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_SECCOMP): {os.strerror(ctypes.get_errno())}")
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
