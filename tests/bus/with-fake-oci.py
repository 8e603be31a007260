#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs a command next to the project's fake OCI server, torn down afterwards.

    with-fake-oci.py FIXTURE [SERVER ARGS...] -- CMD...

CMD gets FAKE_OCI_URL, FAKE_OCI_CONFIG (an OCI CLI config whose key the server trusts) and
FAKE_OCI_LOG in its environment; its exit status is ours. The server's log is printed when
CMD fails."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fakeoci import FakeOci  # noqa: E402


def main(argv):
    if "--" not in argv or len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    sep = argv.index("--")
    fixture, server_args, cmd = argv[0], argv[1:sep], argv[sep + 1:]
    with FakeOci(fixture=fixture, args=server_args) as oci:
        env = dict(os.environ, FAKE_OCI_URL=oci.url, FAKE_OCI_CONFIG=oci.config_file, FAKE_OCI_LOG=oci.log_path)
        rc = subprocess.run(cmd, env=env).returncode
        if rc not in (0, 77):
            print("--- fake OCI server log (tail) ---", file=sys.stderr)
            print(oci.log_tail(40), file=sys.stderr)
        return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
