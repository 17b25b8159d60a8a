#pragma once
// Fake cgroup trees in temp dirs for the unit tests, and a recorder of the writes the managers
// make (through the files.hpp write hook).

#include <cerrno>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/cgroups/files.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::cgroups::testing {

// Creates empty files (what the kernel would make) in `dir`.
inline void touch_files(const std::string& dir, const std::vector<std::string>& files) {
  for (const auto& f : files) test::write_file(dir + "/" + f, "");
}

// Records every write_raw() while alive; `fail` makes chosen writes fail with an errno.
class WriteRecorder {
 public:
  WriteRecorder() {
    set_write_hook([this](const std::string& path, std::string_view value) {
      writes.emplace_back(path, std::string(value));
      if (on_write) on_write(path);
      for (auto& [match, err] : fail)
        if (path.ends_with(match.first) && (match.second.empty() || match.second == value))
          return err;
      return 0;
    });
  }
  ~WriteRecorder() { set_write_hook(nullptr); }
  WriteRecorder(const WriteRecorder&) = delete;
  WriteRecorder& operator=(const WriteRecorder&) = delete;

  // Values written to files whose path ends with `suffix`, in order.
  std::vector<std::string> to(const std::string& suffix) const {
    std::vector<std::string> out;
    for (const auto& [path, value] : writes)
      if (path.ends_with(suffix)) out.push_back(value);
    return out;
  }
  // File names (last path component) in write order.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& [path, value] : writes) out.push_back(path.substr(path.rfind('/') + 1));
    return out;
  }

  std::vector<std::pair<std::string, std::string>> writes;
  // {path suffix, value (empty = any)} → errno.
  std::map<std::pair<std::string, std::string>, int> fail;
  // Called on every write: lets a test play the kernel (files appearing in a new cgroup).
  std::function<void(const std::string& path)> on_write;
};

}  // namespace skiff::runtime::cgroups::testing
