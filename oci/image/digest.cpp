#include "oci/image/digest.hpp"

#include <utility>
#include <vector>

#include "oci/image/libs.hpp"

// OpenSSL's SHA256_Init/Update/Final from libcrypto.a (openssl_sha256.c, CMakeLists.txt).
extern "C" void skiff_openssl_sha256(const void* data, size_t size, unsigned char md[32]);

namespace skiff::image {
namespace {

std::string hex_of(const unsigned char* md, size_t len) {
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

}  // namespace

// OpenSSL's low-level SHA-256 (SHA256_Init/Update/Final: its assembly, SHA-NI where the CPU
// has it), linked from libcrypto.a, for data already in memory (manifests, configs, chain
// IDs: a few KiB each). The EVP interface would need libcrypto.so dlopen'ed (~3 ms of CPU here)
// and its providers initialised on first use (~2 ms) in every shim, per pod start, for ~3 KiB of
// JSON; this costs microseconds. Deprecated in OpenSSL 3 in favour of EVP, kept for this reason.
Digest sha256_in_memory(std::string_view data) {
  unsigned char md[32];
  skiff_openssl_sha256(data.data(), data.size(), md);
  return Digest{"sha256", hex_of(md, sizeof md)};
}

bool is_sha256_hex(std::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<Digest> parse_digest(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return error("invalid digest ", quote(text), ": no `:`");
  std::string_view algorithm = text.substr(0, colon), hex = text.substr(colon + 1);
  if (algorithm != "sha256")
    return error("unsupported digest algorithm ", quote(algorithm), " in ", quote(text),
                 " (only sha256)");
  if (!is_sha256_hex(hex))
    return error("invalid digest ", quote(text), ": want 64 lowercase hex digits after `sha256:`");
  return Digest{std::string(algorithm), std::string(hex)};
}

Result<Sha256> Sha256::create() {
  const LibCrypto* c = TRY(libcrypto());
  EVP_MD_CTX* ctx = c->EVP_MD_CTX_new();
  if (!ctx || c->EVP_DigestInit_ex(ctx, c->sha256, nullptr) != 1) {
    if (ctx) c->EVP_MD_CTX_free(ctx);
    return error("cannot start a sha256 digest");
  }
  return Sha256(ctx);
}

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    this->~Sha256();
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

Sha256::~Sha256() {
  // A Sha256 exists only once libcrypto loaded, so this cannot fail.
  if (ctx_) (*libcrypto())->EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void Sha256::update(const void* data, size_t size) {
  if (size) (*libcrypto())->EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size);
}

Digest Sha256::finish() {
  const LibCrypto* c = *libcrypto();
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  c->EVP_DigestFinal_ex(ctx, md, &len);
  c->EVP_DigestInit_ex(ctx, c->sha256, nullptr);
  return Digest{"sha256", hex_of(md, len)};
}

Result<Digest> sha256_of(std::string_view data) {
  if (data.size() <= kSha256InMemoryMax) return sha256_in_memory(data);
  auto h = TRY(Sha256::create());
  h.update(data);
  return h.finish();
}

Result<std::vector<Digest>> chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const Digest& d : diff_ids) {
    if (out.empty())
      out.push_back(d);
    else
      out.push_back(TRY(sha256_of(cat(out.back().str(), ' ', d.str()))));
  }
  return out;
}

}  // namespace skiff::image
