/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "strv.h"

#define CONFIG_FILE_MAX (1024 * 1024)

static const char * const discovery_details_table[_DISCOVERY_DETAILS_MAX] = {
        [DISCOVERY_DETAILS_AUTO] = "auto",
        [DISCOVERY_DETAILS_ALWAYS] = "always",
        [DISCOVERY_DETAILS_NEVER] = "never",
};
DEFINE_STRING_TABLE_LOOKUP(discovery_details, DiscoveryDetails);

static void yaml_parser_deletep(yaml_parser_t *p) {
        yaml_parser_delete(p);
}

static void yaml_document_deletep(yaml_document_t **d) {
        if (*d) {
                yaml_document_delete(*d);
                *d = NULL;
        }
}

int path_expand_home(const char *path, char **ret) {
        const char *home, *rest;
        char *s;

        assert(path);
        assert(ret);

        if (path[0] != '~' || (path[1] != 0 && path[1] != '/')) {
                s = strdup(path);
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }

        rest = path + 1;
        home = getenv("HOME");
        if (isempty(home)) {
                struct passwd *pw = getpwuid(getuid());
                if (!pw || isempty(pw->pw_dir))
                        return -ENXIO;
                home = pw->pw_dir;
        }
        /* "/" + "/x" would give "//x": drop the home's trailing slash */
        s = strprintf("%.*s%s", (int) (strlen(home) - (streq(home, "/") && *rest ? 1 : 0)), home, rest);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "",    1 },
                { "B",   1 },
                { "K",   1ULL << 10 }, { "KB", 1ULL << 10 }, { "KiB", 1ULL << 10 },
                { "M",   1ULL << 20 }, { "MB", 1ULL << 20 }, { "MiB", 1ULL << 20 },
                { "G",   1ULL << 30 }, { "GB", 1ULL << 30 }, { "GiB", 1ULL << 30 },
        };
        uint64_t v = 0;
        const char *p = s;

        if (!s || !isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        while (*p == ' ')
                p++;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(p, table[i].suffix)) {
                        if (v > UINT64_MAX / table[i].factor)
                                return -ERANGE;
                        *ret = v * table[i].factor;
                        return 0;
                }
        return -EINVAL;
}

int config_new(Config **ret) {
        _cleanup_config_free_ Config *c = NULL;
        int r;

        assert(ret);

        c = new0(Config, 1);
        if (!c)
                return -ENOMEM;

        c->database = strdup(CONFIG_DEFAULT_DATABASE);
        c->oci.profile = strdup(CONFIG_DEFAULT_OCI_PROFILE);
        if (!c->database || !c->oci.profile)
                return -ENOMEM;
        r = path_expand_home(CONFIG_DEFAULT_OCI_CONFIG_FILE, &c->oci.config_file);
        if (r < 0)
                return r;
        c->oci.connect_timeout = CONFIG_DEFAULT_CONNECT_TIMEOUT;
        c->oci.request_timeout = CONFIG_DEFAULT_REQUEST_TIMEOUT;
        c->oci.max_attempts = CONFIG_DEFAULT_MAX_ATTEMPTS;
        c->oci.retry_max_time = CONFIG_DEFAULT_RETRY_MAX_TIME;
        c->oci.retry_base_delay = CONFIG_DEFAULT_RETRY_BASE_DELAY;
        c->oci.retry_max_delay = CONFIG_DEFAULT_RETRY_MAX_DELAY;
        c->oci.max_response_size = CONFIG_DEFAULT_MAX_RESPONSE_SIZE;
        c->discovery.interval = CONFIG_DEFAULT_INTERVAL;
        c->discovery.max_in_flight = CONFIG_DEFAULT_MAX_IN_FLIGHT;
        c->discovery.rate_limit = 0;
        c->discovery.page_size = CONFIG_DEFAULT_PAGE_SIZE;
        c->discovery.store_batch = CONFIG_DEFAULT_STORE_BATCH;
        c->discovery.details = DISCOVERY_DETAILS_AUTO;
        c->migrations.allow_reset = false;
        c->migrations.lock_timeout = CONFIG_DEFAULT_LOCK_TIMEOUT;
        c->migrations.keep_backups = CONFIG_DEFAULT_KEEP_BACKUPS;
        c->migrations.backup_dir = strdup(CONFIG_DEFAULT_BACKUP_DIR);
        if (!c->migrations.backup_dir)
                return -ENOMEM;
        c->scheduler.max_parallel_actions = CONFIG_DEFAULT_MAX_PARALLEL_ACTIONS;
        c->systemd.bus = strdup(CONFIG_DEFAULT_SYSTEMD_BUS);
        if (!c->systemd.bus)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->database);
        free(c->oci.config_file);
        free(c->oci.profile);
        strv_free(c->oci.regions);
        free(c->oci.endpoint);
        free(c->oci.ca_file);
        free(c->systemd.bus);
        free(c->migrations.backup_dir);
        free(c->scheduler.time_zone);
        return mfree(c);
}

/* ---- parsing ---- */

typedef struct Ctx {
        const char *name;        /* file name for messages */
        const char *dir;         /* directory relative paths are resolved against, or NULL */
        yaml_document_t *doc;
        char *error;
} Ctx;

static int fail_at(Ctx *c, yaml_mark_t mark, const char *fmt, ...) _printf_(3, 4);
static int fail_at(Ctx *c, yaml_mark_t mark, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        if (c->error)            /* keep the first error */
                return -EINVAL;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        if (!m)
                return -ENOMEM;
        c->error = strprintf("%s:%zu:%zu: %s", c->name, mark.line + 1, mark.column + 1, m);
        return c->error ? -EINVAL : -ENOMEM;
}

static const char *node_type_name(const yaml_node_t *n) {
        switch (n->type) {
        case YAML_SCALAR_NODE:
                return "a scalar";
        case YAML_SEQUENCE_NODE:
                return "a list";
        case YAML_MAPPING_NODE:
                return "a mapping";
        default:
                return "nothing";
        }
}

static bool node_is_null(const yaml_node_t *n) {
        const char *v;

        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        v = (const char *) n->data.scalar.value;
        return n->data.scalar.length == 0 || streq(v, "~") || streq(v, "null") || streq(v, "Null") ||
               streq(v, "NULL");
}

/* Returns the scalar's text, or NULL (after recording an error) if n is not a usable scalar. */
static const char *scalar(Ctx *c, const char *key, const yaml_node_t *n, const char *expected) {
        if (n->type != YAML_SCALAR_NODE) {
                (void) fail_at(c, n->start_mark, "%s: expected %s, got %s", key, expected, node_type_name(n));
                return NULL;
        }
        if (strlen((const char *) n->data.scalar.value) != n->data.scalar.length) {
                (void) fail_at(c, n->start_mark, "%s: value contains a NUL byte", key);
                return NULL;
        }
        return (const char *) n->data.scalar.value;
}

static const char *plain_scalar(Ctx *c, const char *key, const yaml_node_t *n, const char *expected) {
        const char *v = scalar(c, key, n, expected);

        if (!v)
                return NULL;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
                (void) fail_at(c, n->start_mark, "%s: expected %s, got the quoted string \"%s\"", key, expected, v);
                return NULL;
        }
        return v;
}

typedef int (*value_parser_t)(Ctx *c, const char *key, yaml_node_t *v, void *dest);

typedef struct KeyDef {
        const char *name;
        value_parser_t parse;
        size_t offset;           /* into Config */
} KeyDef;

static int parse_mapping(Ctx *c, const char *section, yaml_node_t *map, const KeyDef *defs, size_t n_defs,
                         Config *cfg) {
        if (node_is_null(map))   /* "oci:" with nothing below: all defaults */
                return 0;
        if (map->type != YAML_MAPPING_NODE)
                return fail_at(c, map->start_mark, "%s: expected a mapping of keys, got %s",
                               section ?: "top level", node_type_name(map));

        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
                yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
                _cleanup_free_ char *full = NULL;
                const char *name;
                const KeyDef *d = NULL;
                int r;

                if (!k || !v)
                        return fail_at(c, map->start_mark, "malformed mapping");
                if (k->type != YAML_SCALAR_NODE || node_is_null(k))
                        return fail_at(c, k->start_mark, "%s: expected a key name, got %s",
                                       section ?: "top level", node_type_name(k));
                name = (const char *) k->data.scalar.value;

                for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
                        yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);
                        if (k2 && k2->type == YAML_SCALAR_NODE && streq((const char *) k2->data.scalar.value, name))
                                return fail_at(c, k->start_mark, "duplicate key '%s%s%s' (first set at line %zu)",
                                               section ?: "", section ? "." : "", name, k2->start_mark.line + 1);
                }

                for (size_t i = 0; i < n_defs; i++)
                        if (streq(defs[i].name, name)) {
                                d = defs + i;
                                break;
                        }
                if (!d)
                        return fail_at(c, k->start_mark, "unknown key '%s%s%s'", section ?: "", section ? "." : "", name);

                full = section ? strprintf("%s.%s", section, name) : strdup(name);
                if (!full)
                        return -ENOMEM;
                r = d->parse(c, full, v, (uint8_t *) cfg + d->offset);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int make_path(Ctx *c, const char *v, char **ret) {
        if (v[0] == '/' || v[0] == '~' || !c->dir)
                return path_expand_home(v, ret);
        *ret = strprintf("%s/%s", c->dir, v);
        return *ret ? 0 : -ENOMEM;
}

static int parse_nonempty_string(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        char **s = dest;
        const char *t;

        if (node_is_null(v))
                return fail_at(c, v->start_mark, "%s: expected a string, got nothing", key);
        t = scalar(c, key, v, "a string");
        if (!t)
                return -EINVAL;
        if (isempty(t))
                return fail_at(c, v->start_mark, "%s: must not be empty", key);
        free(*s);
        *s = strdup(t);
        return *s ? 0 : -ENOMEM;
}

static int parse_profile(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        int r = parse_nonempty_string(c, key, v, dest);
        const char *s;

        if (r < 0)
                return r;
        s = *(char **) dest;
        if (strpbrk(s, "[]\n\r"))
                return fail_at(c, v->start_mark, "%s: invalid profile name '%s'", key, s);
        return 0;
}

static int parse_path(Ctx *c, const char *key, yaml_node_t *v, void *dest, bool optional) {
        char **s = dest;
        const char *t;
        char *p;
        int r;

        if (optional && node_is_null(v)) {
                *s = mfree(*s);
                return 0;
        }
        if (node_is_null(v))
                return fail_at(c, v->start_mark, "%s: expected a path, got nothing", key);
        t = scalar(c, key, v, "a path");
        if (!t)
                return -EINVAL;
        if (isempty(t))
                return fail_at(c, v->start_mark, "%s: must not be empty", key);
        r = make_path(c, t, &p);
        if (r == -ENXIO)
                return fail_at(c, v->start_mark, "%s: cannot expand '~': no home directory known", key);
        if (r < 0)
                return r;
        free(*s);
        *s = p;
        return 0;
}

static int parse_required_path(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        return parse_path(c, key, v, dest, false);
}

static int parse_optional_path(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        return parse_path(c, key, v, dest, true);
}

static bool region_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 64 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '-'))
                        return false;
        return true;
}

static int parse_regions(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        _cleanup_strv_free_ char **l = NULL;
        char ***ret = dest;
        int r;

        if (node_is_null(v)) {
                *ret = strv_free(*ret);
                return 0;
        }
        if (v->type != YAML_SEQUENCE_NODE)
                return fail_at(c, v->start_mark, "%s: expected a list of region names, got %s", key,
                               node_type_name(v));

        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
                yaml_node_t *e = yaml_document_get_node(c->doc, *i);
                const char *t;

                if (!e)
                        return fail_at(c, v->start_mark, "%s: malformed list", key);
                t = scalar(c, key, e, "a region name");
                if (!t)
                        return -EINVAL;
                if (!region_name_valid(t))
                        return fail_at(c, e->start_mark, "%s: invalid region name '%s' (expected e.g. us-phoenix-1)",
                                       key, t);
                if (strv_contains(l, t))
                        return fail_at(c, e->start_mark, "%s: region '%s' listed twice", key, t);
                r = strv_extend(&l, t);
                if (r < 0)
                        return r;
        }
        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 0;
}

static int validate_endpoint(const char *s, const char **ret_problem) {
        const char *host;

        host = startswith(s, "https://") ?: startswith(s, "http://");
        if (!host) {
                *ret_problem = "must start with http:// or https://";
                return -EINVAL;
        }
        if (*host == 0 || *host == '/') {
                *ret_problem = "has no host";
                return -EINVAL;
        }
        for (const char *p = s; *p; p++) {
                if ((unsigned char) *p <= ' ' || *p == 0x7f) {
                        *ret_problem = "must not contain spaces or control characters";
                        return -EINVAL;
                }
                if (*p == '?' || *p == '#') {
                        *ret_problem = "must not contain a query or fragment";
                        return -EINVAL;
                }
                if (*p == '{') {
                        const char *q = startswith(p, "{region}") ?: startswith(p, "{service}");
                        if (!q) {
                                *ret_problem = "has an unknown placeholder (only {region} and {service} exist)";
                                return -EINVAL;
                        }
                        p = q - 1;
                } else if (*p == '}') {
                        *ret_problem = "has a '}' without '{'";
                        return -EINVAL;
                }
        }
        return 0;
}

static int parse_endpoint(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        char **s = dest;
        const char *t, *problem = NULL;
        char *e;
        size_t n;

        if (node_is_null(v)) {
                *s = mfree(*s);
                return 0;
        }
        t = scalar(c, key, v, "a URL");
        if (!t)
                return -EINVAL;
        if (validate_endpoint(t, &problem) < 0)
                return fail_at(c, v->start_mark, "%s: '%s' %s", key, t, problem);
        /* the API paths start with '/': keep exactly one */
        n = strlen(t);
        while (n > 0 && t[n - 1] == '/')
                n--;
        e = strndup(t, n);
        if (!e)
                return -ENOMEM;
        free(*s);
        *s = e;
        return 0;
}

static int parse_span(Ctx *c, const char *key, yaml_node_t *v, usec_t *dest, usec_t min, usec_t max) {
        char a[TIMESPAN_MAX], b[TIMESPAN_MAX];
        const char *t;
        usec_t u;

        t = scalar(c, key, v, "a time span");
        if (!t)
                return -EINVAL;
        if (parse_timespan(t, &u) < 0)
                return fail_at(c, v->start_mark, "%s: invalid time span '%s' (expected e.g. 30s, 15min, 1h)", key, t);
        if (u < min || u > max)
                return fail_at(c, v->start_mark, "%s: %s is out of range (%s..%s)", key, t,
                               format_timespan(a, sizeof a, min), format_timespan(b, sizeof b, max));
        *dest = u;
        return 0;
}

#define DEFINE_SPAN_PARSER(fname, min, max)                                       \
        static int fname(Ctx *c, const char *key, yaml_node_t *v, void *dest) {  \
                return parse_span(c, key, v, dest, (min), (max));                 \
        }

DEFINE_SPAN_PARSER(parse_span_timeout, USEC_PER_MSEC, USEC_PER_DAY)
DEFINE_SPAN_PARSER(parse_span_retry_time, 0, USEC_PER_DAY)
DEFINE_SPAN_PARSER(parse_span_delay, 0, USEC_PER_HOUR)
DEFINE_SPAN_PARSER(parse_span_interval, USEC_PER_SEC, 366 * USEC_PER_DAY)
DEFINE_SPAN_PARSER(parse_span_lock, 0, USEC_PER_DAY)

static int parse_unsigned(Ctx *c, const char *key, yaml_node_t *v, unsigned *dest, unsigned min, unsigned max) {
        unsigned long long u = 0;
        const char *t;

        t = plain_scalar(c, key, v, "an integer");
        if (!t)
                return -EINVAL;
        if (!isdigit((unsigned char) *t))
                goto bad;
        for (const char *p = t; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        goto bad;
                u = u * 10 + (unsigned) (*p - '0');
                if (u > max)
                        goto bad;
        }
        if (u < min)
                goto bad;
        *dest = (unsigned) u;
        return 0;
bad:
        return fail_at(c, v->start_mark, "%s: expected an integer between %u and %u, got '%s'", key, min, max, t);
}

#define DEFINE_UNSIGNED_PARSER(fname, min, max)                                   \
        static int fname(Ctx *c, const char *key, yaml_node_t *v, void *dest) {  \
                return parse_unsigned(c, key, v, dest, (min), (max));             \
        }

DEFINE_UNSIGNED_PARSER(parse_max_attempts, 1, 100)
DEFINE_UNSIGNED_PARSER(parse_max_in_flight, 1, 1024)
DEFINE_UNSIGNED_PARSER(parse_page_size, 1, 1000)
DEFINE_UNSIGNED_PARSER(parse_store_batch, 1, 100000)
DEFINE_UNSIGNED_PARSER(parse_max_parallel_actions, 1, 1024)
DEFINE_UNSIGNED_PARSER(parse_keep_backups, 0, 100000)

static int parse_rate(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        double *d = dest, x;
        const char *t;
        char *end = NULL;

        t = plain_scalar(c, key, v, "a number");
        if (!t)
                return -EINVAL;
        errno = 0;
        x = strtod(t, &end);
        if (errno != 0 || !end || *end || end == t || !isdigit((unsigned char) t[0]) || !isfinite(x) || x < 0 ||
            x > 1e6)
                return fail_at(c, v->start_mark, "%s: expected a number of requests per second (0 = no limit), got '%s'",
                               key, t);
        *d = x;
        return 0;
}

static int parse_details(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        DiscoveryDetails *d = dest, x;
        const char *t;

        t = plain_scalar(c, key, v, "auto, always or never");
        if (!t)
                return -EINVAL;
        x = discovery_details_from_string(t);
        if (x < 0)
                return fail_at(c, v->start_mark, "%s: expected auto, always or never, got '%s'", key, t);
        *d = x;
        return 0;
}

static int parse_size_value(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        uint64_t *d = dest, x;
        const char *t;

        t = scalar(c, key, v, "a size");
        if (!t)
                return -EINVAL;
        if (parse_size(t, &x) < 0 || x < 1024 || x > (1ULL << 32))
                return fail_at(c, v->start_mark, "%s: expected a size between 1KiB and 4GiB (e.g. 64MiB), got '%s'",
                               key, t);
        *d = x;
        return 0;
}

static int parse_bool_value(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        static const char * const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
        static const char * const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
        bool *b = dest;
        const char *t;

        t = plain_scalar(c, key, v, "true or false");
        if (!t)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(t, yes[i])) {
                        *b = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq(t, no[i])) {
                        *b = false;
                        return 0;
                }
        return fail_at(c, v->start_mark, "%s: expected true or false, got '%s'", key, t);
}

static const KeyDef oci_keys[] = {
        { "config_file",       parse_required_path,   offsetof(Config, oci.config_file) },
        { "profile",           parse_profile,         offsetof(Config, oci.profile) },
        { "regions",           parse_regions,         offsetof(Config, oci.regions) },
        { "endpoint",          parse_endpoint,        offsetof(Config, oci.endpoint) },
        { "ca_file",           parse_optional_path,   offsetof(Config, oci.ca_file) },
        { "connect_timeout",   parse_span_timeout,    offsetof(Config, oci.connect_timeout) },
        { "request_timeout",   parse_span_timeout,    offsetof(Config, oci.request_timeout) },
        { "max_attempts",      parse_max_attempts,    offsetof(Config, oci.max_attempts) },
        { "retry_max_time",    parse_span_retry_time, offsetof(Config, oci.retry_max_time) },
        { "retry_base_delay",  parse_span_delay,      offsetof(Config, oci.retry_base_delay) },
        { "retry_max_delay",   parse_span_delay,      offsetof(Config, oci.retry_max_delay) },
        { "max_response_size", parse_size_value,      offsetof(Config, oci.max_response_size) },
};

static const KeyDef discovery_keys[] = {
        { "interval",      parse_span_interval, offsetof(Config, discovery.interval) },
        { "max_in_flight", parse_max_in_flight, offsetof(Config, discovery.max_in_flight) },
        { "rate_limit",    parse_rate,          offsetof(Config, discovery.rate_limit) },
        { "page_size",     parse_page_size,     offsetof(Config, discovery.page_size) },
        { "store_batch",   parse_store_batch,   offsetof(Config, discovery.store_batch) },
        { "details",       parse_details,       offsetof(Config, discovery.details) },
};

static const KeyDef migrations_keys[] = {
        { "allow_reset",  parse_bool_value, offsetof(Config, migrations.allow_reset) },
        { "lock_timeout", parse_span_lock,  offsetof(Config, migrations.lock_timeout) },
        { "backup_dir",   parse_required_path, offsetof(Config, migrations.backup_dir) },
        { "keep_backups", parse_keep_backups, offsetof(Config, migrations.keep_backups) },
        { "backup_before_upgrade", parse_bool_value, offsetof(Config, migrations.backup_before_upgrade) },
};

/* "system", "user", or a D-Bus address: TRANSPORT:KEY=VALUE[,KEY=VALUE...][;...] */
static bool systemd_bus_is_valid(const char *t) {
        if (streq(t, "system") || streq(t, "user"))
                return true;
        const char *colon = strchr(t, ':');
        if (!colon || colon == t || !strchr(colon, '='))
                return false;
        for (const char *p = t; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        for (const char *p = t; p < colon; p++)
                if (!isalnum((unsigned char) *p) && *p != '-')
                        return false;
        return true;
}

static int parse_systemd_bus(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        char **s = dest;
        const char *t;

        t = scalar(c, key, v, "system, user or a D-Bus address");
        if (!t)
                return -EINVAL;
        if (!systemd_bus_is_valid(t))
                return fail_at(c, v->start_mark,
                               "%s: expected system, user or a D-Bus address (e.g. unix:path=/run/user/998/systemd/private), got '%s'",
                               key, t);
        free(*s);
        *s = strdup(t);
        return *s ? 0 : -ENOMEM;
}

static const KeyDef systemd_keys[] = {
        { "bus", parse_systemd_bus, offsetof(Config, systemd.bus) },
};

static int parse_systemd(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        return parse_mapping(c, key, v, systemd_keys, ELEMENTSOF(systemd_keys), dest);
}

static int parse_time_zone(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        char **s = dest;
        const char *t;

        t = scalar(c, key, v, "an IANA time zone");
        if (!t)
                return -EINVAL;
        if (!time_zone_is_valid(t))
                return fail_at(c, v->start_mark, "%s: unknown time zone '%s' (an IANA name such as Europe/Berlin)", key, t);
        free(*s);
        *s = strdup(t);
        return *s ? 0 : -ENOMEM;
}

static const KeyDef scheduler_keys[] = {
        { "time_zone",            parse_time_zone,            offsetof(Config, scheduler.time_zone) },
        { "max_parallel_actions", parse_max_parallel_actions, offsetof(Config, scheduler.max_parallel_actions) },
};

static int parse_scheduler(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        return parse_mapping(c, key, v, scheduler_keys, ELEMENTSOF(scheduler_keys), dest);
}

/* Section parsers get the whole Config as dest: their KeyDef offset is 0. */
static int parse_oci(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        Config *cfg = dest;
        char a[TIMESPAN_MAX], b[TIMESPAN_MAX];
        int r;

        r = parse_mapping(c, key, v, oci_keys, ELEMENTSOF(oci_keys), dest);
        if (r < 0)
                return r;
        if (cfg->oci.retry_base_delay > cfg->oci.retry_max_delay)
                return fail_at(c, v->start_mark, "%s: retry_base_delay (%s) must not exceed retry_max_delay (%s)", key,
                               format_timespan(a, sizeof a, cfg->oci.retry_base_delay),
                               format_timespan(b, sizeof b, cfg->oci.retry_max_delay));
        return 0;
}

static int parse_discovery(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        return parse_mapping(c, key, v, discovery_keys, ELEMENTSOF(discovery_keys), dest);
}

static int parse_migrations(Ctx *c, const char *key, yaml_node_t *v, void *dest) {
        return parse_mapping(c, key, v, migrations_keys, ELEMENTSOF(migrations_keys), dest);
}

static const KeyDef root_keys[] = {
        { "database",   parse_nonempty_string, offsetof(Config, database) },
        { "oci",        parse_oci,             0 },
        { "discovery",  parse_discovery,       0 },
        { "migrations", parse_migrations,      0 },
        { "systemd",    parse_systemd,         0 },
        { "scheduler",  parse_scheduler,       0 },
};

static int set_error(char **ret_error, char *msg) {
        if (!msg)
                return -ENOMEM;
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
        return 0;
}

static int load_string(const char *text, size_t len, const char *name, const char *dir, Config **ret,
                       char **ret_error) {
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser = {};
        _cleanup_(yaml_document_deletep) yaml_document_t *doc = NULL;
        yaml_document_t doc_storage = {}, extra = {};
        _cleanup_config_free_ Config *cfg = NULL;
        _cleanup_free_ char *error = NULL;
        yaml_node_t *root;
        Ctx c = { .name = name, .dir = dir };
        int r;

        assert(text);
        assert(name);
        assert(ret);

        r = config_new(&cfg);
        if (r < 0)
                return r;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);

        if (!yaml_parser_load(&parser, &doc_storage)) {
                if (parser.error == YAML_MEMORY_ERROR)
                        return -ENOMEM;
                (void) set_error(ret_error, strprintf("%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
                                                     parser.problem_mark.column + 1, strna(parser.problem),
                                                     parser.context ? " " : "", strempty(parser.context)));
                return -EINVAL;
        }
        doc = &doc_storage;
        c.doc = doc;

        root = yaml_document_get_root_node(doc);
        if (root) {
                /* a second document in the same file would be silently ignored: refuse it */
                if (!yaml_parser_load(&parser, &extra)) {
                        if (parser.error == YAML_MEMORY_ERROR)
                                return -ENOMEM;
                        (void) set_error(ret_error, strprintf("%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
                                                             parser.problem_mark.column + 1, strna(parser.problem),
                                                             parser.context ? " " : "", strempty(parser.context)));
                        return -EINVAL;
                }
                if (yaml_document_get_root_node(&extra)) {
                        yaml_node_t *x = yaml_document_get_root_node(&extra);
                        yaml_mark_t m = x->start_mark;

                        yaml_document_delete(&extra);
                        (void) set_error(ret_error, strprintf("%s:%zu:%zu: only one YAML document is allowed", name,
                                                             m.line + 1, m.column + 1));
                        return -EINVAL;
                }
                yaml_document_delete(&extra);

                r = parse_mapping(&c, NULL, root, root_keys, ELEMENTSOF(root_keys), cfg);
                if (r < 0) {
                        if (c.error)
                                (void) set_error(ret_error, TAKE_PTR(c.error));
                        return r;
                }
        }

        *ret = TAKE_PTR(cfg);
        return 0;
}

int config_load_string(const char *text, const char *name, Config **ret, char **ret_error) {
        assert(text);
        return load_string(text, strlen(text), name ?: "<string>", NULL, ret, ret_error);
}

int config_load(const char *path, Config **ret, char **ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL, *dir = NULL;
        Config *cfg = NULL;
        size_t n = 0;
        const char *slash;
        int r;

        assert(path);
        assert(ret);

        f = fopen(path, "re");
        if (!f) {
                r = negative_errno();
                (void) set_error(ret_error, strprintf("%s: cannot open: %s", path, strerror(-r)));
                return r;
        }
        buf = malloc(CONFIG_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
        if (ferror(f)) {
                r = -EIO;
                (void) set_error(ret_error, strprintf("%s: read error", path));
                return r;
        }
        if (n > CONFIG_FILE_MAX) {
                (void) set_error(ret_error, strprintf("%s: file is larger than %d bytes", path, CONFIG_FILE_MAX));
                return -EFBIG;
        }
        if (memchr(buf, 0, n)) {
                (void) set_error(ret_error, strprintf("%s: file contains a NUL byte (not a text file?)", path));
                return -EINVAL;
        }
        buf[n] = 0;

        slash = strrchr(path, '/');
        dir = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return -ENOMEM;

        r = load_string(buf, n, path, dir, &cfg, ret_error);
        if (r < 0)
                return r;
        cfg->path = strdup(path);
        if (!cfg->path) {
                config_free(cfg);
                return -ENOMEM;
        }
        *ret = cfg;
        return 0;
}
