#include "runtime/linux/seccomp.hpp"

#include "runtime/linux/sync.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>

#include "common/fs.hpp"
#include "common/json_util.hpp"
#include "common/log.hpp"

// Older uapi headers lack the newer flags; the values are ABI (linux/seccomp.h).
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace skiff::runtime::linux {
namespace {

constexpr unsigned kMaxSyscallArgs = 6;

struct ScmpCtxDeleter {
  void operator()(void* ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};
using ScmpCtx = std::unique_ptr<void, ScmpCtxDeleter>;

struct NamedOp {
  const char* name;
  scmp_compare op;
};
constexpr NamedOp kOperators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

struct NamedFlag {
  const char* name;
  unsigned int flag;
};
// SECCOMP_FILTER_FLAG_TSYNC is accepted and ignored: the container process is single-threaded
// when it installs the filter (and TSYNC cannot be combined with NEW_LISTENER).
constexpr NamedFlag kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", 0},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

constexpr const char* kActions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};

constexpr const char* kArches[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

// Maps an OCI action name (+ errnoRet) to a libseccomp action. `path` is the JSON path of the
// action field; errnoRet is only meaningful for ERRNO and TRACE (runc rejects it elsewhere).
Result<uint32_t> resolve_action(const std::string& name, std::optional<uint32_t> errno_ret,
                                const std::string& path, const std::string& errno_path) {
  auto ret_code = [&]() -> uint16_t {
    return static_cast<uint16_t>(errno_ret ? *errno_ret : static_cast<uint32_t>(EPERM));
  };
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret_code());
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret_code());
  uint32_t action;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") {
    action = SCMP_ACT_KILL_THREAD;
  } else if (name == "SCMP_ACT_KILL_PROCESS") {
    action = SCMP_ACT_KILL_PROCESS;
  } else if (name == "SCMP_ACT_TRAP") {
    action = SCMP_ACT_TRAP;
  } else if (name == "SCMP_ACT_ALLOW") {
    action = SCMP_ACT_ALLOW;
  } else if (name == "SCMP_ACT_LOG") {
    action = SCMP_ACT_LOG;
  } else if (name == "SCMP_ACT_NOTIFY") {
    action = SCMP_ACT_NOTIFY;
  } else {
    return error(path, ": unknown action ", quote(name));
  }
  if (errno_ret)
    return error(errno_path, ": only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not ",
                 quote(name));
  return action;
}

Result<uint32_t> resolve_arch(const std::string& name, const std::string& path) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0)
    return error(path, ": unknown architecture ", quote(name));
  std::string lower = name.substr(kPrefix.size());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
  if (arch == 0) return error(path, ": unknown architecture ", quote(name));
  return arch;
}

Result<scmp_compare> resolve_operator(const std::string& name, const std::string& path) {
  for (const auto& o : kOperators)
    if (name == o.name) return o.op;
  return error(path, ": unknown operator ", quote(name));
}

Result<std::vector<scmp_arg_cmp>> resolve_args(const oci::SeccompSyscall& rule,
                                               const std::string& path) {
  std::vector<scmp_arg_cmp> out;
  for (size_t i = 0; i < rule.args.size(); ++i) {
    const auto& a = rule.args[i];
    std::string arg_path = cat(path, ".args[", i, "]");
    if (a.index >= kMaxSyscallArgs)
      return error(arg_path, ".index: ", a.index, " is out of range (a syscall has 6 arguments)");
    scmp_compare op = TRY(resolve_operator(a.op, cat(arg_path, ".op")));
    // MASKED_EQ: (arg & value) == valueTwo; the others compare with value.
    out.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
  }
  return out;
}

Result<void> add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const std::string& name,
                      const std::vector<scmp_arg_cmp>& args, const std::string& path) {
  // libseccomp ANDs the comparisons of one rule but cannot AND two of the same argument; like
  // runc, a rule that names one argument twice becomes one rule per comparison (OR). Docker's
  // default profile relies on that (personality with several allowed values).
  bool repeated_index = false;
  for (size_t i = 0; i < args.size() && !repeated_index; ++i)
    for (size_t j = i + 1; j < args.size(); ++j)
      if (args[i].arg == args[j].arg) repeated_index = true;
  auto add = [&](const scmp_arg_cmp* cmps, unsigned count) -> Result<void> {
    int rc = seccomp_rule_add_array(ctx, action, nr, count, cmps);
    if (rc < 0) {
      errno = -rc;
      return errno_error(path, ": add rule for syscall ", quote(name));
    }
    return ok();
  };
  if (!repeated_index) return add(args.data(), static_cast<unsigned>(args.size()));
  for (const auto& cmp : args) TRY(add(&cmp, 1));
  return ok();
}

Result<std::vector<struct sock_filter>> export_bpf(scmp_filter_ctx ctx) {
  UniqueFd fd(memfd_create("skiff-seccomp", MFD_CLOEXEC));
  if (!fd) return errno_error("memfd_create for the seccomp program");
  int rc = seccomp_export_bpf(ctx, fd.get());
  if (rc < 0) {
    errno = -rc;
    return errno_error("seccomp_export_bpf");
  }
  if (lseek(fd.get(), 0, SEEK_SET) < 0) return errno_error("lseek on the seccomp program");
  std::string bytes = TRY(read_fd(fd.get()));
  if (bytes.empty() || bytes.size() % sizeof(struct sock_filter) != 0)
    return error("seccomp_export_bpf: unexpected program size ", bytes.size());
  std::vector<struct sock_filter> filter(bytes.size() / sizeof(struct sock_filter));
  std::memcpy(filter.data(), bytes.data(), bytes.size());
  return filter;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& seccomp) {
  const std::string base = "linux.seccomp";
  SeccompProgram program;

  if (seccomp.default_action.empty()) return error(base, ".defaultAction: required");
  uint32_t default_action =
      TRY(resolve_action(seccomp.default_action, seccomp.default_errno_ret,
                         cat(base, ".defaultAction"), cat(base, ".defaultErrnoRet")));
  if (default_action == SCMP_ACT_NOTIFY)
    return error(base, ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

  for (size_t i = 0; i < seccomp.flags.size(); ++i) {
    const std::string& name = seccomp.flags[i];
    auto it = std::find_if(std::begin(kFlags), std::end(kFlags),
                           [&](const NamedFlag& f) { return name == f.name; });
    if (it == std::end(kFlags)) return error(base, ".flags[", i, "]: unknown flag ", quote(name));
    program.flags |= it->flag;
  }

  ScmpCtx ctx(seccomp_init(default_action));
  if (!ctx) return error(base, ": seccomp_init(", quote(seccomp.default_action), ") failed");
  scmp_filter_ctx c = ctx.get();

  for (size_t i = 0; i < seccomp.architectures.size(); ++i) {
    std::string path = cat(base, ".architectures[", i, "]");
    uint32_t arch = TRY(resolve_arch(seccomp.architectures[i], path));
    int rc = seccomp_arch_add(c, arch);
    if (rc == -EEXIST) continue;  // the native arch is already there
    if (rc == -EDOM) {
      // One filter cannot mix byte orders. A process here can only make native-endian syscalls,
      // so the other arches' rules could never match; their calls get the bad-arch action (kill).
      log::debug("seccomp: ", path, ": ", quote(seccomp.architectures[i]),
                 " has the other byte order, skipping it");
      continue;
    }
    if (rc < 0) {
      errno = -rc;
      return errno_error(path, ": seccomp_arch_add(", quote(seccomp.architectures[i]), ")");
    }
  }

  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const auto& rule = seccomp.syscalls[i];
    std::string path = cat(base, ".syscalls[", i, "]");
    uint32_t action = TRY(
        resolve_action(rule.action, rule.errno_ret, cat(path, ".action"), cat(path, ".errnoRet")));
    auto args = TRY(resolve_args(rule, path));
    if (action == SCMP_ACT_NOTIFY) {
      // The runtime itself writes to its sync pipe after installing the filter and before the
      // listener has an agent: a notified write would hang it (runc has the same rule).
      if (std::find(rule.names.begin(), rule.names.end(), "write") != rule.names.end())
        return error(path, ".action: SCMP_ACT_NOTIFY cannot be used for the write syscall");
      if (seccomp.listener_path.empty())
        return error(base, ".listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
    }
    // libseccomp rejects a rule whose action is the default one; it would change nothing.
    if (action == default_action) continue;
    if (action == SCMP_ACT_NOTIFY) program.wants_listener = true;
    for (size_t j = 0; j < rule.names.size(); ++j) {
      const std::string& name = rule.names[j];
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        // A profile lists syscalls of newer kernels or other arches; runc skips them too.
        log::debug("seccomp: ", path, ".names[", j, "]: unknown syscall ", quote(name),
                   ", skipping it");
        continue;
      }
      TRY(add_rule(c, action, nr, name, args, cat(path, ".names[", j, "]")));
    }
  }

  if ((program.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) && !program.wants_listener) {
    // It only changes how a notified syscall waits; seccomp(2) refuses it without a listener.
    log::debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without SCMP_ACT_NOTIFY rules, ",
               "ignoring it");
    program.flags &= ~static_cast<unsigned int>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  }
  program.filter = TRY_CTX(export_bpf(c), base);
  return program;
}

Result<UniqueFd> install_seccomp(const SeccompProgram& program) {
  if (program.filter.empty()) return error("seccomp: empty filter program");
  struct sock_fprog prog = {};
  prog.len = static_cast<unsigned short>(program.filter.size());
  prog.filter = const_cast<struct sock_filter*>(program.filter.data());
  if (program.filter.size() > BPF_MAXINSNS)
    return error("seccomp: filter has ", program.filter.size(), " instructions, the kernel allows ",
                 BPF_MAXINSNS);
  unsigned long flags = program.flags;
  if (program.wants_listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) return errno_error("seccomp(SECCOMP_SET_MODE_FILTER, flags=", flags, ")");
  // The listener fd comes back with O_CLOEXEC set by the kernel.
  if (program.wants_listener) return UniqueFd(static_cast<int>(rc));
  return UniqueFd();
}

Result<void> send_seccomp_listener(const std::string& listener_path, int listener_fd,
                                   const std::string& state_json, const std::string& metadata) {
  std::string where = cat("send the seccomp listener to ", quote(listener_path));
  // The payload is the runtime-spec's ContainerProcessState: fds names what SCM_RIGHTS carries.
  Json state = TRY_CTX(parse_json(state_json, "container state"), where);
  Json message = Json::object();
  message["ociVersion"] = state.is_object() && state.contains("ociVersion")
                              ? state["ociVersion"]
                              : Json(oci::kRuntimeSpecVersion);
  message["fds"] = Json::array({"seccompFd"});
  message["pid"] = state.is_object() && state.contains("pid") ? state["pid"] : Json(getpid());
  message["metadata"] = metadata;
  message["state"] = state;
  std::string data = message.dump();

  auto sock = TRY_CTX(connect_unix(listener_path), where);
  TRY_CTX(send_fd_over(sock.get(), listener_fd, data), where);
  return ok();
}

std::vector<std::string> seccomp_known_actions() {
  return {std::begin(kActions), std::end(kActions)};
}

std::vector<std::string> seccomp_known_arches() { return {std::begin(kArches), std::end(kArches)}; }

std::vector<std::string> seccomp_known_operators() {
  std::vector<std::string> out;
  for (const auto& o : kOperators) out.push_back(o.name);
  return out;
}

std::vector<std::string> seccomp_known_flags() {
  std::vector<std::string> out;
  for (const auto& f : kFlags) out.push_back(f.name);
  return out;
}

}  // namespace skiff::runtime::linux
