# SPDX-License-Identifier: LGPL-2.1-or-later
"""ASan/UBSan as the test harness sees them (the sanitize build: -Db_sanitize=address,undefined).

tests/meson.build gives every test ASAN_OPTIONS/UBSAN_OPTIONS with exit codes of their own, so a
sanitizer report can never pass for an expected exit status (by default both exit with 1, which
is also "failure" for stopstartctl and most of our programs). The harness additionally scans the
stderr of every program of ours it runs (stopstartctl, stopstartd, the drivers) with check().
tests/unit/test-sanitizers.py proves both against a program that trips each sanitizer."""
import re
import subprocess

# Exit codes no program of ours uses (stopstartctl 0-5, stopstartd 0-1/65-78, tests 0/1/77/99).
ASAN_EXIT = 86     # AddressSanitizer and LeakSanitizer (which reports through ASan's runtime)
UBSAN_EXIT = 87    # UndefinedBehaviorSanitizer (halt_on_error=1: the first report ends the process)
EXIT_CODES = (ASAN_EXIT, UBSAN_EXIT)

ASAN_OPTIONS = f"exitcode={ASAN_EXIT}:detect_leaks=1:abort_on_error=0"
UBSAN_OPTIONS = f"exitcode={UBSAN_EXIT}:halt_on_error=1:print_stacktrace=1"

# "==123==ERROR: AddressSanitizer: heap-buffer-overflow", "==1==ERROR: LeakSanitizer: detected
# memory leaks", "x.c:7:9: runtime error: signed integer overflow", "SUMMARY: UndefinedBehaviorSanitizer".
_REPORT = re.compile(r"==\d+==ERROR: \w+Sanitizer|^SUMMARY: \w+Sanitizer|\bruntime error: |"
                     r"==\d+==\w+Sanitizer", re.MULTILINE)


def reports(text):
    """The lines of text that are (the start of) a sanitizer report."""
    if not text:
        return []
    return [line for line in text.splitlines() if _REPORT.search(line)]


class SanitizerReport(AssertionError):
    pass


def check(what, returncode, stderr):
    """Raises SanitizerReport when the process ended with a sanitizer's exit code or its stderr
    holds a report; what names the process in the message."""
    found = reports(stderr)
    if returncode in EXIT_CODES or found:
        kind = {ASAN_EXIT: "AddressSanitizer", UBSAN_EXIT: "UndefinedBehaviorSanitizer"}.get(returncode, "sanitizer")
        raise SanitizerReport(f"{what}: {kind} report (exit {returncode}):\n" +
                              "\n".join(found[:10] or (stderr or "").splitlines()[-20:]))


def run(what, argv, *, check_sanitizers=True, **kw):
    """subprocess.run(argv) with stdout and stderr captured as text (unless kw says otherwise),
    then check(): how the harness runs every program of ours."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    r = subprocess.run(argv, **kw)
    if check_sanitizers:
        check(what, r.returncode, r.stderr if isinstance(r.stderr, str) else None)
    return r
