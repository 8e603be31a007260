/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "oci-config.h"
#include "strv.h"

#define OCI_CONFIG_MAX (1024 * 1024)
#define OCI_KEY_MAX (64 * 1024)

static int set_errorf(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int set_errorf(char **ret_error, const char *fmt, ...) {
        va_list ap;
        char *m = NULL;

        if (!ret_error)
                return 0;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = m;
        return m ? 0 : -ENOMEM;
}

/* Reads a whole small file through an already opened fd. */
static int read_fd(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;

        for (;;) {
                ssize_t k;

                if (allocated - n < 4096) {
                        char *b;
                        allocated = allocated ? allocated * 2 : 8192;
                        if (allocated > max + 4096)
                                allocated = max + 4096;
                        b = realloc(buf, allocated + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                k = read(fd, buf + n, allocated - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

/* ---- INI ---- */

typedef struct IniEntry {
        char *key;
        char *value;
        unsigned line;
} IniEntry;

typedef struct IniSection {
        char *name;
        unsigned line;
        IniEntry *entries;
        size_t n_entries;
} IniSection;

typedef struct Ini {
        IniSection *sections;
        size_t n_sections;
} Ini;

static void ini_done(Ini *ini) {
        for (size_t i = 0; i < ini->n_sections; i++) {
                for (size_t j = 0; j < ini->sections[i].n_entries; j++) {
                        free(ini->sections[i].entries[j].key);
                        /* values may hold a pass phrase: don't leave it in freed memory */
                        if (ini->sections[i].entries[j].value)
                                explicit_bzero(ini->sections[i].entries[j].value,
                                               strlen(ini->sections[i].entries[j].value));
                        free(ini->sections[i].entries[j].value);
                }
                free(ini->sections[i].entries);
                free(ini->sections[i].name);
        }
        free(ini->sections);
        *ini = (Ini) {};
}

static char *strip(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = 0;
        return s;
}

static int ini_parse(char *text, const char *path, Ini *ret, char **ret_error) {
        Ini ini = {};
        unsigned line = 0;
        char *p = text;
        int r = 0;

        while (p && *p) {
                char *l = p, *nl = strchr(p, '\n'), *s, *eq;

                if (nl) {
                        *nl = 0;
                        p = nl + 1;
                } else
                        p = NULL;
                line++;

                s = strip(l);
                if (*s == 0 || *s == '#' || *s == ';')
                        continue;

                if (*s == '[') {
                        char *end = strchr(s, ']'), *name;
                        IniSection *n;

                        if (!end || *strip(end + 1) != 0) {
                                r = set_errorf(ret_error, "%s:%u: malformed section header '%s'", path, line, s) ?: -EINVAL;
                                goto fail;
                        }
                        *end = 0;
                        name = strip(s + 1);
                        if (*name == 0) {
                                r = set_errorf(ret_error, "%s:%u: empty profile name", path, line) ?: -EINVAL;
                                goto fail;
                        }
                        for (size_t i = 0; i < ini.n_sections; i++)
                                if (streq(ini.sections[i].name, name)) {
                                        r = set_errorf(ret_error, "%s:%u: profile [%s] defined twice (first at line %u)",
                                                       path, line, name, ini.sections[i].line) ?: -EINVAL;
                                        goto fail;
                                }
                        n = realloc(ini.sections, sizeof(IniSection) * (ini.n_sections + 1));
                        if (!n) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        ini.sections = n;
                        ini.sections[ini.n_sections] = (IniSection) { .name = strdup(name), .line = line };
                        if (!ini.sections[ini.n_sections++].name) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        continue;
                }

                eq = strchr(s, '=');
                if (!eq) {
                        r = set_errorf(ret_error, "%s:%u: expected 'key=value' or '[PROFILE]'", path, line) ?: -EINVAL;
                        goto fail;
                }
                if (ini.n_sections == 0) {
                        r = set_errorf(ret_error, "%s:%u: 'key=value' before the first [PROFILE] header", path, line) ?: -EINVAL;
                        goto fail;
                }
                *eq = 0;
                {
                        IniSection *sec = ini.sections + ini.n_sections - 1;
                        char *key = strip(s), *value = strip(eq + 1);
                        IniEntry *e;

                        if (*key == 0) {
                                r = set_errorf(ret_error, "%s:%u: empty key name", path, line) ?: -EINVAL;
                                goto fail;
                        }
                        for (char *k = key; *k; k++)
                                *k = (char) tolower((unsigned char) *k);
                        for (size_t i = 0; i < sec->n_entries; i++)
                                if (streq(sec->entries[i].key, key)) {
                                        r = set_errorf(ret_error, "%s:%u: key '%s' set twice in [%s] (first at line %u)",
                                                       path, line, key, sec->name, sec->entries[i].line) ?: -EINVAL;
                                        goto fail;
                                }
                        e = realloc(sec->entries, sizeof(IniEntry) * (sec->n_entries + 1));
                        if (!e) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        sec->entries = e;
                        sec->entries[sec->n_entries] = (IniEntry) { .key = strdup(key), .value = strdup(value), .line = line };
                        if (!sec->entries[sec->n_entries].key || !sec->entries[sec->n_entries].value) {
                                sec->n_entries++;
                                r = -ENOMEM;
                                goto fail;
                        }
                        sec->n_entries++;
                }
        }

        *ret = ini;
        return 0;
fail:
        ini_done(&ini);
        return r;
}

static const IniSection *ini_section(const Ini *ini, const char *name) {
        for (size_t i = 0; i < ini->n_sections; i++)
                if (streq(ini->sections[i].name, name))
                        return ini->sections + i;
        return NULL;
}

static const char *ini_get(const IniSection *s, const char *key) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i].key, key))
                        return s->entries[i].value;
        return NULL;
}

OciProfile *oci_profile_free(OciProfile *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->user);
        free(p->tenancy);
        free(p->fingerprint);
        free(p->key_file);
        if (p->pass_phrase)
                explicit_bzero(p->pass_phrase, strlen(p->pass_phrase));
        free(p->pass_phrase);
        free(p->region);
        return mfree(p);
}

/* Value from the profile, else from [DEFAULT]. A key set to nothing in the profile overrides
 * DEFAULT (configparser semantics) and counts as unset. */
static int lookup(const IniSection *sec, const IniSection *def, const char *key, char **ret, bool *ret_inherited) {
        const char *v = ini_get(sec, key);
        bool inherited = false;

        if (!v && sec != def) {
                v = ini_get(def, key);
                inherited = true;
        }
        if (ret_inherited)
                *ret_inherited = inherited && !isempty(v);
        if (isempty(v)) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

int oci_profile_load(const char *path, const char *profile, OciProfile **ret, char **ret_error) {
        _cleanup_(oci_profile_freep) OciProfile *p = NULL;
        _cleanup_free_ char *text = NULL, *key_file = NULL;
        _cleanup_close_ int fd = -1;
        const IniSection *sec, *def;
        Ini ini = {};
        size_t size;
        int r;

        assert(path);
        assert(ret);

        profile = profile ?: "DEFAULT";

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                (void) set_errorf(ret_error, "%s: cannot open OCI config file: %s", path, strerror(-r));
                return r;
        }
        r = read_fd(fd, OCI_CONFIG_MAX, &text, &size);
        if (r < 0) {
                (void) set_errorf(ret_error, "%s: cannot read OCI config file: %s", path, strerror(-r));
                return r;
        }
        if (memchr(text, 0, size)) {
                (void) set_errorf(ret_error, "%s: contains a NUL byte (not an OCI config file?)", path);
                return -EINVAL;
        }

        r = ini_parse(text, path, &ini, ret_error);
        if (text)
                explicit_bzero(text, size);
        if (r < 0)
                return r;

        sec = ini_section(&ini, profile);
        def = ini_section(&ini, "DEFAULT");
        if (!sec) {
                _cleanup_strv_free_ char **names = NULL;
                _cleanup_free_ char *list = NULL;

                for (size_t i = 0; i < ini.n_sections; i++)
                        if (strv_extend(&names, ini.sections[i].name) < 0) {
                                ini_done(&ini);
                                return -ENOMEM;
                        }
                list = strv_join(names, ", ");
                (void) set_errorf(ret_error, "%s: no profile [%s] (profiles: %s)", path, profile,
                                  isempty(list) ? "none" : list);
                ini_done(&ini);
                return -ESRCH;
        }

        p = new0(OciProfile, 1);
        if (!p) {
                ini_done(&ini);
                return -ENOMEM;
        }
        r = 0;
        if ((p->name = strdup(profile)) == NULL)
                r = -ENOMEM;
        if (r >= 0)
                r = lookup(sec, def, "user", &p->user, NULL);
        if (r >= 0)
                r = lookup(sec, def, "tenancy", &p->tenancy, NULL);
        if (r >= 0)
                r = lookup(sec, def, "fingerprint", &p->fingerprint, NULL);
        if (r >= 0)
                r = lookup(sec, def, "key_file", &key_file, NULL);
        if (r >= 0)
                r = lookup(sec, def, "pass_phrase", &p->pass_phrase, &p->pass_phrase_inherited);
        if (r >= 0 && !p->pass_phrase)
                r = lookup(sec, def, "passphrase", &p->pass_phrase, &p->pass_phrase_inherited);
        if (r >= 0)
                r = lookup(sec, def, "region", &p->region, NULL);
        ini_done(&ini);
        if (r < 0)
                return r;

        if (key_file) {
                r = path_expand_home(key_file, &p->key_file);
                if (r < 0) {
                        (void) set_errorf(ret_error, "%s: [%s] key_file: cannot expand '~': %s", path, profile,
                                          strerror(-r));
                        return r;
                }
        }

        *ret = TAKE_PTR(p);
        return 0;
}

/* ---- keys ---- */

typedef struct PassCtx {
        const char *pass;
        bool asked;
} PassCtx;

static int pass_cb(char *buf, int size, int rwflag, void *userdata) {
        PassCtx *c = userdata;
        size_t n;

        c->asked = true;
        if (!c->pass)
                return -1;
        n = strlen(c->pass);
        if (n > (size_t) size)
                return -1;
        memcpy(buf, c->pass, n);
        return (int) n;
}

int oci_key_load_pem(const char *pem, size_t size, const char *pass_phrase, EVP_PKEY **ret, char **ret_error) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        PassCtx pc = { .pass = pass_phrase };
        BIO *bio;
        bool encrypted;

        assert(pem);
        assert(ret);

        if (size > INT_MAX)
                return -EFBIG;

        /* base64 bodies may contain any upper-case run: look for the armour markers only */
        encrypted = memmem(pem, size, "Proc-Type: 4,ENCRYPTED", strlen("Proc-Type: 4,ENCRYPTED")) ||
                    memmem(pem, size, "BEGIN ENCRYPTED PRIVATE KEY", strlen("BEGIN ENCRYPTED PRIVATE KEY"));
        if (!memmem(pem, size, "PRIVATE KEY-----", strlen("PRIVATE KEY-----"))) {
                (void) set_errorf(ret_error, "not a PEM private key (expected BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)");
                return -EBADMSG;
        }
        if (encrypted && isempty(pass_phrase)) {
                (void) set_errorf(ret_error, "the private key is encrypted but no pass_phrase is configured");
                return -ENOKEY;
        }

        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return -ENOMEM;
        ERR_clear_error();
        k = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &pc);
        BIO_free(bio);
        if (!k) {
                unsigned long e = ERR_peek_last_error();
                char buf[256];

                ERR_error_string_n(e, buf, sizeof buf);
                ERR_clear_error();
                if (encrypted || pc.asked) {
                        (void) set_errorf(ret_error, "cannot decrypt the private key: wrong pass_phrase? (%s)", buf);
                        return -EKEYREJECTED;
                }
                (void) set_errorf(ret_error, "cannot parse the private key (%s)", buf);
                return -EBADMSG;
        }
        if (!EVP_PKEY_is_a(k, "RSA")) {
                (void) set_errorf(ret_error, "the private key is not an RSA key (OCI API keys are RSA)");
                return -EPROTONOSUPPORT;
        }
        if (EVP_PKEY_get_bits(k) < 2048)
                log_debug("OCI API key has only %d bits; OCI requires 2048 or more", EVP_PKEY_get_bits(k));

        *ret = TAKE_PTR(k);
        return 0;
}

int oci_key_load(const char *path, const char *pass_phrase, EVP_PKEY **ret, char **ret_error) {
        _cleanup_free_ char *pem = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t size;
        int r;

        assert(path);
        assert(ret);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                (void) set_errorf(ret_error, "%s: cannot open the private key: %s", path, strerror(-r));
                return r;
        }
        /* check the file we actually read, not the name */
        if (fstat(fd, &st) < 0) {
                r = -errno;
                (void) set_errorf(ret_error, "%s: cannot stat the private key: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                (void) set_errorf(ret_error, "%s: the private key is not a regular file", path);
                return -EBADMSG;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
                (void) set_errorf(ret_error,
                                  "%s: the private key is accessible by group or others (mode %04o); refusing to use it. "
                                  "Fix with: chmod 600 %s",
                                  path, (unsigned) (st.st_mode & 07777), path);
                return -EPERM;
        }

        r = read_fd(fd, OCI_KEY_MAX, &pem, &size);
        if (r < 0) {
                (void) set_errorf(ret_error, "%s: cannot read the private key: %s", path,
                                  r == -EFBIG ? "file too large" : strerror(-r));
                return r;
        }

        r = oci_key_load_pem(pem, size, pass_phrase, ret, ret_error);
        explicit_bzero(pem, size);
        if (r < 0 && ret_error && *ret_error) {
                char *m = strprintf("%s: %s", path, *ret_error);
                if (m) {
                        free(*ret_error);
                        *ret_error = m;
                }
        }
        return r;
}

int oci_key_fingerprint(EVP_PKEY *key, char ret[static OCI_FINGERPRINT_MAX]) {
        unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        int n, ok;

        assert(key);

        n = i2d_PUBKEY(key, &der);
        if (n <= 0)
                return -EINVAL;
        ok = EVP_Digest(der, (size_t) n, md, &md_len, EVP_md5(), NULL);
        OPENSSL_free(der);
        if (!ok || md_len != 16)
                return -EIO;
        for (unsigned i = 0; i < 16; i++)
                snprintf(ret + i * 3, 4, "%02x%s", md[i], i < 15 ? ":" : "");
        return 0;
}

bool oci_fingerprint_valid(const char *s) {
        if (!s || strlen(s) != 47)
                return false;
        for (size_t i = 0; i < 47; i++) {
                if (i % 3 == 2) {
                        if (s[i] != ':')
                                return false;
                } else if (!isxdigit((unsigned char) s[i]))
                        return false;
        }
        return true;
}

OciCredentials *oci_credentials_free(OciCredentials *c) {
        if (!c)
                return NULL;
        free(c->profile);
        free(c->tenancy);
        free(c->user);
        free(c->fingerprint);
        free(c->region);
        free(c->key_file);
        free(c->key_id);
        EVP_PKEY_free(c->key);
        return mfree(c);
}

int oci_credentials_load(const char *path, const char *profile, OciCredentials **ret, char **ret_error) {
        _cleanup_(oci_profile_freep) OciProfile *p = NULL;
        _cleanup_(oci_credentials_freep) OciCredentials *c = NULL;
        _cleanup_free_ char *kerr = NULL;
        char fp[OCI_FINGERPRINT_MAX];
        const char *missing = NULL;
        int r;

        assert(path);
        assert(ret);

        r = oci_profile_load(path, profile, &p, ret_error);
        if (r < 0)
                return r;

        if (!p->user)
                missing = "user";
        else if (!p->tenancy)
                missing = "tenancy";
        else if (!p->fingerprint)
                missing = "fingerprint";
        else if (!p->key_file)
                missing = "key_file";
        if (missing) {
                (void) set_errorf(ret_error, "%s: profile [%s] has no value for '%s' (in the profile or in [DEFAULT])", path, p->name, missing);
                return -EINVAL;
        }
        if (!oci_fingerprint_valid(p->fingerprint)) {
                (void) set_errorf(ret_error, "%s: profile [%s]: fingerprint '%s' is not of the form aa:bb:...:ff (16 pairs)",
                                  path, p->name, p->fingerprint);
                return -EINVAL;
        }
        for (char *x = p->fingerprint; *x; x++)
                *x = (char) tolower((unsigned char) *x);

        c = new0(OciCredentials, 1);
        if (!c)
                return -ENOMEM;

        /* A pass_phrase inherited from [DEFAULT] is harmless for an unencrypted key: OpenSSL
         * asks for it only when the key is encrypted (what the Python SDK's retry achieves). */
        r = oci_key_load(p->key_file, p->pass_phrase, &c->key, &kerr);
        if (r < 0) {
                (void) set_errorf(ret_error, "%s (key_file of profile [%s] in %s)", strna(kerr), p->name, path);
                return r;
        }

        r = oci_key_fingerprint(c->key, fp);
        if (r < 0) {
                (void) set_errorf(ret_error, "%s: cannot compute the key fingerprint", p->key_file);
                return r;
        }
        if (!streq(fp, p->fingerprint)) {
                (void) set_errorf(ret_error,
                                  "%s: profile [%s]: fingerprint %s does not match the key %s (its fingerprint is %s); "
                                  "set fingerprint to the value the OCI console shows for this key, or point key_file at the right key",
                                  path, p->name, p->fingerprint, p->key_file, fp);
                return -EKEYREJECTED;
        }

        c->profile = TAKE_PTR(p->name);
        c->tenancy = TAKE_PTR(p->tenancy);
        c->user = TAKE_PTR(p->user);
        c->fingerprint = TAKE_PTR(p->fingerprint);
        c->region = TAKE_PTR(p->region);
        c->key_file = TAKE_PTR(p->key_file);
        c->key_id = strprintf("%s/%s/%s", c->tenancy, c->user, c->fingerprint);
        if (!c->key_id)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}
