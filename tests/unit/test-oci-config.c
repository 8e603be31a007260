/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci-config.h"
#include "strv.h"
#include "tests.h"

#define FP "73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7"

static char tmpdir[] = "/tmp/test-oci-config-XXXXXX";

static const char *source_root(void) {
        return getenv("STOPSTART_SOURCE_ROOT") ?: PROJECT_SOURCE_ROOT;
}

static char *read_all(const char *path, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf;
        size_t n;

        if (!f)
                TEST_FAIL("open %s: %m", path);
        buf = malloc(1024 * 1024);
        ASSERT_NOT_NULL(buf);
        n = fread(buf, 1, 1024 * 1024 - 1, f);
        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        return buf;
}

static void write_file(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        size_t n = strlen(text);

        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(write(fd, text, n) == (ssize_t) n);
        ASSERT_OK(fchmod(fd, mode));
        close(fd);
}

static char *tmp(const char *name) {
        char *p = strprintf("%s/%s", tmpdir, name);
        ASSERT_NOT_NULL(p);
        return p;
}

static void copy_vector_key(const char *name, mode_t mode) {
        _cleanup_free_ char *src = strprintf("%s/tests/fixtures/oci-signing-vectors/%s", source_root(), name);
        _cleanup_free_ char *text = read_all(src, NULL), *dst = tmp(name);
        write_file(dst, text, mode);
}

/* Copies a fixture config, replacing @KEYDIR@ with tmpdir. */
static char *install_config(const char *name) {
        _cleanup_free_ char *src = strprintf("%s/tests/fixtures/oci-config/%s", source_root(), name);
        _cleanup_free_ char *text = read_all(src, NULL);
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *joined = NULL;
        char *p = text, *at;

        while ((at = strstr(p, "@KEYDIR@"))) {
                ASSERT_OK(strv_consume(&parts, strndup(p, (size_t) (at - p))));
                ASSERT_OK(strv_extend(&parts, tmpdir));
                p = at + strlen("@KEYDIR@");
        }
        ASSERT_OK(strv_extend(&parts, p));
        joined = strv_join(parts, "");
        {
                char *dst = tmp(name);
                write_file(dst, joined, 0600);
                return dst;
        }
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void cleanup_tmpdir(void) {
        (void) nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void) {
        static const char * const keys[] = {
                "test-key-1024.pkcs1.pem", "test-key-1024.pkcs8.pem", "test-key-1024.pkcs1-encrypted.pem",
                "test-key-1024.pkcs8-encrypted.pem", "test-key-1024.public.pem",
        };
        _cleanup_free_ char *garbage = NULL, *ec = NULL, *reenc = NULL, *pkcs1 = NULL;
        EVP_PKEY *k;
        FILE *f;

        ASSERT_NOT_NULL(mkdtemp(tmpdir));
        atexit(cleanup_tmpdir);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                copy_vector_key(keys[i], 0600);
        /* the same key, but world-readable */
        {
                _cleanup_free_ char *src = tmp("test-key-1024.pkcs1.pem"), *dst = tmp("open.pem");
                _cleanup_free_ char *text = read_all(src, NULL);
                write_file(dst, text, 0644);
        }
        garbage = tmp("garbage.pem");
        write_file(garbage, "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n", 0600);

        /* an EC key: valid PEM, wrong algorithm */
        k = EVP_EC_gen("P-256");
        ASSERT_NOT_NULL(k);
        ec = tmp("ec.pem");
        f = fopen(ec, "we");
        ASSERT_NOT_NULL(f);
        ASSERT_TRUE(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
        fclose(f);
        ASSERT_OK(chmod(ec, 0600));
        EVP_PKEY_free(k);

        /* the test key encrypted with another pass phrase */
        pkcs1 = tmp("test-key-1024.pkcs1.pem");
        ASSERT_OK(oci_key_load(pkcs1, NULL, &k, NULL));
        reenc = tmp("reencrypted.pem");
        f = fopen(reenc, "we");
        ASSERT_NOT_NULL(f);
        ASSERT_TRUE(PEM_write_PrivateKey(f, k, EVP_aes_128_cbc(), (unsigned char *) "another-pass", 12, NULL, NULL) == 1);
        fclose(f);
        ASSERT_OK(chmod(reenc, 0600));
        EVP_PKEY_free(k);
}

TEST(all_key_formats) {
        static const struct {
                const char *file;
                const char *pass;
        } keys[] = {
                { "test-key-1024.pkcs1.pem", NULL },
                { "test-key-1024.pkcs8.pem", NULL },
                { "test-key-1024.pkcs1-encrypted.pem", "oci-test-passphrase" },
                { "test-key-1024.pkcs8-encrypted.pem", "oci-test-passphrase" },
                /* a pass phrase given for an unencrypted key is not used */
                { "test-key-1024.pkcs8.pem", "whatever" },
        };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *p = tmp(keys[i].file), *err = NULL;
                _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
                char fp[OCI_FINGERPRINT_MAX];
                int r = oci_key_load(p, keys[i].pass, &k, &err);

                if (r < 0)
                        TEST_FAIL("%s: %d %s", keys[i].file, r, strna(err));
                ASSERT_OK(oci_key_fingerprint(k, fp));
                ASSERT_STREQ(fp, FP);
                ASSERT_EQ(EVP_PKEY_get_bits(k), 1024);
        }
}

TEST(key_errors) {
        static const struct {
                const char *file;
                const char *pass;
                int error;
                const char *message;
        } cases[] = {
                { "test-key-1024.pkcs1-encrypted.pem", NULL, ENOKEY, "encrypted but no pass_phrase" },
                { "test-key-1024.pkcs8-encrypted.pem", "", ENOKEY, "encrypted but no pass_phrase" },
                { "test-key-1024.pkcs8-encrypted.pem", "wrong", EKEYREJECTED, "wrong pass_phrase?" },
                { "test-key-1024.pkcs1-encrypted.pem", "wrong", EKEYREJECTED, "wrong pass_phrase?" },
                { "open.pem", NULL, EPERM, "(mode 0644); refusing to use it. Fix with: chmod 600 " },
                { "garbage.pem", NULL, EBADMSG, "cannot parse the private key" },
                { "test-key-1024.public.pem", NULL, EBADMSG, "not a PEM private key" },
                { "ec.pem", NULL, EPROTONOSUPPORT, "not an RSA key" },
                { "does-not-exist.pem", NULL, ENOENT, "cannot open the private key: No such file" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = tmp(cases[i].file), *err = NULL;
                EVP_PKEY *k = NULL;
                int r = oci_key_load(p, cases[i].pass, &k, &err);

                if (r != -cases[i].error)
                        TEST_FAIL("%s: expected %d, got %d (%s)", cases[i].file, -cases[i].error, r, strna(err));
                ASSERT_NULL(k);
                ASSERT_NOT_NULL(err);
                if (!strstr(err, cases[i].message) || !startswith(err, p))
                        TEST_FAIL("%s: unexpected message: %s", cases[i].file, err);
                printf("  %s\n", err + strlen(tmpdir) + 1);
        }

        /* the chmod hint names the file so it can be pasted */
        {
                _cleanup_free_ char *p = tmp("open.pem"), *err = NULL, *hint = NULL;
                EVP_PKEY *k = NULL;
                ASSERT_ERR(oci_key_load(p, NULL, &k, &err), EPERM);
                hint = strprintf("chmod 600 %s", p);
                ASSERT_TRUE(strstr(err, hint) != NULL);
                /* group-writable only is refused too */
                ASSERT_OK(chmod(p, 0620));
                ASSERT_ERR(oci_key_load(p, NULL, &k, NULL), EPERM);
                ASSERT_OK(chmod(p, 0600));
                ASSERT_OK(oci_key_load(p, NULL, &k, NULL));
                EVP_PKEY_free(k);
                ASSERT_OK(chmod(p, 0644));
        }
}

TEST(profiles) {
        _cleanup_free_ char *path = install_config("good.ini"), *err = NULL, *kd = NULL;
        _cleanup_(oci_profile_freep) OciProfile *d = NULL, *p8 = NULL, *e1 = NULL, *e8 = NULL, *h = NULL;
        OciProfile *x = NULL;

        ASSERT_OK(oci_profile_load(path, NULL, &d, &err));
        ASSERT_STREQ(d->name, "DEFAULT");
        ASSERT_STREQ(d->user, "ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq");
        ASSERT_STREQ(d->fingerprint, FP);
        ASSERT_STREQ(d->region, "us-ashburn-1");
        ASSERT_NULL(d->pass_phrase);
        kd = tmp("test-key-1024.pkcs1.pem");
        ASSERT_STREQ(d->key_file, kd);

        /* per-key inheritance from DEFAULT, with spaces around '=' trimmed */
        ASSERT_OK(oci_profile_load(path, "PKCS8", &p8, &err));
        ASSERT_STREQ(p8->region, "us-phoenix-1");
        ASSERT_STREQ(p8->user, d->user);
        ASSERT_STREQ(p8->tenancy, d->tenancy);
        ASSERT_TRUE(strstr(p8->key_file, "pkcs8.pem") != NULL);

        /* keys are case-insensitive; "passphrase" is accepted too */
        ASSERT_OK(oci_profile_load(path, "ENCRYPTED1", &e1, &err));
        ASSERT_STREQ(e1->pass_phrase, "oci-test-passphrase");
        ASSERT_TRUE(!e1->pass_phrase_inherited);
        ASSERT_OK(oci_profile_load(path, "ENCRYPTED8", &e8, &err));
        ASSERT_STREQ(e8->pass_phrase, "oci-test-passphrase");

        /* "~" from $HOME, '=' inside a value */
        setenv("HOME", tmpdir, 1);
        ASSERT_OK(oci_profile_load(path, "HOME", &h, &err));
        {
                _cleanup_free_ char *want = tmp("test-key-1024.pkcs8.pem");
                ASSERT_STREQ(h->key_file, want);
        }
        ASSERT_STREQ(h->tenancy, "ocid1.tenancy.oc1..other=with=equals");

        /* profile names are case-sensitive, as in the SDKs */
        ASSERT_ERR(oci_profile_load(path, "pkcs8", &x, &err), ESRCH);
        ASSERT_NULL(x);
        ASSERT_TRUE(strstr(err, "no profile [pkcs8] (profiles: DEFAULT, PKCS8, ENCRYPTED1") != NULL);
        err = mfree(err);

        ASSERT_ERR(oci_profile_load("/nonexistent/oci/config", NULL, &x, &err), ENOENT);
        ASSERT_STREQ(err, "/nonexistent/oci/config: cannot open OCI config file: No such file or directory");
}

TEST(bad_files) {
        static const struct {
                const char *file;
                const char *message;
        } cases[] = {
                { "bad-before-section.ini", ":1: 'key=value' before the first [PROFILE] header" },
                { "bad-dup-section.ini", ":4: profile [DEFAULT] defined twice (first at line 1)" },
                { "bad-dup-key.ini", ":4: key 'user' set twice in [DEFAULT] (first at line 2)" },
                { "bad-line.ini", ":3: expected 'key=value' or '[PROFILE]'" },
                { "bad-header.ini", ":1: malformed section header '[DEFAULT'" },
                { "bad-empty-section.ini", ":1: empty profile name" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = install_config(cases[i].file), *err = NULL, *want = NULL;
                OciProfile *p = NULL;

                ASSERT_ERR(oci_profile_load(path, NULL, &p, &err), EINVAL);
                ASSERT_NULL(p);
                want = strprintf("%s%s", path, cases[i].message);
                ASSERT_STREQ(err, want);
        }
}

TEST(credentials) {
        _cleanup_free_ char *path = install_config("good.ini");
        static const char * const good[] = { "DEFAULT", "PKCS8", "ENCRYPTED1", "ENCRYPTED8", "HOME" };

        setenv("HOME", tmpdir, 1);
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_(oci_credentials_freep) OciCredentials *c = NULL;
                _cleanup_free_ char *err = NULL;
                char fp[OCI_FINGERPRINT_MAX];
                int r = oci_credentials_load(path, good[i], &c, &err);

                if (r < 0)
                        TEST_FAIL("[%s]: %d %s", good[i], r, strna(err));
                ASSERT_STREQ(c->fingerprint, FP); /* HOME's upper-case one normalised */
                ASSERT_OK(oci_key_fingerprint(c->key, fp));
                ASSERT_STREQ(fp, FP);
                ASSERT_STREQ(c->profile, good[i]);
                {
                        _cleanup_free_ char *kid = strprintf("%s/%s/%s", c->tenancy, c->user, FP);
                        ASSERT_STREQ(c->key_id, kid);
                }
        }

        {
                _cleanup_(oci_credentials_freep) OciCredentials *c = NULL;
                ASSERT_OK(oci_credentials_load(path, NULL, &c, NULL));
                ASSERT_STREQ(c->key_id,
                             "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq/"
                             "ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq/" FP);
                ASSERT_STREQ(c->region, "us-ashburn-1");
        }
}

TEST(credential_errors) {
        static const struct {
                const char *profile;
                int error;
                const char *message;
        } cases[] = {
                { "WRONGFP", EKEYREJECTED,
                  "profile [WRONGFP]: fingerprint 20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34 does not match the key " },
                { "BADFP", EINVAL, "profile [BADFP]: fingerprint '73:61:a2' is not of the form" },
                { "NOPASS", ENOKEY, "the private key is encrypted but no pass_phrase is configured (key_file of profile [NOPASS]" },
                { "WRONGPASS", EKEYREJECTED, "cannot decrypt the private key: wrong pass_phrase?" },
                { "OPEN", EPERM, "chmod 600" },
                { "GARBAGE", EBADMSG, "cannot parse the private key" },
                { "PUBLIC", EBADMSG, "not a PEM private key" },
                { "EC", EPROTONOSUPPORT, "not an RSA key" },
                { "MISSINGKEY", ENOENT, "cannot open the private key" },
                { "EMPTYUSER", EINVAL, "profile [EMPTYUSER] has no value for 'user'" },
                { "NOSUCH", ESRCH, "no profile [NOSUCH]" },
        };
        _cleanup_free_ char *path = install_config("good.ini");
        _cleanup_free_ char *path2 = install_config("inherit-pass.ini");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *err = NULL;
                OciCredentials *c = NULL;
                int r = oci_credentials_load(path, cases[i].profile, &c, &err);

                if (r != -cases[i].error)
                        TEST_FAIL("[%s]: expected %d, got %d (%s)", cases[i].profile, -cases[i].error, r, strna(err));
                ASSERT_NULL(c);
                if (!err || !strstr(err, cases[i].message) || strchr(err, '\n'))
                        TEST_FAIL("[%s]: unexpected message: %s", cases[i].profile, strna(err));
                printf("  [%s] %s\n", cases[i].profile, err);
        }

        /* the fingerprint mismatch names the key's real fingerprint */
        {
                _cleanup_free_ char *err = NULL;
                OciCredentials *c = NULL;
                ASSERT_ERR(oci_credentials_load(path, "WRONGFP", &c, &err), EKEYREJECTED);
                ASSERT_TRUE(strstr(err, "(its fingerprint is " FP ")") != NULL);
        }

        /* DEFAULT's pass phrase is inherited: fine for an unencrypted key, wrong for a key
         * encrypted with another one */
        {
                _cleanup_(oci_credentials_freep) OciCredentials *c = NULL, *d = NULL;
                _cleanup_(oci_profile_freep) OciProfile *p = NULL;
                _cleanup_free_ char *err = NULL;
                OciCredentials *x = NULL;

                ASSERT_OK(oci_credentials_load(path2, "DEFAULT", &d, NULL));
                ASSERT_OK(oci_profile_load(path2, "PLAIN", &p, NULL));
                ASSERT_TRUE(p->pass_phrase_inherited);
                ASSERT_OK(oci_credentials_load(path2, "PLAIN", &c, NULL));
                ASSERT_ERR(oci_credentials_load(path2, "REENC", &x, &err), EKEYREJECTED);
                ASSERT_TRUE(strstr(err, "wrong pass_phrase?") != NULL);
        }
}

TEST(fingerprint_syntax) {
        ASSERT_TRUE(oci_fingerprint_valid(FP));
        ASSERT_TRUE(oci_fingerprint_valid("73:61:A2:21:67:E0:DF:BE:7E:4B:93:1E:15:98:A5:B7"));
        ASSERT_TRUE(!oci_fingerprint_valid("73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5"));
        ASSERT_TRUE(!oci_fingerprint_valid("73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7:"));
        ASSERT_TRUE(!oci_fingerprint_valid("7361a22167e0dfbe7e4b931e1598a5b7"));
        ASSERT_TRUE(!oci_fingerprint_valid("73-61-a2-21-67-e0-df-be-7e-4b-93-1e-15-98-a5-b7"));
        ASSERT_TRUE(!oci_fingerprint_valid("zz:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7"));
        ASSERT_TRUE(!oci_fingerprint_valid(NULL));
}

TEST(key_from_pem) {
        _cleanup_free_ char *p = tmp("test-key-1024.pkcs8-encrypted.pem");
        _cleanup_free_ char *pem = NULL, *err = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        EVP_PKEY *x = NULL;
        size_t n;

        pem = read_all(p, &n);
        ASSERT_OK(oci_key_load_pem(pem, n, "oci-test-passphrase", &k, &err));
        /* truncated PEM */
        ASSERT_ERR(oci_key_load_pem(pem, n / 2, "oci-test-passphrase", &x, &err), EKEYREJECTED);
        ASSERT_NULL(x);
        ASSERT_ERR(oci_key_load_pem("", 0, NULL, &x, NULL), EBADMSG);
}

int main(void) {
        setup();
        RUN(all_key_formats);
        RUN(key_errors);
        RUN(profiles);
        RUN(bad_files);
        RUN(credentials);
        RUN(credential_errors);
        RUN(fingerprint_syntax);
        RUN(key_from_pem);
        return 0;
}
