#pragma once
// For tests that drive the real `skiff` binary: a busybox bundle with the probe inside, a private
// state root, and a snapshot of host state to prove nothing is left behind.

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/test_util.hpp"

namespace skiff::test {

using nlohmann::json;

// A busybox bundle (scripts/fixtures/make-busybox-bundle.sh) in a temp dir, with
// /bin/skiff-probe inside. Edit `config` and call save().
class Bundle {
 public:
  explicit Bundle(const std::vector<std::string>& args = {"sh"});
  const std::string& dir() const { return dir_.path(); }
  std::string rootfs() const { return dir_.path() + "/rootfs"; }
  void save() const;
  // Sets process.args and saves.
  void set_args(const std::vector<std::string>& args);
  json config;

 private:
  TempDir dir_{"skiff-bundle"};
};

// Runs the built skiff with --root pointing at a private state dir.
class Skiff {
 public:
  Skiff();
  CommandResult operator()(const std::vector<std::string>& args,
                           const std::string& stdin_text = "") const;
  // For commands that leave a container behind (create, run -d, exec -d): the container
  // inherits stdio, so it goes to /dev/null and a file here instead of pipes that would stay open.
  CommandResult detached(const std::vector<std::string>& args) const;
  // Like operator() through `sh -c`, with `redirections` (e.g. "3</etc/hostname") applied to
  // skiff: for fds a test wants the command to inherit.
  CommandResult with_redirections(const std::string& redirections,
                                  const std::vector<std::string>& args) const;
  // `state ID` parsed; null when the command fails.
  json state(const std::string& id) const;
  // Polls `state ID` until its status is `status` (or `timeout_ms` passes).
  bool wait_for_status(const std::string& id, const std::string& status,
                       int timeout_ms = 3000) const;
  const std::string& root() const { return root_.path(); }
  static std::string binary_path();

 private:
  TempDir root_{"skiff-root"};
};

// Host state that a container must not leave behind: mounts, cgroup dirs, processes.
struct HostSnapshot {
  // Host mount points under the tests' own paths (temp dirs named skiff-*, /run/skiff): what a
  // leaking container would leave. Mounts others make on a shared machine are not counted.
  std::multiset<std::string> mounts;
  std::set<std::string> cgroup_dirs;  // every dir below each hierarchy's "skiff" subtree
  std::set<int> children;             // processes whose parent is this test
  static HostSnapshot take();
};
// Empty when equal, else what differs.
std::string diff(const HostSnapshot& before, const HostSnapshot& after);

// Parses the last line of output that is a JSON object (the probe's report).
json probe_report(const std::string& out);

// Polls `done` every 10 ms until it returns true or `timeout_ms` passes; returns its last value.
bool wait_until(const std::function<bool()>& done, int timeout_ms = 3000);

// The target of /proc/PID/ns/NS ("net:[4026531840]"; pid 0: this process), "" if unreadable.
std::string ns_link(int pid, const std::string& ns);

// A unique container id for this test.
std::string unique_id(const std::string& prefix = "t");

}  // namespace skiff::test
