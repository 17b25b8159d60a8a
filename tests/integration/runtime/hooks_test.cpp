// OCI hooks through the real binary: every phase once, in order, with the state on stdin and in
// the right namespace; failure semantics (poststart warns, a timeout fails create and leaves
// nothing); args and env passed exactly.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

namespace fs = std::filesystem;

// Appends "<phase> <status> <pid> <mount ns> <rootfs marker>" to $2 (the state comes on stdin).
// Plain sh and sed: it runs on the host and, for startContainer, inside the busybox rootfs.
constexpr const char* kRecorder = R"sh(#!/bin/sh
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
pid=$(echo "$state" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
marker=host
[ -e "$3" ] && marker=container
echo "$1 $status $pid $(readlink /proc/self/ns/mnt) $marker" >> "$2"
)sh";

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

class Hooks : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (!is_root()) return;
    for (const auto& id : ids_) skiff_({"delete", "--force", id});
    EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  }
  std::string new_id() {
    ids_.push_back(unique_id("hook"));
    return ids_.back();
  }
  static json hook(const std::string& path, const std::vector<std::string>& args) {
    return {{"path", path}, {"args", args}};
  }

  Skiff skiff_;
  HostSnapshot before_;
  std::vector<std::string> ids_;
};

TEST_F(Hooks, EveryPhaseOnceInOrderWithTheState) {
  TempDir logs("skiff-hooklog");
  chmod(logs.path().c_str(), 0755);
  std::string log = logs / "log";
  std::string recorder = logs / "record";
  write_file(recorder, kRecorder);
  chmod(recorder.c_str(), 0755);
  Bundle b({"sleep", "60"});
  // startContainer resolves its path in the container and runs after pivot_root: the same
  // script is in the rootfs, and the log dir is bound into the container.
  write_file(b.rootfs() + "/record", kRecorder);
  chmod((b.rootfs() + "/record").c_str(), 0755);
  b.config["mounts"].push_back({{"destination", "/hooklog"},
                                {"type", "bind"},
                                {"source", logs.path()},
                                {"options", {"rbind"}}});
  // A file only the container's rootfs has (seen by hooks running inside it).
  write_file(b.rootfs() + "/only-in-container", "");
  std::string inside = "/only-in-container";
  auto phase = [&](const std::string& name, const std::string& script, const std::string& out) {
    return hook(script, {"record", name, out, inside});
  };
  b.config["hooks"] = {
      {"prestart", {phase("prestart", recorder, log)}},
      {"createRuntime", {phase("createRuntime", recorder, log)}},
      {"createContainer", {phase("createContainer", recorder, log)}},
      {"startContainer", {phase("startContainer", "/record", "/hooklog/log")}},
      {"poststart", {phase("poststart", recorder, log)}},
      {"poststop", {phase("poststop", recorder, log)}},
  };
  b.save();
  std::string id = new_id();

  auto c = skiff_.detached({"create", "--bundle", b.dir(), id});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  int pid = skiff_.state(id)["pid"];
  std::string init_mnt = ns_link(pid, "mnt"), host_mnt = ns_link(0, "mnt");
  ASSERT_NE(init_mnt, host_mnt);
  auto at_create = lines(read_file(log));
  ASSERT_EQ(at_create.size(), 3u) << read_file(log);

  auto s = skiff_({"start", id});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto at_start = lines(read_file(log));
  ASSERT_EQ(at_start.size(), 5u) << read_file(log);

  ASSERT_EQ(skiff_({"kill", id, "KILL"}).exit_code, 0);
  ASSERT_TRUE(skiff_.wait_for_status(id, "stopped"));
  ASSERT_EQ(lines(read_file(log)).size(), 5u) << "poststop before delete: " << read_file(log);
  ASSERT_EQ(skiff_({"delete", id}).exit_code, 0);
  auto all = lines(read_file(log));
  ASSERT_EQ(all.size(), 6u) << read_file(log);

  struct Expect {
    const char* phase;
    const char* status;
    bool container_ns;    // runs in the container's mount namespace
    bool container_root;  // and after pivot_root, in its rootfs
  };
  const Expect expected[] = {
      {"prestart", "creating", false, false},       {"createRuntime", "creating", false, false},
      {"createContainer", "creating", true, false}, {"startContainer", "creating", true, true},
      {"poststart", "running", false, false},       {"poststop", "stopped", false, false},
  };
  for (size_t i = 0; i < all.size(); ++i) {
    auto f = fields(all[i]);
    ASSERT_EQ(f.size(), 5u) << all[i];
    const auto& e = expected[i];
    EXPECT_EQ(f[0], e.phase) << all[i];
    if (std::string(e.phase) != "startContainer") {
      EXPECT_EQ(f[1], e.status) << all[i];
    }
    EXPECT_EQ(f[2], std::to_string(pid)) << all[i];
    EXPECT_EQ(f[3], e.container_ns ? init_mnt : host_mnt) << all[i];
    EXPECT_EQ(f[4], e.container_root ? "container" : "host") << all[i];
  }
}

TEST_F(Hooks, FailingPoststartOnlyWarns) {
  Bundle b({"sleep", "60"});
  b.config["hooks"]["poststart"] = {hook("/bin/sh", {"sh", "-c", "echo boom >&2; exit 3"})};
  b.save();
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  auto s = skiff_({"start", id});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.err.find("poststart"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("boom"), std::string::npos) << s.err;
  EXPECT_EQ(skiff_.state(id)["status"], "running");

  // `run -d` too.
  std::string id2 = new_id();
  auto r = skiff_.detached({"run", "-d", "--bundle", b.dir(), id2});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(skiff_.state(id2)["status"], "running");
}

TEST_F(Hooks, FailingPoststopOnlyWarnsAndDeleteCompletes) {
  Bundle b({"true"});
  b.config["hooks"]["poststop"] = {hook("/bin/false", {"false"})};
  b.save();
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  auto d = skiff_({"delete", id});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find("poststop"), std::string::npos) << d.err;
  EXPECT_NE(skiff_({"state", id}).exit_code, 0);
}

class HookTimeout : public Hooks, public ::testing::WithParamInterface<const char*> {};

TEST_P(HookTimeout, FailsCreateAndLeavesNothing) {
  const char* phase = GetParam();
  Bundle b({"true"});
  json h = hook("/bin/sh", {"sh", "-c", "sleep 7.25"});
  h["timeout"] = 1;
  b.config["hooks"][phase] = {h};
  b.save();
  auto r = skiff_.detached({"create", "--bundle", b.dir(), new_id()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(phase), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  EXPECT_EQ(run({"ls", "-A", skiff_.root()}).out, "");
  // SIGKILL to the hook's process group is delivered asynchronously: give it a moment.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = run({"pgrep", "-f", "sleep 7.25"}).exit_code != 0;
    if (!gone) usleep(20000);
  }
  EXPECT_TRUE(gone) << "the hook's child lives on";
}

INSTANTIATE_TEST_SUITE_P(Phases, HookTimeout,
                         ::testing::Values("prestart", "createRuntime", "createContainer"));

TEST_F(Hooks, ArgsAndEnvArePassedExactly) {
  TempDir out("skiff-hookout");
  std::string log = out / "seen";
  // argv[0] is the hook's own (not the path), and the environment is exactly `env`.
  std::string script = "tr '\\0' '\\n' < /proc/$$/cmdline > " + log + "; echo --- >> " + log +
                       "; tr '\\0' '\\n' < /proc/$$/environ >> " + log;
  Bundle b({"true"});
  json h = {{"path", "/bin/sh"},
            {"args", {"custom-argv0", "-c", script, "zero", "a b", "--x=1", ""}},
            {"env", {"FOO=bar baz", "PATH=/usr/bin:/bin", "EMPTY="}}};
  b.config["hooks"]["createRuntime"] = {h};
  b.save();
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  EXPECT_EQ(read_file(log),
            "custom-argv0\n-c\n" + script +
                "\nzero\na b\n--x=1\n\n---\nFOO=bar baz\nPATH=/usr/bin:/bin\nEMPTY=\n");

  // No env: an empty environment, not the runtime's.
  Bundle bare({"true"});
  bare.config["hooks"]["prestart"] = {
      {{"path", "/bin/sh"}, {"args", {"sh", "-c", "tr '\\0' '\\n' < /proc/$$/environ > " + log}}}};
  bare.save();
  std::string id2 = new_id();
  auto r = skiff_.detached({"create", "--bundle", bare.dir(), id2});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(log), "");
}

}  // namespace
}  // namespace skiff::test
