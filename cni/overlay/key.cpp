#include "cni/overlay/key.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "common/base64.hpp"
#include "common/defer.hpp"
#include "common/fs.hpp"

namespace skiff::cni::overlay {

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<Key> Key::from_base64(std::string_view text) {
  // 32 bytes = 10 groups of 3 + 2 bytes: 43 significant characters and one '='.
  if (text.size() != 44 || text[43] != '=')
    return Error(
        cat("key ", quote(text), ": not base64 of 32 bytes (want 44 characters ending in '=', got ",
            text.size(), ")"),
        EINVAL);
  auto bytes = base64_decode(text);
  if (!bytes) return Error(cat("key ", quote(text), ": ", bytes.error().message()), EINVAL);
  if (bytes->size() != kSize)
    return Error(cat("key ", quote(text), ": ", bytes->size(), " bytes, want ", kSize), EINVAL);
  // The last character carries 2 spare bits, which canonical base64 leaves zero.
  if (base64_encode(*bytes) != text)
    return Error(cat("key ", quote(text), ": non-canonical base64"), EINVAL);
  std::array<uint8_t, kSize> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return Key(out);
}

Result<Key> Key::from_hex(std::string_view text) {
  if (text.size() != 2 * kSize)
    return Error(cat("hex key: want 64 hex digits, got ", text.size()), EINVAL);
  std::array<uint8_t, kSize> out{};
  for (size_t i = 0; i < kSize; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error(cat("hex key: invalid digit near position ", 2 * i), EINVAL);
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Key(out);
}

std::string Key::base64() const {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(bytes_.data()), kSize));
}

std::string Key::hex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes_) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

bool Key::is_zero() const {
  for (uint8_t b : bytes_)
    if (b) return false;
  return true;
}

Result<Key> generate_private_key() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return error("X25519 keygen: init failed");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) <= 0) return error("X25519 keygen failed");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey(raw);
  std::array<uint8_t, Key::kSize> bytes{};
  size_t len = bytes.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), bytes.data(), &len) <= 0 || len != bytes.size())
    return error("X25519 keygen: cannot read the private key");
  // Clamp as wg genkey does (X25519 clamps on use anyway; the stored form matches wg's).
  bytes[0] &= 248;
  bytes[31] = (bytes[31] & 127) | 64;
  return Key(bytes);
}

Result<Key> public_key_of(const Key& private_key) {
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), Key::kSize));
  if (!pkey) return error("X25519: cannot load the private key");
  std::array<uint8_t, Key::kSize> bytes{};
  size_t len = bytes.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), bytes.data(), &len) <= 0 || len != bytes.size())
    return error("X25519: cannot derive the public key");
  return Key(bytes);
}

Result<Key> load_or_create_private_key(const std::string& dir) {
  std::string path = path_join(dir, "private.key");
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      return Error(
          cat("private key ", quote(path), ": mode ", mode, " lets others read it; want 0600"),
          EPERM);
    }
    auto text = TRY_CTX(read_file(path), "read the node key");
    return TRY_CTX(Key::from_base64(trim(text)), "private key ", quote(path));
  }
  if (errno != ENOENT) return errno_error("stat ", quote(path));
  TRY(mkdir_p(dir, 0700));
  auto key = TRY(generate_private_key());
  // Written whole to a temp file, then link(2)ed into place: a crash never leaves a short key,
  // and two racing starters never end with different keys on disk and in the device.
  std::string tmp = cat(path, ".tmp.", getpid());
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return errno_error("create ", quote(tmp));
  Defer drop_tmp([&] { unlink(tmp.c_str()); });
  TRY_CTX(write_all(fd.get(), key.base64() + "\n"), "write ", quote(tmp));
  if (fsync(fd.get()) < 0) return errno_error("fsync ", quote(tmp));
  if (link(tmp.c_str(), path.c_str()) < 0) {
    if (errno == EEXIST) return load_or_create_private_key(dir);
    return errno_error("link ", quote(tmp), " to ", quote(path));
  }
  return key;
}

}  // namespace skiff::cni::overlay
