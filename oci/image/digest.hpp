#pragma once
// Content digests ("sha256:<64 hex>") and a streaming SHA-256: every blob is verified while it is
// written, and every unpacked layer while it is read.

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace skiff::image {

struct Digest {
  std::string algorithm;  // "sha256": the only one skiff accepts
  std::string hex;        // 64 lowercase hex digits

  bool empty() const { return hex.empty(); }
  // "sha256:<hex>"
  std::string str() const { return empty() ? std::string() : cat(algorithm, ':', hex); }
  // The first `n` hex digits: image ids in tables, like docker's.
  std::string short_hex(size_t n = 12) const { return hex.substr(0, n); }
  auto operator<=>(const Digest&) const = default;
};

// Parses "sha256:<64 lowercase hex>"; anything else (other algorithms, uppercase, wrong length) is
// an error that quotes the text.
Result<Digest> parse_digest(std::string_view text);
// True for exactly 64 lowercase hex digits.
bool is_sha256_hex(std::string_view hex);

// Incremental SHA-256 (libcrypto, loaded on first use).
class Sha256 {
 public:
  static Result<Sha256> create();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // The digest of everything written so far; the hasher starts over afterwards.
  Digest finish();

 private:
  explicit Sha256(void* ctx) : ctx_(ctx) {}
  void* ctx_ = nullptr;  // EVP_MD_CTX
};

// The digest of `data` in one call: up to kSha256InMemoryMax bytes by sha256_in_memory (reading a
// manifest and config per container start need not load libcrypto.so), more by Sha256.
Result<Digest> sha256_of(std::string_view data);
inline constexpr size_t kSha256InMemoryMax = 1 << 20;
// SHA-256 by OpenSSL's low-level SHA256_* functions, linked statically (no dlopen, no provider
// set-up); the same digest as Sha256.
Digest sha256_in_memory(std::string_view data);

// The chain ID of a layer stack (image-spec config.md): ChainID(L0) = DiffID(L0),
// ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). Returns one per layer, bottom
// first.
Result<std::vector<Digest>> chain_ids(const std::vector<Digest>& diff_ids);

}  // namespace skiff::image
