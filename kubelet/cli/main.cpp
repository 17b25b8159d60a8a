// skiff-pod: `skiff pod …` — one Pod manifest on this host, no daemon: `run` starts a skiff-shim
// for the pod and the other verbs talk to it (or read its last checkpoint when it has ended).
// `skiff pod ARGS` execs this binary, so the runtime binary stays small.

#include <CLI/CLI.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>
#include <utility>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "kubelet/engine/cleanup.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/engine/fd_store.hpp"
#include "kubelet/logs/cri_log.hpp"
#include "kubelet/logs/log_filter.hpp"
#include "kubelet/pod/yaml.hpp"
#include "kubelet/shim/pod_record.hpp"
#include "kubelet/shim/shim.hpp"

#ifndef SKIFF_BINARY_DIR
#define SKIFF_BINARY_DIR ""
#endif

namespace skiff::kubelet {
namespace {

using namespace std::chrono_literals;

struct Globals {
  NodeConfig node;
  std::string ns = "default";
  int64_t backoff_ms = 0;
  bool debug = false;
};

void add_globals(CLI::App& app, Globals& g) {
  if (const char* e = getenv("SKIFF_IMAGE_ROOT")) g.node.image_root = e;
  if (const char* e = getenv("SKIFF_SNAPSHOT_ROOT")) g.node.snapshot_root = e;
  app.add_option("--state-root", g.node.state_root, "pod state (pod.json, status checkpoints)")
      ->capture_default_str();
  app.add_option("--run-root", g.node.run_root, "shim sockets and the runtime's state")
      ->capture_default_str();
  app.add_option("--log-root", g.node.log_root, "container logs (CRI format)")
      ->capture_default_str();
  app.add_option("--image-root", g.node.image_root, "the image store ($SKIFF_IMAGE_ROOT)")
      ->capture_default_str();
  app.add_option("--snapshot-root", g.node.snapshot_root, "layer snapshots ($SKIFF_SNAPSHOT_ROOT)")
      ->capture_default_str();
  app.add_option("--cni-conf-dir", g.node.cni_conf_dir, "pod network configuration")
      ->capture_default_str();
  app.add_option("--cni-bin-dir", g.node.cni_bin_dirs, "CNI plugin directories (repeatable)");
  app.add_option("--cni-cache-dir", g.node.cni_cache_dir, "CNI result cache")
      ->capture_default_str();
  app.add_option("--cni-data-dir", g.node.cni_data_dir, "IPAM leases of the default network")
      ->capture_default_str();
  app.add_option("--pause-binary", g.node.pause_binary, "the sandbox's pause binary");
  app.add_option("--cgroup-parent", g.node.cgroup_parent,
                 "pod cgroups go under this path: PARENT/[burstable|besteffort/]pod<uid>")
      ->capture_default_str();
  app.add_option("--pod-pids-limit", g.node.pod_pids_limit, "processes per pod (0: unlimited)")
      ->capture_default_str();
  app.add_option("--pull-binary", g.node.pull_binary, "skiff-pull, which pulls images");
  app.add_option(
      "--insecure-registry", g.node.insecure_registries,
      "a registry (HOST[:PORT]) reached over plain HTTP (repeatable; loopback always is)");
  app.add_option("--backoff-initial-ms", g.backoff_ms, "first CrashLoopBackOff delay (tests)")
      ->group("");
  app.add_option("--container-log-max-size", g.node.log_max_bytes,
                 "rotate a container's log at this many bytes")
      ->capture_default_str();
  app.add_option("--container-log-max-files", g.node.log_max_files,
                 "log files kept per container run, the current one included")
      ->capture_default_str();
  app.add_option("-n,--namespace", g.ns, "the pod's namespace")->capture_default_str();
  app.add_flag("--debug", g.debug, "debug logging");
}

void finish_globals(Globals& g) {
  if (g.backoff_ms > 0) {
    g.node.backoff.initial = Duration(g.backoff_ms);
    g.node.backoff.max = std::max(g.node.backoff.max, Duration(g.backoff_ms));
  }
  if (g.node.pause_binary.empty())
    g.node.pause_binary =
        find_helper_binary("skiff-pause", cat(SKIFF_BINARY_DIR, "/kubelet/skiff-pause"));
  if (g.node.pull_binary.empty())
    g.node.pull_binary =
        find_helper_binary("skiff-pull", cat(SKIFF_BINARY_DIR, "/runtime/skiff-pull"));
  // Here, not in the shim: the shim runs from a sealed copy of itself, so its /proc/self/exe no
  // longer names the directory it was installed in.
  if (g.node.cni_bin_dirs.empty())
    g.node.cni_bin_dirs = default_cni_plugin_dirs(self_exe_path(), SKIFF_BINARY_DIR);
}

Result<PodRecord> find_pod(const Globals& g, const std::string& name) {
  for (auto& r : list_pod_records(g.node.state_root))
    if (r.name == name && r.namespace_ == g.ns) return std::move(r);
  return error("pod ", quote(name), " not found in namespace ", quote(g.ns));
}

// The live status from the shim, else the last checkpoint. `live` says which.
Result<Json> pod_status(const PodRecord& r, bool* live = nullptr) {
  if (live) *live = false;
  auto answer = shim_request(r.node.shim_socket(r.uid), {{"op", "status"}}, 3000ms);
  std::string path = r.node.pod_dir(r.uid) + "/status.json";
  auto saved = read_json_file(path);
  auto shim_dead = [&] {
    pid_t pid = saved ? saved->value("shimPid", 0) : 0;
    return pid <= 0 || (::kill(pid, 0) < 0 && errno == ESRCH);
  };
  // A shim that no longer answers but still runs is ending: it writes the final checkpoint once
  // it has cleaned up.
  for (int i = 0; !answer && i < 150 && saved && !saved->value("finished", false) && !shim_dead();
       ++i) {
    std::this_thread::sleep_for(20ms);
    saved = read_json_file(path);
  }
  if (!answer && shim_dead() && saved && !saved->value("finished", false) &&
      saved->contains("engine")) {
    // The shim is gone but the pod had not ended (it crashed or was killed): a new shim takes
    // the running containers over from the checkpoint.
    std::string shim =
        find_helper_binary("skiff-shim", cat(SKIFF_BINARY_DIR, "/kubelet/skiff-shim"));
    auto adopted = shim.empty() ? Result<void>(error("skiff-shim not found"))
                                : spawn_shim(shim, r.node.pod_dir(r.uid), true);
    if (adopted)
      answer = shim_request(r.node.shim_socket(r.uid), {{"op", "status"}}, 3000ms);
    else
      std::cerr << "warning: pod " << quote(r.name)
                << ": re-adopting after its shim died: " << adopted.error().what() << "\n";
  }
  if (answer) {
    if (live) *live = true;
    return (*answer)["status"];
  }
  saved = read_json_file(path);
  if (!saved) return Json{{"phase", "Unknown"}};
  Json s = (*saved)["status"];
  if (!saved->value("finished", false)) {
    // The shim is gone but the pod had not ended: it crashed or was killed.
    s["phase"] = "Unknown";
    s["reason"] = "ShimGone";
  }
  return s;
}

bool checkpoint_finished(const PodRecord& r) {
  auto saved = read_json_file(r.node.pod_dir(r.uid) + "/status.json");
  return saved && saved->value("finished", false);
}

std::string container_summary(const Json& cs) {
  const Json& st = cs["state"];
  if (st.contains("running")) return "Running";
  if (st.contains("waiting")) return st["waiting"].value("reason", "Waiting");
  if (st.contains("terminated")) {
    const Json& t = st["terminated"];
    return cat(t.value("reason", "Terminated"), " (exit ", t.value("exitCode", 0), ')');
  }
  return "Unknown";
}

// The reasons that mean "this will not start by itself".
bool error_reason(const std::string& r) {
  return r == "ErrImagePull" || r == "ErrImageNeverPull" || r == "CreateContainerConfigError" ||
         r == "CreateContainerError" || r == "StartError" || r == "ImagePullBackOff";
}

struct Progress {
  bool done = false;  // stop waiting
  std::string problem;
};

Progress running_progress(const Json& s) {
  std::string phase = s.value("phase", "");
  if (phase == "Succeeded" || phase == "Failed" || phase == "Unknown") return {true, ""};
  for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
    if (!s.contains(key)) continue;
    for (const auto& cs : s[key]) {
      std::string reason;
      if (cs["state"].contains("waiting")) reason = cs["state"]["waiting"].value("reason", "");
      if (cs["state"].contains("terminated"))
        reason = cs["state"]["terminated"].value("reason", "");
      if (error_reason(reason)) {
        std::string msg = cs["state"].contains("waiting")
                              ? cs["state"]["waiting"].value("message", "")
                              : cs["state"]["terminated"].value("message", "");
        return {true, cat("container ", quote(cs.value("name", "")), ": ", reason,
                          msg.empty() ? "" : ": ", msg)};
      }
    }
  }
  if (!s.contains("containerStatuses")) return {};
  for (const auto& cs : s["containerStatuses"]) {
    bool ran = cs["state"].contains("running") || cs["state"].contains("terminated") ||
               !cs["lastState"].empty();
    if (!ran) return {};
  }
  return {true, ""};
}

void print_summary(const std::string& name, const Json& s) {
  std::cout << "pod/" << name << ": " << s.value("phase", "Unknown");
  if (s.contains("podIP")) std::cout << " ip " << s["podIP"].get<std::string>();
  std::cout << "\n";
  for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
    if (!s.contains(key)) continue;
    for (const auto& cs : s[key])
      std::cout << "  " << (std::string(key) == "initContainerStatuses" ? "init " : "")
                << cs.value("name", "") << ": " << container_summary(cs) << "\n";
  }
}

Result<int> cmd_run(Globals& g, const std::string& file, bool wait, bool detach, int timeout_s) {
  std::string text;
  if (file == "-") {
    text = TRY(read_fd(0));
  } else {
    text = TRY(read_file(file));
  }
  auto m = TRY(parse_manifest(text, file == "-" ? "stdin" : file));
  for (const auto& w : m.warnings) std::cerr << "warning: " << w << "\n";
  if (!m.pod.namespace_.empty() && m.pod.namespace_ != g.ns && g.ns == "default")
    g.ns = m.pod.namespace_;
  if (find_pod(g, m.pod.name))
    return error("pod ", quote(m.pod.name), " already exists in namespace ", quote(g.ns),
                 " (skiff pod rm ", m.pod.name, ')');
  std::string shim = find_helper_binary("skiff-shim", cat(SKIFF_BINARY_DIR, "/kubelet/skiff-shim"));
  if (shim.empty()) return error("skiff-shim not found next to skiff-pod");

  auto rec = TRY(create_pod(g.node, m, text, file == "-" ? "stdin" : file, shim));
  if (detach) {
    std::cout << "pod/" << rec.name << " started (uid " << rec.uid << ")\n";
    return 0;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  Json status;
  while (true) {
    bool live = false;
    status = TRY(pod_status(rec, &live));
    if (wait) {
      if (!live && checkpoint_finished(rec)) break;
      if (!live && status.value("phase", "") == "Unknown") break;
    } else {
      auto p = running_progress(status);
      if (p.done) {
        if (!p.problem.empty()) {
          print_summary(rec.name, status);
          return error("pod ", quote(rec.name), ": ", p.problem);
        }
        break;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      print_summary(rec.name, status);
      return error("pod ", quote(rec.name), ": still ", status.value("phase", "Unknown"), " after ",
                   timeout_s, " s");
    }
    std::this_thread::sleep_for(wait ? 50ms : 10ms);
  }
  print_summary(rec.name, status);
  std::string phase = status.value("phase", "");
  return phase == "Failed" || phase == "Unknown" ? 1 : 0;
}

Result<int> cmd_ls(const Globals& g, const std::string& format) {
  auto records = list_pod_records(g.node.state_root);
  if (format == "json") {
    Json out = Json::array();
    for (const auto& r : records)
      out.push_back({{"name", r.name},
                     {"namespace", r.namespace_},
                     {"uid", r.uid},
                     {"status", TRY(pod_status(r))}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  printf("%-24s %-12s %-6s %-10s %-9s %-16s %s\n", "NAME", "NAMESPACE", "READY", "STATUS",
         "RESTARTS", "IP", "UID");
  for (const auto& r : records) {
    Json s = TRY(pod_status(r));
    int ready = 0, total = 0, restarts = 0;
    if (s.contains("containerStatuses"))
      for (const auto& cs : s["containerStatuses"]) {
        ++total;
        ready += cs.value("ready", false);
        restarts += cs.value("restartCount", 0);
      }
    printf("%-24s %-12s %-6s %-10s %-9d %-16s %s\n", r.name.c_str(), r.namespace_.c_str(),
           cat(ready, '/', total).c_str(), s.value("phase", "Unknown").c_str(), restarts,
           s.value("podIP", "").c_str(), r.uid.c_str());
  }
  return 0;
}

Result<int> cmd_status(const Globals& g, const std::string& name, const std::string& format) {
  auto r = TRY(find_pod(g, name));
  Json s = TRY(pod_status(r));
  if (format == "json" || format == "yaml") {
    Json pod = TRY(r.manifest()).pod.raw;
    pod["metadata"]["uid"] = r.uid;
    if (!pod["metadata"].contains("namespace")) pod["metadata"]["namespace"] = r.namespace_;
    pod["status"] = s;
    if (format == "json")
      std::cout << pod.dump(2) << "\n";
    else
      std::cout << to_yaml(pod);
    return 0;
  }
  print_summary(name, s);
  return 0;
}

// Log files of a container, by restart number.
std::vector<std::pair<int, std::string>> log_files(const std::string& dir) {
  std::vector<std::pair<int, std::string>> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (!n.ends_with(".log")) continue;
    if (auto v = parse_int<int>(n.substr(0, n.size() - 4))) out.emplace_back(*v, dir + "/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// The container's state now (live status from the shim): "running", "waiting", "terminated",
// or "" without a shim.
std::string container_state(const PodRecord& r, const std::string& container) {
  auto answer = shim_request(r.node.shim_socket(r.uid), {{"op", "status"}}, 3000ms);
  if (!answer) return "";
  const Json& s = (*answer)["status"];
  for (const char* key : {"initContainerStatuses", "containerStatuses"})
    if (s.contains(key))
      for (const auto& cs : s[key])
        if (cs.value("name", "") == container && cs["state"].is_object() && !cs["state"].empty())
          return cs["state"].begin().key();
  return "";
}

bool container_running(const PodRecord& r, const std::string& container) {
  return container_state(r, container) == "running";
}

// `logs -f`: prints the file's lines as they come, following a rotation (a new file at the same
// path), until the container is no longer running.
// `raw`: the CRI lines as they are (the kubelet's /containerLogs applies its options to them);
// `tail` >= 0: only the last `tail` lines of what is there at the start.
Result<void> follow_log(const PodRecord& r, const std::string& container, const std::string& path,
                        bool raw, int64_t tail) {
  off_t offset = 0;
  ino_t inode = 0;
  std::string partial;
  auto drain = [&]() -> Result<void> {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ok();
    struct stat st {};
    fstat(fd.get(), &st);
    if (st.st_ino != inode || st.st_size < offset) {  // rotated: start the new file
      inode = st.st_ino;
      offset = 0;
    }
    if (lseek(fd.get(), offset, SEEK_SET) < 0) return errno_error("seek ", quote(path));
    std::string data = TRY(read_fd(fd.get()));
    offset += static_cast<off_t>(data.size());
    partial += data;
    size_t end = partial.rfind('\n');
    if (end == std::string::npos) return ok();
    std::string_view lines = std::string_view(partial).substr(0, end + 1);
    if (tail >= 0) lines = tail_cri_lines(lines, std::exchange(tail, -1));
    if (raw)
      std::cout << lines << std::flush;
    else
      std::cout << TRY(cri_log_text(lines)) << std::flush;
    partial.erase(0, end + 1);
    return ok();
  };
  while (true) {
    bool running = container_running(r, container);
    TRY(drain());
    if (!running) return ok();
    std::this_thread::sleep_for(100ms);
  }
}

Result<int> cmd_logs(const Globals& g, const std::string& name, std::string container,
                     bool previous, bool follow, bool raw, int64_t tail) {
  auto r = TRY(find_pod(g, name));
  auto m = TRY(r.manifest());
  std::vector<std::string> names;
  for (const auto& c : m.pod.spec.init_containers) names.push_back(c.name);
  for (const auto& c : m.pod.spec.containers) names.push_back(c.name);
  if (container.empty()) {
    if (m.pod.spec.containers.size() != 1 || !m.pod.spec.init_containers.empty())
      return error("a container name must be specified for pod ", name,
                   " (-c), choose one of: ", join(names, " "));
    container = m.pod.spec.containers[0].name;
  }
  if (std::find(names.begin(), names.end(), container) == names.end())
    return error("container ", quote(container), " is not valid for pod ", quote(name),
                 ": choose one of: ", join(names, " "));
  auto files = log_files(cat(g.node.log_dir(r.namespace_, r.name, r.uid), '/', container));
  // The previous run is the last terminated one (the kubelet's lastState): the one before the
  // newest, or the newest itself while the container waits to restart (back-off).
  size_t back = previous ? (container_state(r, container) == "waiting" ? 1 : 2) : 1;
  if (files.size() < back) {
    if (previous) return error("previous terminated container ", quote(container), " not found");
    return error("container ", quote(container), " of pod ", quote(name), " has no logs yet");
  }
  const std::string& path = files[files.size() - back].second;
  if (follow && !previous) {
    TRY(follow_log(r, container, path, raw, tail));
    return 0;
  }
  std::string text = TRY(read_file(path));
  std::string_view lines = tail >= 0 ? tail_cri_lines(text, tail) : std::string_view(text);
  if (raw)
    std::cout << lines << std::flush;
  else
    std::cout << TRY(cri_log_text(lines)) << std::flush;
  return 0;
}

// `exec`: through the `skiff` binary's exec verb, which enters the container from a sealed view of
// its binary (CVE-2019-5736); its exit status is ours.
Result<int> cmd_exec(const Globals& g, const std::string& name, std::string container,
                     const std::vector<std::string>& command, bool stdin_open, bool tty) {
  auto r = TRY(find_pod(g, name));
  auto m = TRY(r.manifest());
  if (container.empty()) container = m.pod.spec.containers[0].name;
  auto answer = shim_request(r.node.shim_socket(r.uid), {{"op", "status"}}, 3000ms);
  if (!answer) return error("pod ", quote(name), " is not running");
  std::string id;
  for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
    const Json& s = (*answer)["status"];
    if (!s.contains(key)) continue;
    for (const auto& cs : s[key])
      if (cs.value("name", "") == container && cs["state"].contains("running"))
        id = cs.value("containerID", "");
  }
  if (!id.starts_with("skiff://"))
    return error("container ", quote(container), " of pod ", quote(name), " is not running");
  std::string skiff = find_helper_binary("skiff", cat(SKIFF_BINARY_DIR, "/runtime/skiff"));
  if (skiff.empty()) return error("the skiff binary was not found");
  std::vector<std::string> args = {"skiff", "--root", r.node.runtime_root(), "exec"};
  if (tty) args.push_back("--tty");  // the runtime allocates the pty and proxies it
  args.push_back(id.substr(8));
  args.insert(args.end(), command.begin(), command.end());
  // As kubectl exec: without -i the command's stdin is empty.
  if (!stdin_open) {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 0);
      ::close(null);
    }
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(skiff.c_str(), argv.data());
  return errno_error("exec ", quote(skiff));
}

// Asks the shim to stop and waits until it has ended (the sandbox is gone then).
Result<void> stop_pod(const PodRecord& r, std::optional<int64_t> grace) {
  Json req = {{"op", "stop"}};
  if (grace) req["gracePeriodSeconds"] = *grace;
  auto sock = r.node.shim_socket(r.uid);
  auto answer = shim_request(sock, req);
  if (!answer) {
    if (checkpoint_finished(r)) return ok();
    // No shim and not finished: it died. Clean up after it.
    auto m = TRY(r.manifest());
    auto saved = read_json_file(r.node.pod_dir(r.uid) + "/status.json");
    Sandbox sb;
    if (saved && saved->contains("sandbox")) {
      sb = Sandbox::from_json((*saved)["sandbox"]);
    } else if (auto orphaned = sandbox_of_pause_file(r.node, m.pod)) {
      sb = std::move(*orphaned);  // the shim died before its first checkpoint
    } else {
      // ... or one of an older shim, whose pause was a runtime container.
      sb.pause_id = cat("pod-", r.uid, "-pause"), sb.bundle = r.node.sandbox_bundle(r.uid);
    }
    TRY_CTX(cleanup_pod_leftovers(r.node, m.pod, sb), "clean up after the shim of ", quote(r.name));
    // An older shim's fd store, a process of its own, outlived it: end it too (today's pause,
    // which holds the store, was killed with the sandbox above).
    if (fd_store::connect(r.node.shim_run_dir(r.uid) + "/fds.sock")) fd_store::shutdown();
    (void)remove_tree(r.node.shim_run_dir(r.uid));
    return ok();
  }
  auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(grace.value_or(30) + 30);
  while (std::chrono::steady_clock::now() < limit) {
    if (!path_exists(sock) && checkpoint_finished(r)) return ok();
    // Another stop/rm of this pod got there first and removed its directory: it is gone.
    if (!path_exists(sock) && !path_exists(r.node.pod_dir(r.uid))) return ok();
    std::this_thread::sleep_for(20ms);
  }
  return error("pod ", quote(r.name), " did not stop in time");
}

Result<int> cmd_stop(const Globals& g, const std::string& name, std::optional<int64_t> grace) {
  auto r = TRY(find_pod(g, name));
  TRY(stop_pod(r, grace));
  std::cout << "pod/" << name << " stopped\n";
  return 0;
}

Result<int> cmd_rm(const Globals& g, const std::string& name, bool force) {
  auto r = TRY(find_pod(g, name));
  bool live = shim_request(r.node.shim_socket(r.uid), {{"op", "status"}}, 3000ms).ok();
  if (live && !force)
    return error("pod ", quote(name), " is running: stop it first (skiff pod stop ", name,
                 ") or use rm -f");
  if (live || !checkpoint_finished(r))
    TRY(stop_pod(r, force ? std::optional<int64_t>(0) : std::nullopt));
  TRY(remove_tree(r.node.pod_dir(r.uid)));
  TRY(remove_tree(r.node.log_dir(r.namespace_, r.name, r.uid)));
  std::cout << "pod/" << name << " removed\n";
  return 0;
}

int main_impl(int argc, char** argv) {
  Globals g;
  CLI::App app{"skiff pod: run Kubernetes Pod manifests on this host", "skiff pod"};
  app.require_subcommand(1);
  add_globals(app, g);

  std::string file, name, container, format;
  bool wait = false, detach = false, force = false, previous = false, follow = false;
  int timeout_s = 120;
  int64_t grace_s = -1;

  auto* run = app.add_subcommand("run", "start a pod from a YAML or JSON manifest (- for stdin)");
  run->add_option("file", file, "the manifest")->required();
  auto* w = run->add_flag("--wait", wait, "wait until the pod has ended; exit 1 unless Succeeded");
  run->add_flag("-d,--detach", detach, "return once the sandbox is up")->excludes(w);
  run->add_option("--timeout", timeout_s, "seconds to wait")->capture_default_str();

  auto* ls = app.add_subcommand("ls", "list pods");
  ls->alias("list");
  ls->add_option("-o,--output", format, "json");

  auto* status = app.add_subcommand("status", "a pod's status");
  status->add_option("name", name)->required();
  status->add_option("-o,--output", format, "json or yaml: the pod with its status")
      ->check(CLI::IsMember({"json", "yaml", ""}));

  auto* logs = app.add_subcommand("logs", "a container's logs");
  logs->add_option("name", name)->required();
  logs->add_option("-c,--container", container, "the container");
  logs->add_flag("-p,--previous", previous, "the previous run of the container");
  logs->add_flag("-f,--follow", follow, "keep printing until the container stops");
  bool raw = false;
  int64_t tail = -1;
  logs->add_flag("--raw", raw, "the CRI log lines as they are (time, stream, P|F, text)");
  logs->add_option("--tail", tail, "only the last N lines (-1: all)");

  std::vector<std::string> command;
  auto* exec =
      app.add_subcommand("exec", "run a command in a running container: exec NAME -- CMD…");
  exec->add_option("name", name)->required();
  exec->add_option("command", command, "the command and its arguments (after --)")->required();
  exec->add_option("-c,--container", container, "the container (default: the first)");
  bool stdin_open = false, tty = false;
  exec->add_flag("-i,--stdin", stdin_open, "pass stdin to the command (else it reads nothing)");
  exec->add_flag("-t,--tty", tty, "run the command on a terminal (the runtime's pty, proxied)");

  auto* stop = app.add_subcommand("stop", "stop a pod: SIGTERM, the grace period, SIGKILL");
  stop->add_option("name", name)->required();
  stop->add_option("-t,--time,--grace-period", grace_s,
                   "grace period in seconds (default: the pod's)");

  auto* rm = app.add_subcommand("rm", "remove a stopped pod (with -f, stop it first)");
  rm->alias("delete");
  rm->add_option("name", name)->required();
  rm->add_flag("-f,--force", force, "stop a running pod without grace period");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::Options lo;
  lo.level = g.debug ? log::Level::kDebug : log::Level::kWarn;
  lo.component = "skiff-pod";
  log::configure(lo);
  finish_globals(g);

  Result<int> r = 0;
  if (run->parsed())
    r = cmd_run(g, file, wait, detach, timeout_s);
  else if (ls->parsed())
    r = cmd_ls(g, format);
  else if (status->parsed())
    r = cmd_status(g, name, format);
  else if (logs->parsed())
    r = cmd_logs(g, name, container, previous, follow, raw, tail);
  else if (exec->parsed())
    r = cmd_exec(g, name, container, command, stdin_open, tty);
  else if (stop->parsed())
    r = cmd_stop(g, name, grace_s >= 0 ? std::optional<int64_t>(grace_s) : std::nullopt);
  else if (rm->parsed())
    r = cmd_rm(g, name, force);
  if (!r) {
    std::cerr << "skiff pod: " << r.error().what() << "\n";
    return 1;
  }
  return *r;
}

}  // namespace
}  // namespace skiff::kubelet

int main(int argc, char** argv) {
  try {
    return skiff::kubelet::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "skiff pod: " << e.what() << "\n";
    return 1;
  }
}
