#pragma once
// The container lifecycle with runc's semantics: create (init waits on the exec fifo), start,
// state, kill, delete, run, exec, pause/resume, update, ps, list, events. The `skiff` CLI and the
// pod engine both call these; nothing here parses command lines.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime {

inline constexpr const char* kDefaultStateRoot = "/run/skiff";

struct GlobalOptions {
  std::string root = kDefaultStateRoot;  // state dirs: ROOT/<id>/
  bool systemd_cgroup = false;
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;  // fds 3 .. 3+N-1 pass to the container (plus LISTEN_FDS, as runc)
  // Every signal at its default action in the container, not the caller's ignored ones (which
  // runc passes on, and so does skiff without this): for a caller that ignores SIGPIPE itself,
  // like the pod shim, whose containers must start as containerd's do.
  bool default_signals = false;
};

struct RunOptions : CreateOptions {
  bool detach = false;  // -d: return once started; else wait and return the exit code
  bool keep = false;    // --keep: do not delete the container when it exits (foreground only)
};

// Creates the container: its init runs up to the point of exec and waits for `start`.
Result<void> create(const GlobalOptions& g, const CreateOptions& o);
// Lets the created container's init exec the user process, then runs poststart hooks.
Result<void> start(const GlobalOptions& g, const std::string& id);
// create + start; in the foreground it forwards signals, waits, deletes, and returns the exit code
// (128+N when killed by signal N). Detached, it returns 0 once started.
Result<int> run(const GlobalOptions& g, const RunOptions& o);

// Sends a signal to the init (or, with `all`, to every process in the container's cgroup).
Result<void> kill(const GlobalOptions& g, const std::string& id, int signal, bool all);
// Removes a stopped (or created) container; `force` kills a running one first.
Result<void> remove(const GlobalOptions& g, const std::string& id, bool force);

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* status_name(Status s);

struct ContainerInfo {
  std::string id;
  pid_t pid = 0;
  Status status = Status::kStopped;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  std::string owner;
  std::map<std::string, std::string> annotations;
  Json to_state_json() const;  // runtime-spec state: ociVersion id status pid bundle annotations
};

Result<ContainerInfo> state(const GlobalOptions& g, const std::string& id);
// Every container under the root (a broken state dir is skipped with a warning).
Result<std::vector<ContainerInfo>> list(const GlobalOptions& g);
// Pids in the container's cgroup.
Result<std::vector<pid_t>> ps(const GlobalOptions& g, const std::string& id);
Result<void> pause(const GlobalOptions& g, const std::string& id);
Result<void> resume(const GlobalOptions& g, const std::string& id);
Result<void> update(const GlobalOptions& g, const std::string& id, const oci::Resources& r);
Result<cgroups::Stats> stats(const GlobalOptions& g, const std::string& id);
Result<uint64_t> oom_kill_count(const GlobalOptions& g, const std::string& id);

struct ExecOptions {
  std::string id;
  oci::Process process;  // already merged: --process file or the config's process + flags
  std::string console_socket;
  std::string pid_file;
  bool detach = false;
  int preserve_fds = 0;
};

// Builds the process for `exec ID ARGS…` runc's way: the container's own process from its
// config.json as the base, then args, and the caller adjusts cwd/env/user/caps.
Result<oci::Process> exec_base_process(const GlobalOptions& g, const std::string& id);
// Runs a new process in the container's namespaces and cgroup. Foreground: waits and returns the
// exit code; detached: returns 0 once it has started.
Result<int> exec(const GlobalOptions& g, const ExecOptions& o);

// Reads a signal name or number: "9", "KILL", "SIGKILL", "sigkill".
Result<int> parse_signal(std::string_view text);

// `skiff features` (runtime-spec features.md) with the detected cgroup mode in annotations.
Json features();

}  // namespace skiff::runtime
