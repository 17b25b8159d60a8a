#include "tests/support/runtime_fixture.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace skiff::test {

Bundle::Bundle(const std::vector<std::string>& args) {
  // mkdtemp makes 0700 dirs: a container whose root is an unprivileged host uid (user
  // namespaces) must still reach its rootfs.
  chmod(dir_.path().c_str(), 0755);
  auto r = run({source_path("scripts/fixtures/make-busybox-bundle.sh"), dir_.path()});
  if (r.exit_code != 0) throw std::runtime_error("make-busybox-bundle failed: " + r.err);
  std::filesystem::copy_file(binary("tests/skiff-probe"), rootfs() + "/bin/skiff-probe",
                             std::filesystem::copy_options::overwrite_existing);
  config = json::parse(read_file(dir_.path() + "/config.json"));
  // Tests run many containers: a cgroup per test id under one parent that tests can inspect.
  config["process"]["args"] = args;
  save();
}

void Bundle::save() const { write_file(dir_.path() + "/config.json", config.dump(2)); }

void Bundle::set_args(const std::vector<std::string>& args) {
  config["process"]["args"] = args;
  save();
}

Skiff::Skiff() = default;

std::string Skiff::binary_path() { return binary("runtime/skiff"); }

CommandResult Skiff::operator()(const std::vector<std::string>& args,
                                const std::string& stdin_text) const {
  std::vector<std::string> argv = {binary_path(), "--root", root_.path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, stdin_text);
}

CommandResult Skiff::detached(const std::vector<std::string>& args) const {
  TempDir tmp("skiff-out");
  std::string script = "exec \"$0\" --root \"$1\"";
  std::vector<std::string> argv = {"/bin/sh", "-c", "", binary_path(), root_.path()};
  for (size_t i = 0; i < args.size(); ++i) script += " \"${" + std::to_string(i + 2) + "}\"";
  script += " </dev/null >'" + tmp.path() + "/out' 2>'" + tmp.path() + "/err'";
  argv[2] = script;
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = run(argv);
  r.out = read_file(tmp.path() + "/out");
  r.err = read_file(tmp.path() + "/err");
  return r;
}

CommandResult Skiff::with_redirections(const std::string& redirections,
                                       const std::vector<std::string>& args) const {
  std::string script = "exec \"$0\" --root \"$1\"";
  std::vector<std::string> argv = {"/bin/sh", "-c", "", binary_path(), root_.path()};
  for (size_t i = 0; i < args.size(); ++i) script += " \"${" + std::to_string(i + 2) + "}\"";
  argv[2] = script + " " + redirections;
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

json Skiff::state(const std::string& id) const {
  auto r = (*this)({"state", id});
  if (r.exit_code != 0) return json();
  return json::parse(r.out, nullptr, false);
}

bool Skiff::wait_for_status(const std::string& id, const std::string& status,
                            int timeout_ms) const {
  return wait_until(
      [&] {
        auto s = state(id);
        return s.is_object() && s.value("status", "") == status;
      },
      timeout_ms);
}

bool wait_until(const std::function<bool()>& done, int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    if (done()) return true;
    if (waited >= timeout_ms) return false;
    usleep(10000);
  }
}

std::string ns_link(int pid, const std::string& ns) {
  char buf[256];
  std::string path = "/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/ns/" + ns;
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

namespace {

void walk_dirs(const std::string& dir, std::set<std::string>& out) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    std::string p = dir + "/" + e->d_name;
    out.insert(p);
    walk_dirs(p, out);
  }
  closedir(d);
}

}  // namespace

HostSnapshot HostSnapshot::take() {
  HostSnapshot s;
  std::istringstream mi(read_file("/proc/self/mountinfo"));
  std::string line;
  const char* tmp = getenv("TMPDIR");
  std::string ours = std::string(tmp && *tmp ? tmp : "/tmp") + "/skiff-";
  while (std::getline(mi, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point.rfind(ours, 0) == 0 || point.rfind("/run/skiff", 0) == 0) s.mounts.insert(point);
  }
  if (DIR* d = opendir("/sys/fs/cgroup")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string base = std::string("/sys/fs/cgroup/") + e->d_name + "/skiff";
      struct stat st;
      if (stat(base.c_str(), &st) == 0) walk_dirs(base, s.cgroup_dirs);
    }
    closedir(d);
    // Pure v2: /sys/fs/cgroup/skiff itself.
    walk_dirs("/sys/fs/cgroup/skiff", s.cgroup_dirs);
  }
  if (DIR* d = opendir("/proc")) {
    pid_t self = getpid();
    while (dirent* e = readdir(d)) {
      int pid = atoi(e->d_name);
      if (pid <= 0) continue;
      std::string stat = read_file(std::string("/proc/") + e->d_name + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      std::string state;
      int ppid = 0;
      rest >> state >> ppid;
      if (ppid == self) s.children.insert(pid);
    }
    closedir(d);
  }
  return s;
}

std::string diff(const HostSnapshot& a, const HostSnapshot& b) {
  std::ostringstream out;
  for (const auto& m : b.mounts)
    if (b.mounts.count(m) > a.mounts.count(m)) out << "mount left behind: " << m << "\n";
  for (const auto& d : b.cgroup_dirs)
    if (!a.cgroup_dirs.count(d)) out << "cgroup left behind: " << d << "\n";
  for (int p : b.children)
    if (!a.children.count(p)) out << "process left behind: " << p << "\n";
  return out.str();
}

json probe_report(const std::string& out) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') last = line;
  if (last.empty()) return json();
  return json::parse(last, nullptr, false);
}

std::string unique_id(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

}  // namespace skiff::test
