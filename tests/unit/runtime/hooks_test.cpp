#include "runtime/linux/hooks.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>

#include "tests/support/test_util.hpp"

namespace skiff::runtime::linux {
namespace {

// Writes an executable shell script.
std::string script(const test::TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir / name;
  test::write_file(path, "#!/bin/sh\n" + body);
  chmod(path.c_str(), 0755);
  return path;
}

oci::Hook hook(std::string path, std::vector<std::string> args = {},
               std::vector<std::string> env = {}, std::optional<int> timeout = std::nullopt) {
  return oci::Hook{std::move(path), std::move(args), std::move(env), timeout};
}

TEST(Hooks, StateOnStdinArgsAndExactEnv) {
  test::TempDir dir;
  std::string out = dir / "out";
  std::string path = script(dir, "hook.sh",
                            "cat > \"$OUT.stdin\"\n"
                            "echo \"$# $1 $2\" > \"$OUT.args\"\n"
                            "env > \"$OUT.env\"\n");
  setenv("SKIFF_HOOK_TEST_LEAK", "1", 1);
  std::string state = R"({"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42})";
  auto r = run_hooks("createRuntime",
                     {hook(path, {"hook.sh", "one", "two"}, {"OUT=" + out, "FOO=bar baz"})}, state);
  unsetenv("SKIFF_HOOK_TEST_LEAK");
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(test::read_file(out + ".stdin"), state);
  EXPECT_EQ(test::read_file(out + ".args"), "2 one two\n");
  std::string env = test::read_file(out + ".env");
  EXPECT_NE(env.find("FOO=bar baz\n"), std::string::npos) << env;
  EXPECT_NE(env.find("OUT=" + out + "\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("SKIFF_HOOK_TEST_LEAK"), std::string::npos) << env;
  EXPECT_EQ(env.find("\nHOME="), std::string::npos) << env;
}

TEST(Hooks, EmptyArgsRunThePathAlone) {
  test::TempDir dir;
  // No env at all: the hook finds its output place from its own path.
  std::string path =
      script(dir, "hook.sh", "echo \"$#\" > \"$0.args\"\nenv | grep -c . > \"$0.env\" || true\n");
  auto r = run_hooks("poststop", {hook(path)}, "{}");
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(test::read_file(path + ".args"), "0\n");
  // sh itself may add PWD; nothing from our environment arrives.
  EXPECT_LE(std::atoi(test::read_file(path + ".env").c_str()), 1);
}

TEST(Hooks, NonZeroExitNamesPhasePathStatusAndOutput) {
  test::TempDir dir;
  std::string path = script(dir, "fail.sh", "echo starting\necho 'no network' >&2\nexit 3\n");
  std::string marker = dir / "second-ran";
  std::string second = script(dir, "second.sh", "touch " + marker + "\n");
  auto r = run_hooks("createRuntime", {hook(path), hook(second)}, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(),
            cat("hook `createRuntime` `", path, "` failed: exit status 3: starting\nno network"));
  EXPECT_FALSE(test::run({"test", "-e", marker}).exit_code == 0) << "hooks after a failure ran";
}

TEST(Hooks, OnlyTheLastFourKilobytesOfOutput) {
  test::TempDir dir;
  std::string path = script(
      dir, "loud.sh", "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done\nexit 1\n");
  auto r = run_hooks("prestart", {hook(path)}, "{}");
  ASSERT_FALSE(r.ok());
  std::string msg = r.error().what();
  std::string prefix = cat("hook `prestart` `", path, "` failed: exit status 1: ");
  ASSERT_EQ(msg.compare(0, prefix.size(), prefix), 0) << msg;
  EXPECT_EQ(msg.size() - prefix.size(), 4096u);
  EXPECT_EQ(msg.substr(msg.size() - 8), "line1999");
}

TEST(Hooks, TimeoutKillsTheHook) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_hooks("startContainer", {hook("/bin/sleep", {"sleep", "10"}, {}, 1)}, "{}");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), "hook `startContainer` `/bin/sleep` timed out after 1 s");
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

TEST(Hooks, KilledBySignalAndMissingProgram) {
  test::TempDir dir;
  std::string path = script(dir, "die.sh", "kill -9 $$\n");
  auto r = run_hooks("poststart", {hook(path)}, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), cat("hook `poststart` `", path, "` failed: killed by signal 9"));

  r = run_hooks("prestart", {hook(dir / "missing")}, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), cat("hook `prestart` `", dir / "missing", "`: exec `",
                                  dir / "missing", "`: No such file or directory"));
}

TEST(Hooks, NoHooksAndSigpipeDispositionKept) {
  EXPECT_TRUE(run_hooks("poststop", {}, "{}").ok());
  struct sigaction before, after;
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &before), 0);
  ASSERT_TRUE(before.sa_handler == SIG_DFL || before.sa_handler == SIG_IGN);
  // A hook that never reads stdin (the write may hit EPIPE) must not change our SIGPIPE.
  auto r = run_hooks("poststop", {hook("/bin/true")}, std::string(1 << 20, 'x'));
  ASSERT_TRUE(r.ok()) << r.error().what();
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}

}  // namespace
}  // namespace skiff::runtime::linux
