#include "runtime/linux/seccomp.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "common/json_util.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::runtime::linux {
namespace {

oci::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                         std::optional<uint32_t> errno_ret = std::nullopt,
                         std::vector<oci::SeccompArg> args = {}) {
  oci::SeccompSyscall r;
  r.names = std::move(names);
  r.action = std::move(action);
  r.errno_ret = errno_ret;
  r.args = std::move(args);
  return r;
}

oci::Seccomp profile(std::string default_action, std::vector<oci::SeccompSyscall> rules) {
  oci::Seccomp s;
  s.default_action = std::move(default_action);
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  s.syscalls = std::move(rules);
  return s;
}

struct Child {
  int status = 0;
  std::vector<long> values;  // what the child reported, in order
};

// Forks; the child sets no_new_privs (so installing needs no CAP_SYS_ADMIN), disables core dumps
// (SIGSYS dumps core), installs `program` and runs `body`, which fills a fixed array without
// allocating: after the filter is in, even brk/mmap may be denied. The values reach the parent
// over a pipe with one write(2).
Child run_filtered(const SeccompProgram& program, const std::function<int(long*)>& body) {
  int p[2];
  EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    long out[16] = {};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(90);
    auto fd = install_seccomp(program);
    if (!fd.ok()) _exit(91);
    int n = body(out);
    (void)!write(p[1], out, sizeof(long) * static_cast<size_t>(n));
    _exit(0);
  }
  close(p[1]);
  Child c;
  long buf[16];
  ssize_t n = read(p[0], buf, sizeof buf);
  for (ssize_t i = 0; n > 0 && i < n / static_cast<ssize_t>(sizeof(long)); ++i)
    c.values.push_back(buf[i]);
  close(p[0]);
  waitpid(pid, &c.status, 0);
  return c;
}

// syscall() that returns -errno on failure, so one long says both.
long sys_errno(long rc) { return rc < 0 ? -errno : rc; }

TEST(Seccomp, ErrnoRuleAndDefaultErrnoRet) {
  test::TempDir dir;
  // Everything not listed fails with ENOTSUP; mkdir with the default errno (EPERM).
  auto s = profile(
      "SCMP_ACT_ERRNO",
      // Memory and signal calls too, for sanitizer builds (SKIFF_SANITIZE).
      {rule({"write", "exit_group", "exit", "getpid", "rt_sigreturn", "mmap", "munmap", "mprotect",
             "madvise", "brk", "rt_sigprocmask", "rt_sigaction", "sigaltstack", "futex"},
            "SCMP_ACT_ALLOW"),
       rule({"mkdir"}, "SCMP_ACT_ERRNO")});
  s.default_errno_ret = ENOTSUP;
  auto prog = compile_seccomp(s);
  ASSERT_TRUE(prog.ok()) << prog.error().what();
  EXPECT_FALSE(prog->filter.empty());
  EXPECT_FALSE(prog->wants_listener);
  std::string target = dir / "sub";
  auto c = run_filtered(*prog, [&](long* out) {
    out[0] = sys_errno(syscall(SYS_mkdir, target.c_str(), 0755));
    out[1] = sys_errno(syscall(SYS_getpid));
    out[2] = sys_errno(syscall(SYS_getuid));
    return 3;
  });
  ASSERT_TRUE(WIFEXITED(c.status)) << c.status;
  ASSERT_EQ(WEXITSTATUS(c.status), 0);
  ASSERT_EQ(c.values.size(), 3u);
  EXPECT_EQ(c.values[0], -EPERM);
  EXPECT_GT(c.values[1], 0);
  EXPECT_EQ(c.values[2], -ENOTSUP);
  EXPECT_NE(access(target.c_str(), F_OK), 0);
}

TEST(Seccomp, ArgumentFilters) {
  // personality(0xffffffff) (the query) is denied, personality(PER_LINUX) is not.
  oci::SeccompArg query{0, 0xffffffff, 0, "SCMP_CMP_EQ"};
  // Two comparisons of one argument are ORed (one rule each), as runc does: 0x1234 or 0x4321.
  oci::SeccompArg a{0, 0x1234, 0, "SCMP_CMP_EQ"}, b{0, 0x4321, 0, "SCMP_CMP_EQ"};
  // MASKED_EQ: (arg & value) == valueTwo.
  oci::SeccompArg masked{1, 0xff00, 0x1200, "SCMP_CMP_MASKED_EQ"};
  auto s = profile("SCMP_ACT_ALLOW", {rule({"personality"}, "SCMP_ACT_ERRNO", EACCES, {query}),
                                      rule({"getpriority"}, "SCMP_ACT_ERRNO", EDOM, {a, b}),
                                      rule({"setpriority"}, "SCMP_ACT_ERRNO", ERANGE, {masked})});
  auto prog = compile_seccomp(s);
  ASSERT_TRUE(prog.ok()) << prog.error().what();
  auto c = run_filtered(*prog, [](long* out) {
    out[0] = sys_errno(syscall(SYS_personality, 0xffffffffUL));
    out[1] = sys_errno(syscall(SYS_personality, 0UL));
    out[2] = sys_errno(syscall(SYS_getpriority, 0x1234, 0));
    out[3] = sys_errno(syscall(SYS_getpriority, 0x4321, 0));
    out[4] = sys_errno(syscall(SYS_getpriority, 0x1235, 0));  // EINVAL from the kernel
    out[5] = sys_errno(syscall(SYS_setpriority, 0x7777, 0x12ab, 0));
    out[6] = sys_errno(syscall(SYS_setpriority, 0x7777, 0x13ab, 0));  // EINVAL from the kernel
    return 7;
  });
  ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) << c.status;
  ASSERT_EQ(c.values.size(), 7u);
  EXPECT_EQ(c.values[0], -EACCES);
  EXPECT_GE(c.values[1], 0);
  EXPECT_EQ(c.values[2], -EDOM);
  EXPECT_EQ(c.values[3], -EDOM);
  EXPECT_EQ(c.values[4], -EINVAL);
  EXPECT_EQ(c.values[5], -ERANGE);
  EXPECT_EQ(c.values[6], -EINVAL);
}

class SeccompKill : public ::testing::TestWithParam<const char*> {};

TEST_P(SeccompKill, KillsWithSigsys) {
  auto prog = compile_seccomp(profile("SCMP_ACT_ALLOW", {rule({"getppid"}, GetParam())}));
  ASSERT_TRUE(prog.ok()) << prog.error().what();
  auto c = run_filtered(*prog, [](long* out) {
    out[0] = syscall(SYS_getppid);
    return 1;
  });
  ASSERT_TRUE(WIFSIGNALED(c.status)) << "status " << c.status;
  EXPECT_EQ(WTERMSIG(c.status), SIGSYS);
  EXPECT_TRUE(c.values.empty());
}

INSTANTIATE_TEST_SUITE_P(Actions, SeccompKill,
                         ::testing::Values("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                           "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"));

TEST(Seccomp, UnknownSyscallNamesAreSkipped) {
  test::TempDir dir;
  // Names of other arches and of no arch at all, as real profiles carry them.
  auto s = profile("SCMP_ACT_ALLOW",
                   {rule({"no_such_syscall", "mkdir", "socketcall", "arm_fadvise64_64", "_llseek"},
                         "SCMP_ACT_ERRNO", EROFS)});
  auto prog = compile_seccomp(s);
  ASSERT_TRUE(prog.ok()) << prog.error().what();
  std::string target = dir / "sub";
  auto c = run_filtered(*prog, [&](long* out) {
    out[0] = sys_errno(syscall(SYS_mkdir, target.c_str(), 0755));
    return 1;
  });
  ASSERT_EQ(c.values.size(), 1u);
  EXPECT_EQ(c.values[0], -EROFS);
}

TEST(Seccomp, RuleWithTheDefaultActionIsSkipped) {
  auto s = profile("SCMP_ACT_ERRNO",
                   {rule({"mkdir"}, "SCMP_ACT_ERRNO"), rule({"getpid"}, "SCMP_ACT_ALLOW")});
  auto prog = compile_seccomp(s);
  ASSERT_TRUE(prog.ok()) << prog.error().what();
  // Same action, different errno: a different action, kept.
  s.syscalls[0].errno_ret = ENOENT;
  EXPECT_TRUE(compile_seccomp(s).ok());
}

TEST(Seccomp, FlagsAndEveryKnownName) {
  auto s = profile("SCMP_ACT_ALLOW", {});
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
             "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  s.architectures = seccomp_known_arches();
  for (const auto& action : seccomp_known_actions()) {
    if (action == "SCMP_ACT_ALLOW") continue;
    s.syscalls.push_back(rule({"getppid"}, action));
    s.listener_path = "/run/agent.sock";
  }
  for (const auto& op : seccomp_known_operators())
    s.syscalls.push_back(rule({"getpriority"}, "SCMP_ACT_ERRNO", std::nullopt, {{0, 5, 5, op}}));
  auto prog = compile_seccomp(s);
  ASSERT_TRUE(prog.ok()) << prog.error().what();
  EXPECT_EQ(prog->flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                             SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  EXPECT_TRUE(prog->wants_listener);

  auto log_only = profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_LOG")});
  log_only.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  auto p2 = compile_seccomp(log_only);
  ASSERT_TRUE(p2.ok()) << p2.error().what();
  // TSYNC is a no-op for a single-threaded process; WAIT_KILLABLE_RECV needs a listener.
  EXPECT_EQ(p2->flags, SECCOMP_FILTER_FLAG_LOG);
  auto c = run_filtered(*p2, [](long* out) {
    out[0] = sys_errno(syscall(SYS_getppid));
    return 1;
  });
  ASSERT_EQ(c.values.size(), 1u);
  EXPECT_GT(c.values[0], 0);

  for (auto names : {seccomp_known_actions(), seccomp_known_arches(), seccomp_known_operators(),
                     seccomp_known_flags()})
    EXPECT_FALSE(names.empty());
}

struct BadProfile {
  std::function<void(oci::Seccomp&)> edit;
  std::string message;
};

TEST(Seccomp, ErrorsNameTheJsonPath) {
  std::vector<BadProfile> cases = {
      {[](oci::Seccomp& s) { s.syscalls[1].action = "SCMP_ACT_FOO"; },
       "linux.seccomp.syscalls[1].action: unknown action `SCMP_ACT_FOO`"},
      {[](oci::Seccomp& s) { s.default_action = "SCMP_ACT_BAR"; },
       "linux.seccomp.defaultAction: unknown action `SCMP_ACT_BAR`"},
      {[](oci::Seccomp& s) { s.default_action.clear(); }, "linux.seccomp.defaultAction: required"},
      {[](oci::Seccomp& s) { s.architectures.push_back("SCMP_ARCH_VAX"); },
       "linux.seccomp.architectures[3]: unknown architecture `SCMP_ARCH_VAX`"},
      {[](oci::Seccomp& s) { s.architectures.push_back("x86_64"); },
       "linux.seccomp.architectures[3]: unknown architecture `x86_64`"},
      {[](oci::Seccomp& s) {
         s.syscalls[0].args = {{0, 1, 0, "SCMP_CMP_ALMOST"}};
       },
       "linux.seccomp.syscalls[0].args[0].op: unknown operator `SCMP_CMP_ALMOST`"},
      {[](oci::Seccomp& s) {
         s.syscalls[0].args = {{6, 1, 0, "SCMP_CMP_EQ"}};
       },
       "linux.seccomp.syscalls[0].args[0].index: 6 is out of range"},
      {[](oci::Seccomp& s) {
         s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_X"};
       },
       "linux.seccomp.flags[1]: unknown flag `SECCOMP_FILTER_FLAG_X`"},
      {[](oci::Seccomp& s) { s.syscalls[1].errno_ret = 5; },
       "linux.seccomp.syscalls[1].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE"},
      {[](oci::Seccomp& s) { s.default_errno_ret = 5; },
       "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE"},
      {[](oci::Seccomp& s) { s.default_action = "SCMP_ACT_NOTIFY"; },
       "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
      {[](oci::Seccomp& s) { s.syscalls[1].action = "SCMP_ACT_NOTIFY"; },
       "linux.seccomp.listenerPath: required"},
      {[](oci::Seccomp& s) {
         s.listener_path = "/x";
         s.syscalls[1] = rule({"read", "write"}, "SCMP_ACT_NOTIFY");
       },
       "linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY cannot be used for the write syscall"},
  };
  for (const auto& c : cases) {
    auto s = profile("SCMP_ACT_ALLOW",
                     {rule({"mkdir"}, "SCMP_ACT_ERRNO"), rule({"getppid"}, "SCMP_ACT_KILL")});
    c.edit(s);
    auto r = compile_seccomp(s);
    ASSERT_FALSE(r.ok()) << "expected: " << c.message;
    EXPECT_NE(r.error().what().find(c.message), std::string::npos)
        << "got: " << r.error().what() << "\nwant: " << c.message;
  }
}

TEST(Seccomp, InstallRejectsAnEmptyProgram) {
  SeccompProgram empty;
  auto r = install_seccomp(empty);
  ASSERT_FALSE(r.ok());
}

// Receives one message and one fd from a connected unix socket.
bool recv_with_fd(int sock, std::string* data, int* fd) {
  char buf[65536];
  struct iovec iov = {buf, sizeof buf};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) return false;
  data->assign(buf, static_cast<size_t>(n));
  // The rest of the state, if the stream split it.
  while ((n = recv(sock, buf, sizeof buf, MSG_DONTWAIT)) > 0)
    data->append(buf, static_cast<size_t>(n));
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return false;
  std::memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
  return true;
}

TEST(Seccomp, NotifyListenerIsSentAndAnswers) {
  test::TempDir dir;
  std::string sock_path = dir / "agent.sock";
  UniqueFd server(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(server.valid());
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(server.get(), 1), 0);

  auto s = profile("SCMP_ACT_ALLOW", {rule({"getppid"}, "SCMP_ACT_NOTIFY")});
  s.listener_path = sock_path;
  s.listener_metadata = "hello-agent";
  s.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};  // Linux 5.19+
  auto prog = compile_seccomp(s);
  ASSERT_TRUE(prog.ok()) << prog.error().what();
  ASSERT_TRUE(prog->wants_listener);

  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(90);
    auto fd = install_seccomp(*prog);
    if (!fd.ok() || !fd->valid()) _exit(91);
    std::string state =
        R"({"ociVersion":"1.2.0","id":"c1","status":"creating","pid":4321,"bundle":"/b"})";
    if (!send_seccomp_listener(sock_path, fd->get(), state, s.listener_metadata).ok()) _exit(92);
    fd->reset();
    long v = syscall(SYS_getppid);  // answered by the test below
    (void)!write(p[1], &v, sizeof v);
    _exit(0);
  }
  close(p[1]);
  UniqueFd report(p[0]);
  // Never hang the suite: the child is killed if anything below fails.
  auto reap = [&] {
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
  };

  struct pollfd pfd = {server.get(), POLLIN, 0};
  if (poll(&pfd, 1, 10000) != 1) {
    reap();
    FAIL() << "the child never connected";
  }
  UniqueFd conn(accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  std::string data;
  int raw_fd = -1;
  if (!recv_with_fd(conn.get(), &data, &raw_fd)) {
    reap();
    FAIL() << "no message with an fd";
  }
  UniqueFd listener(raw_fd);
  auto j = parse_json(data, "process state");
  ASSERT_TRUE(j.ok()) << data;
  EXPECT_EQ((*j)["ociVersion"], "1.2.0");
  EXPECT_EQ((*j)["fds"], Json::array({"seccompFd"}));
  EXPECT_EQ((*j)["pid"], 4321);
  EXPECT_EQ((*j)["metadata"], "hello-agent");
  EXPECT_EQ((*j)["state"]["id"], "c1");

  struct seccomp_notif req;
  std::memset(&req, 0, sizeof req);
  pfd = {listener.get(), POLLIN, 0};
  if (poll(&pfd, 1, 10000) != 1 || ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
    reap();
    FAIL() << "no notification: " << std::strerror(errno);
  }
  EXPECT_EQ(req.data.nr, SYS_getppid);
  EXPECT_EQ(static_cast<pid_t>(req.pid), pid);
  struct seccomp_notif_resp resp;
  std::memset(&resp, 0, sizeof resp);
  resp.id = req.id;
  resp.val = 4242;
  ASSERT_EQ(ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << std::strerror(errno);

  long v = 0;
  EXPECT_EQ(read(report.get(), &v, sizeof v), static_cast<ssize_t>(sizeof v));
  EXPECT_EQ(v, 4242);
  int status;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Seccomp, SendListenerErrors) {
  test::TempDir dir;
  auto r = send_seccomp_listener(dir / "nobody.sock", 0, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("connect"), std::string::npos) << r.error().what();
  r = send_seccomp_listener(dir / "x.sock", 0, "not json");
  ASSERT_FALSE(r.ok());
}

}  // namespace
}  // namespace skiff::runtime::linux
