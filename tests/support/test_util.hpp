#pragma once
// Helpers shared by the tests: temporary directories, root/kernel checks that skip with a reason,
// and running a command to capture its output.

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace skiff::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "skiff-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool is_root();
// Writes a file, creating parent directories; fails the test on error.
void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;     // stdout
  std::string err;     // stderr
};
// Runs argv (no shell), with optional stdin text, and waits.
CommandResult run(const std::vector<std::string>& argv, const std::string& stdin_text = "");
// Runs `sh -c script`.
CommandResult sh(const std::string& script);

// Path of a built binary (from SKIFF_BINARY_DIR), e.g. binary("runtime/skiff").
std::string binary(const std::string& relative);
std::string source_path(const std::string& relative);

}  // namespace skiff::test

#define SKIFF_REQUIRE_ROOT()                                                   \
  do {                                                                         \
    if (!::skiff::test::is_root()) GTEST_SKIP() << "needs root (real kernel)"; \
  } while (0)
