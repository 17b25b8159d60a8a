#include "runtime/linux/process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include "common/fs.hpp"
#include "runtime/linux/capabilities.hpp"
#include "runtime/linux/process_attrs.hpp"

namespace skiff::runtime::linux {
namespace {

std::string env_value(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  return {};
}

bool executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

Result<void> change_cwd(const std::string& cwd) {
  if (chdir(cwd.c_str()) < 0) return errno_error("chdir to process.cwd ", quote(cwd));
  // A cwd reached through a leaked fd (e.g. /proc/self/fd/7 → a host directory) is outside the
  // container's root: getcwd() then fails or returns "(unreachable)…" (CVE-2024-21626).
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf) || buf[0] != '/')
    return error("process.cwd ", quote(cwd), " is outside the container's root filesystem");
  return ok();
}

}  // namespace

Result<std::string> find_executable(const oci::Process& p) {
  const std::string& name = p.args.at(0);
  if (name.find('/') != std::string::npos) {
    if (!executable_file(name)) {
      struct stat st;
      int err = ::stat(name.c_str(), &st) < 0 ? errno : EACCES;
      errno = err;
      return errno_error("exec: ", quote(name));
    }
    return name;
  }
  std::string path = env_value(p.env, "PATH");
  if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& dir : split(path, ':', true)) {
    std::string candidate = path_join(dir, name);
    if (executable_file(candidate)) return candidate;
  }
  return error("exec: ", quote(name), ": executable file not found in $PATH");
}

Result<PreparedProcess> prepare_process(const oci::Process& p, const oci::Spec* spec,
                                        const SeccompProgram* seccomp, bool setgroups_allowed,
                                        UniqueFd* listener) {
  TRY(apply_rlimits(p.rlimits));
  if (spec && spec->linux && spec->linux->personality)
    TRY(apply_personality(*spec->linux->personality));
  if (p.io_priority) TRY(apply_io_priority(*p.io_priority));
  if (p.oom_score_adj) TRY(apply_oom_score_adj(0, *p.oom_score_adj));
  // Try the cwd as root first (it may be unreadable for the user until the switch), and verify
  // it again as the user below.
  (void)!chdir(p.cwd.c_str());
  PreparedProcess prepared;
  // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it while we have it (runc's
  // order). A filter with a notify listener also goes in now, so the listener can reach the
  // runtime before `create` returns.
  if (seccomp && (!p.no_new_privileges || seccomp->wants_listener)) {
    if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
      return errno_error("prctl(PR_SET_NO_NEW_PRIVS)");
    auto fd = TRY(install_seccomp(*seccomp));
    if (listener) *listener = std::move(fd);
    prepared.seccomp_installed = true;
  }
  TRY(apply_identity(p, setgroups_allowed));
  if (!p.user.umask) umask(022);
  TRY(change_cwd(p.cwd));
  prepared.executable = TRY(find_executable(p));
  return prepared;
}

Error exec_process(const oci::Process& p, const PreparedProcess& prepared,
                   const SeccompProgram* seccomp, int preserve_fds) {
  // No fd of ours may reach the container (CVE-2024-21626): everything above the preserved
  // range is closed on exec, whatever flags it was opened with.
  unsigned first = 3 + static_cast<unsigned>(preserve_fds);
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return errno_error("close_range");
  for (unsigned fd = 3; fd < first; ++fd) {
    int flags = fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0) fcntl(static_cast<int>(fd), F_SETFD, flags & ~FD_CLOEXEC);
  }
  if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return errno_error("prctl(PR_SET_NO_NEW_PRIVS)");
  if (seccomp && !prepared.seccomp_installed) {
    auto fd = install_seccomp(*seccomp);
    if (!fd) return std::move(fd).error();
    fd->release();  // stays open only until exec (O_CLOEXEC); the listener was sent already
  }
  std::vector<char*> argv, envp;
  for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  execve(prepared.executable.c_str(), argv.data(), envp.data());
  return errno_error("exec ", quote(prepared.executable));
}

}  // namespace skiff::runtime::linux
