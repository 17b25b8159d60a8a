// drop_resident_code on this process: its code pages leave the resident set, the process keeps
// running (pages come back from the page cache), and data mappings keep their contents.

#include "common/resident.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace skiff {
namespace {

// Resident kB of this process's private read-execute file mappings, from /proc/self/smaps.
long resident_code_kb() {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool code = false;
  long kb = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') < line.find(' ')) {
      // "start-end perms offset dev inode path": code = r-xp with an inode.
      std::vector<std::string> f;
      size_t pos = 0;
      for (int i = 0; i < 6 && pos != std::string::npos; ++i) {
        size_t next = line.find(' ', pos);
        f.push_back(line.substr(pos, next - pos));
        pos = next == std::string::npos ? next : line.find_first_not_of(' ', next);
      }
      code = f.size() == 6 && f[1] == "r-xp" && f[5] != "0";
    } else if (code && line.rfind("Rss:", 0) == 0) {
      kb += std::stol(line.substr(4));
    }
  }
  return kb;
}

int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

TEST(Resident, DropsCodePagesAndTheProcessRunsOn) {
  static const std::string kData(1 << 20, 'x');  // data stays as it is
  long before = resident_code_kb();
  ASSERT_GT(before, 0) << "no resident code mappings seen in /proc/self/smaps";
  size_t spanned = drop_resident_code();
  long after = resident_code_kb();
  EXPECT_GT(spanned, 0u);
  EXPECT_LT(after, before) << "code pages still resident: " << after << " kB of " << before;
  // The code the test runs now is read back a page at a time.
  EXPECT_EQ(fib(20), 6765);
  EXPECT_EQ(kData.find_first_not_of('x'), std::string::npos);
  std::cout << "resident code: " << before << " kB -> " << after << " kB\n";
}

}  // namespace
}  // namespace skiff
