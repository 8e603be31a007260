#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""db new --autogenerate (issue 12): for each kind of object, a change declared in
migrations/schema.sql gives a migration pair whose up script reaches exactly the declared schema
(check: no drift, head = declared) and whose down script returns to the previous head (diff: no
differences); what catalogs cannot decide is marked "-- REVIEW:"; check and diff notice a
declared change without its migration; --from-live captures hand-made DDL."""
import os
import re
import subprocess

from dbtest import MIGRATIONS, DbTestCase, NOT_OK, OK, main

# The number the next migration of the real set gets.
NEXT = "%04d" % (max(int(f[:4]) for f in os.listdir(MIGRATIONS) if re.match(r"^\d{4}_.*\.up\.sql$", f)) + 1)


class TestAutogenerate(DbTestCase):
    def declare(self, edit=None, append=""):
        """A copy of the real set whose schema.sql is edited: edit(text) -> text, then append."""
        d = self.copy_set(None)
        path = os.path.join(d, "schema.sql")
        with open(path) as f:
            text = f.read()
        if edit:
            new = edit(text)
            self.assertNotEqual(new, text, "the edit changed nothing")
            text = new
        with open(path, "w") as f:
            f.write(text + append)
        return d

    def generate(self, d, *extra, reviews=0):
        r = self.ctl("db", "new", "declared change", "--autogenerate", *extra, migrations=d, expect=OK)
        up = os.path.join(d, f"{NEXT}_declared_change.up.sql")
        down = os.path.join(d, f"{NEXT}_declared_change.down.sql")
        with open(up) as f:
            up_text = f.read()
        with open(down) as f:
            down_text = f.read()
        n = len(re.findall(r"^-- REVIEW:", up_text + down_text, re.M))
        self.assertEqual(n, reviews, up_text + down_text)
        if reviews:
            self.assertIn(f"{reviews} place", r.stdout)
        return up_text, down_text

    def round_trip(self, d):
        """Upgrade reaches the declared schema; downgrade returns to the previous head's."""
        self.ctl("db", "upgrade", "--no-backup", migrations=d, expect=OK)
        r = self.ctl("db", "check", migrations=d, expect=OK)
        self.assertIn("the schema matches the migrations (built in a scratch database)", r.stdout)
        self.ctl("db", "downgrade", "-1", "--yes", "--no-backup", migrations=d, expect=OK)
        r = self.ctl("db", "diff", migrations=d, expect=OK)
        self.assertIn("No differences", r.stdout)

    def setUp(self):
        super().setUp()
        self.ctl("db", "upgrade", "--no-backup", expect=OK)

    def test_declared_equals_head(self):
        """The committed schema.sql is exactly what the migrations build."""
        r = self.ctl("db", "new", "nothing", "--autogenerate", migrations=self.copy_set(None), expect=OK)
        self.assertIn("Nothing to generate", r.stdout)
        self.assertEqual(self.ctl_json("db", "diff", migrations=self.copy_set(None))["declared_differences"], [])

    def test_new_objects(self):
        d = self.declare(append="""
CREATE TYPE stopstart.tier AS ENUM ('gold', 'silver');
CREATE DOMAIN stopstart.percent AS integer DEFAULT 0 CONSTRAINT percent_range CHECK (VALUE BETWEEN 0 AND 100);
CREATE SEQUENCE stopstart.ticket_seq START 100 INCREMENT 5;
CREATE TABLE stopstart.widgets (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    tier stopstart.tier DEFAULT 'gold',
    share stopstart.percent,
    ticket bigint DEFAULT nextval('stopstart.ticket_seq'),
    compartment_id text REFERENCES stopstart.compartments(id) ON DELETE CASCADE,
    CONSTRAINT widgets_name_check CHECK (length(name) < 100)
);
CREATE INDEX widgets_tier_idx ON stopstart.widgets (tier) WHERE tier IS NOT NULL;
COMMENT ON TABLE stopstart.widgets IS 'Things, it''s a test';
COMMENT ON COLUMN stopstart.widgets.name IS 'the name';
CREATE VIEW stopstart.gold_widgets AS SELECT id, name FROM stopstart.widgets WHERE tier = 'gold';
CREATE MATERIALIZED VIEW stopstart.widget_counts AS SELECT tier, count(*) AS n FROM stopstart.widgets GROUP BY tier;
CREATE FUNCTION stopstart.widget_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.name := lower(NEW.name); RETURN NEW; END $$;
CREATE TRIGGER widgets_touch BEFORE INSERT ON stopstart.widgets FOR EACH ROW EXECUTE FUNCTION stopstart.widget_touch();
ALTER TABLE stopstart.widgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY widgets_gold ON stopstart.widgets FOR SELECT TO PUBLIC USING (tier = 'gold');
CREATE RULE widgets_no_delete AS ON DELETE TO stopstart.gold_widgets DO INSTEAD NOTHING;
""")
        r = self.ctl("db", "check", migrations=d, expect=NOT_OK)
        self.assertIn("undeclared", r.stdout)
        self.assertIn("is declared in migrations/schema.sql but no migration makes it", r.stdout)
        r = self.ctl("db", "diff", migrations=d, expect=NOT_OK)
        self.assertIn("Head differs from migrations/schema.sql", r.stdout)
        up, down = self.generate(d)
        for stmt in ("CREATE TYPE stopstart.tier AS ENUM", "CREATE DOMAIN stopstart.percent",
                     "CREATE SEQUENCE stopstart.ticket_seq", "CREATE TABLE stopstart.widgets",
                     "ADD CONSTRAINT widgets_pkey PRIMARY KEY", "CREATE INDEX widgets_tier_idx",
                     "CREATE VIEW stopstart.gold_widgets", "CREATE MATERIALIZED VIEW stopstart.widget_counts",
                     "CREATE TRIGGER widgets_touch", "ENABLE ROW LEVEL SECURITY", "CREATE POLICY widgets_gold",
                     "CREATE RULE widgets_no_delete", "COMMENT ON TABLE stopstart.widgets IS 'Things, it''s a test'"):
            self.assertIn(stmt, up)
        self.assertIn("DROP TABLE stopstart.widgets;", down)
        self.assertIn("DROP TYPE stopstart.tier;", down)
        self.round_trip(d)

    def test_changed_columns(self):
        def edit(t):
            t = t.replace("    attempts integer DEFAULT 0 NOT NULL,", "    attempts bigint DEFAULT 1 NOT NULL,")   # type + default
            t = t.replace("    opc_request_id text,", "    opc_request_id text NOT NULL DEFAULT '',")              # nullability
            t = t.replace("    reason text DEFAULT ''::text NOT NULL,\n    error text",
                          "    reason text DEFAULT ''::text NOT NULL,\n    note text,\n    error text")             # added
            return t
        d = self.declare(edit)
        up, down = self.generate(d, reviews=2)       # the type change, both ways
        self.assertIn("ALTER TABLE stopstart.actions ALTER COLUMN attempts TYPE bigint;", up)
        self.assertIn("ALTER TABLE stopstart.actions ALTER COLUMN attempts SET DEFAULT 1;", up)
        self.assertIn("ALTER TABLE stopstart.actions ALTER COLUMN opc_request_id SET NOT NULL;", up)
        self.assertIn("ALTER TABLE stopstart.actions ADD COLUMN note text;", up)
        self.assertIn("ALTER TABLE stopstart.actions DROP COLUMN note;", down)
        self.assertIn("ALTER TABLE stopstart.actions ALTER COLUMN opc_request_id DROP NOT NULL;", down)
        self.round_trip(d)

    def test_rename_is_marked(self):
        d = self.declare(lambda t: t.replace("retry_token", "idempotency_token"))
        up, down = self.generate(d, reviews=4)       # the rename and the NOT NULL column, both ways
        self.assertIn("RENAME COLUMN retry_token TO idempotency_token", up)
        self.assertIn("RENAME COLUMN idempotency_token TO retry_token", down)

    def test_enum_index_comment_and_drops(self):
        def edit(t):
            t = t.replace("CREATE INDEX audit_log_at_idx ON stopstart.audit_log USING btree (at);\n", "")
            return t
        append = """
COMMENT ON TABLE stopstart.jobs IS 'one row per job';
COMMENT ON CONSTRAINT actions_attempts_check ON stopstart.actions IS 'never negative';
COMMENT ON FUNCTION stopstart.refuse_audit_change() IS 'keeps the audit log append-only';
"""
        d = self.declare(edit, append)
        up, down = self.generate(d)
        self.assertIn("DROP INDEX stopstart.audit_log_at_idx;", up)
        self.assertIn("CREATE INDEX audit_log_at_idx ON stopstart.audit_log USING btree (at);", down)
        self.assertIn("COMMENT ON CONSTRAINT actions_attempts_check ON stopstart.actions IS 'never negative';", up)
        self.assertIn("COMMENT ON TABLE stopstart.jobs IS NULL;", down)
        self.round_trip(d)

    def test_from_live(self):
        """Hand-made DDL on a development database becomes the migration."""
        self.psql("CREATE TABLE stopstart.scratchpad (k text PRIMARY KEY, v jsonb); "
                  "CREATE INDEX scratchpad_v_idx ON stopstart.scratchpad USING gin (v)")
        d = self.copy_set(None)
        up, down = self.generate(d, "--from-live")
        self.assertIn("CREATE TABLE stopstart.scratchpad ();", up)
        self.assertIn("CREATE INDEX scratchpad_v_idx ON stopstart.scratchpad USING gin (v);", up)
        self.assertIn("DROP TABLE stopstart.scratchpad;", down)

    def test_refusals(self):
        self.ctl("db", "check", "--from-live", expect=2)
        r = self.ctl("db", "new", "x", "--from-live", migrations=self.copy_set(None), expect=2)
        self.assertIn("--from-live only applies with --autogenerate", r.stderr)
        # a declared schema that does not build: one clear line naming the file
        d = self.declare(append="\nCREATE TABLE stopstart.broken (id nosuchtype);\n")
        r = self.ctl("db", "new", "x", "--autogenerate", migrations=d, expect=None)
        self.assertNotEqual(r.returncode, OK)
        self.assertIn("migrations/schema.sql", r.stderr)
        self.assertFalse([f for f in os.listdir(d) if f.startswith(NEXT + "_")])


if __name__ == "__main__":
    main()
