#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A throwaway PostgreSQL cluster on a unix socket in a temporary directory.

PostgreSQL refuses to run as root, so when we are root the cluster runs as an unprivileged
account (STOPSTART_PG_USER, default "stopstart-pgtest"), created when missing. Nothing listens
on TCP unless tcp=True (then 127.0.0.1 on a free port).

    with PgCluster() as pg:
        subprocess.run(["psql", pg.url, ...])

Command line (used by make demo and by tests that stop the server under a client):
    pgcluster.py start DIR      initdb + start, prints shell exports (PGHOST, ..., DATABASE_URL)
    pgcluster.py stop DIR       stops the server (data kept)
    pgcluster.py resume DIR     starts the server of an existing DIR again
    pgcluster.py run -- CMD...  a fresh cluster for the duration of CMD, with PG* and
                                DATABASE_URL and PGCLUSTER_DIR in its environment; exit status of CMD
"""
import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

from sysuser import ensure_system_user

DEFAULT_USER = os.environ.get("STOPSTART_PG_USER", "stopstart-pgtest")


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("no PostgreSQL server found under /usr/lib/postgresql (run scripts/install-deps)")
    return dirs[-1]


def ensure_user(name):
    ensure_system_user(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """initdb + pg_ctl start in a fresh directory; stop() removes everything."""

    # initdb costs most of the start-up: later clusters of the same process copy the first one.
    _template = None

    def __init__(self, basedir=None, tcp=False, dbname="stopstart", durable=False, listen=()):
        self.bindir = pg_bindir()
        # durable: a commit is acknowledged once its WAL is written, as in production, so an
        # immediate shutdown (a crash) keeps it; otherwise speed wins (synchronous_commit=off)
        self.durable = durable
        self.tcp = tcp
        # further TCP addresses to serve (on the same port), to clients of their subnets: another
        # host's view of the server (tests/lib/netns.py)
        self.listen = list(listen)
        self.dbname = dbname
        self.own_dir = basedir is None
        # /dev/shm: initdb and start-up are several times faster there; short socket paths
        parent = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.dir = basedir or tempfile.mkdtemp(prefix="sspg.", dir=parent)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port() if tcp else 5432
        self.running = False
        if os.getuid() == 0:
            ensure_user(DEFAULT_USER)
            pw = pwd.getpwnam(DEFAULT_USER)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            self.as_user = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
                            "env", f"HOME={self.dir}"]
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            self.as_user = []

    # --- connection strings -------------------------------------------------------------
    @property
    def host(self):
        return self.dir

    @property
    def url(self):
        return self.url_for(self.dbname)

    def url_for(self, dbname):
        if self.tcp:
            return f"postgresql://test@127.0.0.1:{self.port}/{dbname}"
        return f"postgresql://test@/{dbname}?host={self.dir}&port={self.port}"

    def tcp_conninfo(self, address):
        """The conninfo of one of the listen addresses."""
        return f"host={address} port={self.port} user=test dbname={self.dbname}"

    @property
    def conninfo(self):
        return f"host={self.dir} port={self.port} user=test dbname={self.dbname}"

    def env(self):
        return {"PGHOST": self.dir, "PGPORT": str(self.port), "PGUSER": "test",
                "PGDATABASE": self.dbname, "DATABASE_URL": self.url}

    # --- lifecycle ----------------------------------------------------------------------
    def _run(self, argv, **kw):
        return subprocess.run(self.as_user + argv, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, **kw)

    def start(self):
        os.chown(self.dir, self.uid, self.gid)
        os.chmod(self.dir, 0o755)
        if PgCluster._template and os.path.isdir(PgCluster._template):
            shutil.copytree(PgCluster._template, self.data, symlinks=True)
            for root, dirs, files in os.walk(self.data):
                for n in dirs + files:
                    os.lchown(os.path.join(root, n), self.uid, self.gid)
            os.lchown(self.data, self.uid, self.gid)
        else:
            try:
                self._run([f"{self.bindir}/initdb", "-D", self.data, "-U", "test", "--auth=trust",
                           "-E", "UTF8", "--locale=C.UTF-8", "-N"])
            except subprocess.CalledProcessError as e:
                raise RuntimeError(f"initdb failed:\n{e.stdout}") from None
            tmpl = tempfile.mkdtemp(prefix="sspg-template.", dir=os.path.dirname(self.dir))
            shutil.rmtree(tmpl)
            shutil.copytree(self.data, tmpl, symlinks=True)
            PgCluster._template = tmpl
            # A process that uses us as a library (test_scale.py, ssstack) would otherwise leave
            # the template in /dev/shm at every run: hundreds of them filled the memory.
            atexit.register(PgCluster.cleanup_template)
        if self.listen:
            with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
                f.write("host all all samenet trust\n")
        self.start_server()
        self.createdb(self.dbname)
        return self

    def start_server(self):
        listen = ",".join((["127.0.0.1"] if self.tcp else []) + self.listen)
        opts = (f"-k {self.dir} -p {self.port} -c listen_addresses='{listen}' -c fsync=off "
                f"-c synchronous_commit={'on' if self.durable else 'off'} -c full_page_writes=off "
                "-c max_connections=200")
        try:
            self._run([f"{self.bindir}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-s", "-t", "60",
                       "start", "-o", opts])
        except subprocess.CalledProcessError as e:
            with open(self.log, errors="replace") as f:
                raise RuntimeError(f"pg_ctl start failed:\n{e.stdout}\n{f.read()}") from None
        self.running = True

    def stop_server(self, mode="fast"):
        if self.running:
            subprocess.run(self.as_user + [f"{self.bindir}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-s",
                                           "stop"], check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self.running = False

    def createdb(self, name):
        subprocess.run([f"{self.bindir}/createdb", "-h", self.dir, "-p", str(self.port), "-U", "test", name],
                       check=True)

    def dropdb(self, name):
        subprocess.run([f"{self.bindir}/dropdb", "-h", self.dir, "-p", str(self.port), "-U", "test",
                        "--if-exists", "--force", name], check=True)

    def psql(self, sql, dbname=None, check=True):
        """Runs SQL, returns stdout (unaligned, tuples only, '|' separated)."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.url_for(dbname or self.dbname), "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}\nSQL: {sql}")
        return r.stdout.strip()

    def stop(self):
        self.stop_server("immediate")
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @classmethod
    def cleanup_template(cls):
        if cls._template:
            shutil.rmtree(cls._template, ignore_errors=True)
            cls._template = None


def main(argv):
    if len(argv) >= 3 and argv[1] == "run":
        cmd = argv[3:] if argv[2] == "--" else argv[2:]
        pg = PgCluster()
        try:
            pg.start()
            PgCluster.cleanup_template()
            env = dict(os.environ, **pg.env(), PGCLUSTER_DIR=pg.dir,
                       PGCLUSTER=os.path.abspath(__file__))
            return subprocess.run(cmd, env=env).returncode
        finally:
            pg.stop()
    if len(argv) != 3 or argv[1] not in ("start", "stop", "resume"):
        print(__doc__, file=sys.stderr)
        return 2
    d = os.path.abspath(argv[2])
    os.makedirs(d, exist_ok=True)
    pg = PgCluster(basedir=d)
    if argv[1] == "start":
        pg.start()
        PgCluster.cleanup_template()
        for k, v in pg.env().items():
            print(f"export {k}='{v}'")
    elif argv[1] == "resume":
        pg.start_server()
    else:
        pg.running = True
        pg.stop_server("fast")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
