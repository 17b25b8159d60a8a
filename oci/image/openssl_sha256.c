/* OpenSSL's low-level SHA-256 (its assembly; SHA-NI where the CPU has it) behind one function.
 * Built into a relocatable object with the libcrypto.a members it needs, every symbol but this one
 * made local (oci/image/CMakeLists.txt): see sha256_in_memory in digest.cpp. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: deprecated in favour of EVP in 3.0 */
#include <openssl/sha.h>

void skiff_openssl_sha256(const void* data, size_t size, unsigned char md[SHA256_DIGEST_LENGTH]) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data, size);
  SHA256_Final(md, &ctx);
}
