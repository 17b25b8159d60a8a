#pragma once
// flock(2) on a lock file: the image store and the snapshotter serialize concurrent skiff
// processes with it (shared for users, exclusive for commits and garbage collection).

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff::image {

class FileLock {
 public:
  enum class Mode { kShared, kExclusive };
  // Creates `path` if needed and locks it, waiting for other holders. `try_only`: returns an
  // error with code EWOULDBLOCK instead of waiting.
  static Result<FileLock> acquire(const std::string& path, Mode mode, bool try_only = false);
  FileLock() = default;
  bool held() const { return fd_.valid(); }
  void release() { fd_.reset(); }

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// 16 random hex digits: names of staging and temporary directories.
std::string random_hex();

}  // namespace skiff::image
