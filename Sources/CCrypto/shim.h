// libcrypto (OpenSSL 3) for Swift: headers plus wrappers for what Swift cannot call directly.
#pragma once
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

/// OPENSSL_free is a macro.
static inline void ccrypto_free(void *p) { OPENSSL_free(p); }

/// Initialise libcrypto without an atexit handler (linking libcurl and libcrypto together
/// otherwise risks a double free at process exit).
static inline int ccrypto_init(void) {
    return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

/// OSSL_PARAM constructors are functions, but building arrays is easier here.
static inline OSSL_PARAM ccrypto_param_octets(const char *key, void *buf, size_t len) {
    return OSSL_PARAM_construct_octet_string(key, buf, len);
}
static inline OSSL_PARAM ccrypto_param_utf8(const char *key, char *buf) {
    return OSSL_PARAM_construct_utf8_string(key, buf, 0);
}
static inline OSSL_PARAM ccrypto_param_uint64(const char *key, uint64_t *v) {
    return OSSL_PARAM_construct_uint64(key, v);
}
static inline OSSL_PARAM ccrypto_param_uint32(const char *key, uint32_t *v) {
    return OSSL_PARAM_construct_uint32(key, v);
}
static inline OSSL_PARAM ccrypto_param_end(void) { return OSSL_PARAM_construct_end(); }
