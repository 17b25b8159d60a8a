#pragma once
// WireGuard keys: 32-byte Curve25519 values, written base64 (wg(8), configs, the master) or hex
// (the wireguard-go UAPI). A node's long-term private key is generated once and kept 0600.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace skiff::cni::overlay {

class Key {
 public:
  static constexpr size_t kSize = 32;
  Key() = default;
  explicit Key(const std::array<uint8_t, kSize>& bytes) : bytes_(bytes) {}

  // Standard base64 of exactly 32 bytes (44 characters, one '=' of padding); anything else is an
  // error naming what is wrong.
  static Result<Key> from_base64(std::string_view text);
  // 64 hex digits (the UAPI form).
  static Result<Key> from_hex(std::string_view text);
  std::string base64() const;
  std::string hex() const;
  bool is_zero() const;
  const uint8_t* data() const { return bytes_.data(); }

  auto operator<=>(const Key&) const = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

// A fresh X25519 private key (OpenSSL EVP; clamped as WireGuard expects).
Result<Key> generate_private_key();
// The X25519 public key of `private_key`.
Result<Key> public_key_of(const Key& private_key);

// The key at <dir>/private.key: read (and checked: base64, 32 bytes, mode 0600) when it exists,
// else generated and written 0600 (dir created 0700). The same key across restarts is what keeps
// every peer's configuration valid.
Result<Key> load_or_create_private_key(const std::string& dir);

}  // namespace skiff::cni::overlay
