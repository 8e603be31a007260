#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The sanitizer net itself (tests/lib/sanitizers.py): every test of every suite runs with
ASan/UBSan exit codes of their own, and in the sanitize build a program that trips a sanitizer is
caught by the very function the harness runs our programs with.

    test-sanitizers.py CANARY B_SANITIZE      (B_SANITIZE: meson's b_sanitize, e.g. address,undefined)"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["STOPSTART_SOURCE_ROOT"], "tests", "lib"))

import sanitizers  # noqa: E402

CANARY = SANITIZE = None


def options(s):
    return dict(kv.split("=", 1) for kv in (s or "").split(":") if kv)


class TestEnvironment(unittest.TestCase):
    def test_every_test_has_the_exit_codes(self):
        with open(os.path.join(os.environ["STOPSTART_BUILD_ROOT"], "meson-info", "intro-tests.json")) as f:
            tests = json.load(f)
        self.assertGreater(len(tests), 10)
        suites = set()
        for t in tests:
            suites.update(t["suite"])
            asan, ubsan = options(t["env"].get("ASAN_OPTIONS")), options(t["env"].get("UBSAN_OPTIONS"))
            self.assertEqual(asan.get("exitcode"), str(sanitizers.ASAN_EXIT), t["name"])
            self.assertEqual(ubsan.get("exitcode"), str(sanitizers.UBSAN_EXIT), t["name"])
            self.assertEqual(ubsan.get("halt_on_error"), "1", t["name"])
        self.assertTrue({"stopstart:unit", "stopstart:db", "stopstart:bus", "stopstart:integration"} <= suites,
                        suites)

    def test_this_process_has_them(self):
        self.assertEqual(options(os.environ.get("ASAN_OPTIONS")), options(sanitizers.ASAN_OPTIONS))
        self.assertEqual(options(os.environ.get("UBSAN_OPTIONS")), options(sanitizers.UBSAN_OPTIONS))

    def test_codes_are_nobodys_status(self):
        # stopstartctl 0-5 (README), stopstartd 0/1 and sysexits 64-78, meson's skip 77 and error 99
        taken = set(range(0, 6)) | set(range(64, 79)) | {99}
        self.assertFalse(taken & set(sanitizers.EXIT_CODES))
        self.assertNotEqual(sanitizers.ASAN_EXIT, sanitizers.UBSAN_EXIT)

    def test_report_lines_recognized(self):
        text = ("noise\n==4711==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n"
                "x.c:7:9: runtime error: signed integer overflow\n"
                "==4711==ERROR: LeakSanitizer: detected memory leaks\nmore noise\n")
        self.assertEqual(len(sanitizers.reports(text)), 3)
        self.assertEqual(sanitizers.reports("Failed to connect: Connection refused\n"), [])
        with self.assertRaises(sanitizers.SanitizerReport):
            sanitizers.check("x", 0, text)
        with self.assertRaises(sanitizers.SanitizerReport):
            sanitizers.check("x", sanitizers.UBSAN_EXIT, "")
        sanitizers.check("x", 1, "stopstartctl: Unknown instance.\n")


class TestCanary(unittest.TestCase):
    def run_canary(self, mode):
        return sanitizers.run("canary", [CANARY, mode], check_sanitizers=False)

    def test_clean_run_passes(self):
        r = sanitizers.run("canary", [CANARY, "clean"])
        self.assertEqual(r.returncode, 0)

    def expect(self, mode, code, needle):
        r = self.run_canary(mode)
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertIn(needle, r.stderr)
        self.assertTrue(sanitizers.reports(r.stderr), r.stderr)
        with self.assertRaises(sanitizers.SanitizerReport):
            sanitizers.run("canary", [CANARY, mode])

    def test_heap_overflow(self):
        if "address" not in SANITIZE:
            self.skipTest("not the ASan build")
        self.expect("heap-overflow", sanitizers.ASAN_EXIT, "AddressSanitizer: heap-buffer-overflow")

    def test_leak(self):
        if "address" not in SANITIZE:
            self.skipTest("not the ASan build")
        self.expect("leak", sanitizers.ASAN_EXIT, "LeakSanitizer: detected memory leaks")

    def test_undefined_behaviour(self):
        if "undefined" not in SANITIZE:
            self.skipTest("not the UBSan build")
        self.expect("int-overflow", sanitizers.UBSAN_EXIT, "runtime error: signed integer overflow")


if __name__ == "__main__":
    CANARY, SANITIZE = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]
    unittest.main(verbosity=2)
