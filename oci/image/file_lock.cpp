#include "oci/image/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <random>

namespace skiff::image {

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode, bool try_only) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return errno_error("open lock file ", quote(path));
  int op = (mode == Mode::kExclusive ? LOCK_EX : LOCK_SH) | (try_only ? LOCK_NB : 0);
  while (::flock(fd.get(), op) < 0) {
    if (errno == EINTR) continue;
    return errno_error("lock ", quote(path));
  }
  return FileLock(std::move(fd));
}

std::string random_hex() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  uint64_t v = rng();
  std::string s(16, '0');
  for (char& c : s) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return s;
}

}  // namespace skiff::image
