#include "oci/image/digest.hpp"

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "oci/image/libs.hpp"

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

// FIPS 180-4 SHA-256 for data already in memory (manifests, configs, chain IDs: a few KiB each).
// libcrypto is a 4.5 MiB dlopen whose loading and relocation cost a pod start ~6 ms of CPU in the
// shim's bundle child, for ~3 KiB of JSON; this does those in microseconds. Streams (blobs as they
// are written, layers as they are read) still use libcrypto's vectorized code.
constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void sha256_block(uint32_t h[8], const unsigned char* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i)
    w[i] = (uint32_t(p[4 * i]) << 24) | (uint32_t(p[4 * i + 1]) << 16) |
           (uint32_t(p[4 * i + 2]) << 8) | uint32_t(p[4 * i + 3]);
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += k;
}

}  // namespace

Digest sha256_in_memory(std::string_view data) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size(), full = n / 64 * 64;
  for (size_t i = 0; i < full; i += 64) sha256_block(h, p + i);
  // The tail, 0x80, zeros, and the length in bits (big-endian): one or two blocks.
  unsigned char tail[128] = {};
  size_t rest = n - full;
  if (rest) std::memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  size_t blocks = rest + 1 + 8 <= 64 ? 1 : 2;
  uint64_t bits = uint64_t(n) * 8;
  for (int i = 0; i < 8; ++i) tail[blocks * 64 - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  for (size_t b = 0; b < blocks; ++b) sha256_block(h, tail + 64 * b);
  unsigned char md[32];
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) md[4 * i + j] = static_cast<unsigned char>(h[i] >> (24 - 8 * j));
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
