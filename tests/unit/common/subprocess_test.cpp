// run_subprocess's stream and process-group options (the CNI plugin executor relies on them):
// stdout alone with stderr left to the caller, no process group of its own, SIGPIPE reset.
#include "common/subprocess.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace skiff {
namespace {

TEST(SubprocessStreams, StdoutOnlyLeavesStderrToTheCaller) {
  // Point our stderr at a file for the call, so what the child writes there can be read back.
  char path[] = "/tmp/skiff-subprocess-stderr.XXXXXX";
  UniqueFd file(mkstemp(path));
  ASSERT_TRUE(file);
  unlink(path);
  int saved = dup(2);
  ASSERT_GE(saved, 0);
  dup2(file.get(), 2);
  SubprocessOptions o;
  o.argv = {"/bin/sh", "-c", "echo result; echo diagnostics >&2"};
  o.capture_stderr = false;
  auto r = run_subprocess(o);
  dup2(saved, 2);
  close(saved);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->output, "result\n");
  char buf[64] = {};
  ASSERT_GT(pread(file.get(), buf, sizeof buf - 1, 0), 0);
  EXPECT_EQ(std::string(buf), "diagnostics\n");
}

TEST(SubprocessStreams, ProcessGroupIsOptional) {
  SubprocessOptions o;
  o.argv = {"/bin/sh", "-c", "cut -d' ' -f5 /proc/$$/stat"};
  auto own = run_subprocess(o);
  o.new_process_group = false;
  auto shared = run_subprocess(o);
  ASSERT_TRUE(own.ok() && shared.ok());
  EXPECT_EQ(parse_int<pid_t>(trim(shared->output)), getpgrp());
  EXPECT_NE(parse_int<pid_t>(trim(own->output)), getpgrp());
}

TEST(SubprocessStreams, ChildGetsSigpipeAtItsDefaultEvenWhenWeIgnoreIt) {
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &saved);
  SubprocessOptions o;
  o.argv = {"/bin/sh", "-c", "grep SigIgn /proc/self/status"};
  auto r = run_subprocess(o);
  sigaction(SIGPIPE, &saved, nullptr);
  ASSERT_TRUE(r.ok());
  // SIGPIPE is signal 13: bit 12 of the ignored mask (0x1000).
  auto mask = std::stoull(std::string(trim(split(r->output, ':').back())), nullptr, 16);
  EXPECT_EQ(mask & 0x1000, 0u) << r->output;
}

}  // namespace
}  // namespace skiff
