#include "common/error.hpp"

#include <gtest/gtest.h>

#include "common/strings.hpp"
#include "common/subprocess.hpp"

namespace skiff {
namespace {

Result<int> half(int v) {
  if (v % 2) return error("odd value ", v);
  return v / 2;
}

Result<int> quarter(int v) {
  int h = TRY_CTX(half(v), "first half");
  return TRY(half(h));
}

TEST(Result, PropagatesWithContext) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), "odd value 3");
  auto r2 = quarter(5);
  EXPECT_EQ(r2.error().what(), "first half: odd value 5");
}

TEST(Error, ErrnoTextAppended) {
  errno = ENOENT;
  Error e = errno_error("open ", quote("/x"));
  EXPECT_EQ(e.code(), ENOENT);
  EXPECT_EQ(e.what(), "open `/x`: No such file or directory");
  e.wrap("while loading");
  EXPECT_EQ(e.what(), "while loading: open `/x`: No such file or directory");
}

TEST(Strings, SplitJoinTrimParse) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("a,,b", ',', true), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(join({"a", "b"}, ":"), "a:b");
  EXPECT_EQ(trim("  x \n"), "x");
  EXPECT_EQ(parse_int<int>("42"), 42);
  EXPECT_FALSE(parse_int<int>("4x").has_value());
  EXPECT_FALSE(parse_int<int>("").has_value());
  EXPECT_EQ(cat("a", 1, 'c', true), "a1ctrue");
}

TEST(Subprocess, StdinOutputAndExitStatus) {
  SubprocessOptions o;
  o.argv = {"/bin/sh", "-c", "cat; echo err >&2; exit 3"};
  o.stdin_data = "hello\n";
  auto r = run_subprocess(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->describe(), "exit status 3");
  EXPECT_NE(r->output.find("hello"), std::string::npos);
  EXPECT_NE(r->output.find("err"), std::string::npos);
}

TEST(Subprocess, TimeoutKillsProcessGroup) {
  SubprocessOptions o;
  o.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30"};
  o.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = run_subprocess(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Subprocess, MissingProgramIsAnError) {
  SubprocessOptions o;
  o.argv = {"/nonexistent/prog"};
  auto r = run_subprocess(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
}

}  // namespace
}  // namespace skiff
