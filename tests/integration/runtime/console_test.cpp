// process.terminal with --console-socket (runc's protocol): the test listens on a unix socket,
// receives the pty master over SCM_RIGHTS and reads the container's terminal from it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "common/unique_fd.hpp"
#include "runtime/linux/sync.hpp"
#include "tests/support/runtime_fixture.hpp"

namespace skiff::test {
namespace {

// A listening unix socket at `path`.
UniqueFd listen_at(const std::string& path) {
  UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (!s || bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      listen(s.get(), 1) < 0)
    return UniqueFd();
  return s;
}

// Accepts one connection (within `timeout_ms`) and receives the fd it sends.
UniqueFd receive_master(int listener, std::string* name, int timeout_ms = 5000) {
  struct pollfd p = {listener, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return UniqueFd();
  UniqueFd conn(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return UniqueFd();
  auto fd = runtime::linux::recv_fd_over(conn.get(), name);
  return fd ? std::move(*fd) : UniqueFd();
}

// Everything the pty master yields until the slave side is gone (EIO) or `timeout_ms` passes.
std::string read_all(int master, int timeout_ms = 5000) {
  std::string out;
  char buf[4096];
  while (true) {
    struct pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) break;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class Console : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    before_ = HostSnapshot::take();
    listener_ = listen_at(socket_path_);
    ASSERT_TRUE(listener_) << "cannot listen on " << socket_path_ << ": " << strerror(errno);
  }
  void TearDown() override {
    if (!is_root()) return;
    for (const auto& id : ids_) skiff_({"delete", "--force", id});
    EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  }
  std::string new_id() {
    ids_.push_back(unique_id("con"));
    return ids_.back();
  }
  // Runs a detached skiff command that hands a pty master to our socket; returns the master.
  UniqueFd hand_over(const std::vector<std::string>& args, CommandResult* result,
                     std::string* name) {
    std::thread command([&] { *result = skiff_.detached(args); });
    UniqueFd master = receive_master(listener_.get(), name);
    command.join();
    return master;
  }

  Skiff skiff_;
  HostSnapshot before_;
  std::vector<std::string> ids_;
  TempDir dir_{"skiff-console"};
  std::string socket_path_ = dir_ / "console.sock";
  UniqueFd listener_;
};

TEST_F(Console, CreateSendsThePtyMasterAndTheSizeApplies) {
  Bundle b({"sh", "-c", "tty; stty size; echo done"});
  b.config["process"]["terminal"] = true;
  b.config["process"]["consoleSize"] = {{"height", 31}, {"width", 101}};
  b.save();
  std::string id = new_id();
  CommandResult create;
  std::string name;
  UniqueFd master = hand_over({"create", "--console-socket", socket_path_, "--bundle", b.dir(), id},
                              &create, &name);
  ASSERT_EQ(create.exit_code, 0) << create.err;
  ASSERT_TRUE(master) << "no pty master received";
  EXPECT_EQ(name, "/dev/pts/0");
  EXPECT_TRUE(isatty(master.get()));
  ASSERT_EQ(skiff_({"start", id}).exit_code, 0);
  std::string out = read_all(master.get());
  EXPECT_NE(out.find("/dev/pts/0\r\n31 101\r\ndone"), std::string::npos) << out;
}

TEST_F(Console, InputGoesThroughTheTerminal) {
  Bundle b({"sh", "-c", "read line; echo got:$line"});
  b.config["process"]["terminal"] = true;
  b.save();
  std::string id = new_id();
  CommandResult r;
  std::string name;
  UniqueFd master = hand_over(
      {"run", "-d", "--console-socket", socket_path_, "--bundle", b.dir(), id}, &r, &name);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(master);
  ASSERT_EQ(write(master.get(), "hello\n", 6), 6);
  std::string out = read_all(master.get());
  // The line discipline echoes the input, then the answer.
  EXPECT_NE(out.find("hello\r\ngot:hello"), std::string::npos) << out;
}

TEST_F(Console, ExecWithConsoleSocket) {
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"run", "-d", "--bundle", b.dir(), id}).exit_code, 0);
  CommandResult r;
  std::string name;
  UniqueFd master = hand_over(
      {"exec", "-t", "--console-socket", socket_path_, id, "sh", "-c", "tty; exit 3"}, &r, &name);
  // In the foreground, exec waits for the process and returns its exit code.
  ASSERT_EQ(r.exit_code, 3) << r.err;
  ASSERT_TRUE(master);
  std::string out = read_all(master.get());
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
}

TEST_F(Console, TerminalWithoutConsoleSocketIsRefused) {
  Bundle b({"true"});
  b.config["process"]["terminal"] = true;
  b.save();
  std::string id = new_id();
  auto r = skiff_.detached({"create", "--bundle", b.dir(), id});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("process.terminal"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--console-socket"), std::string::npos) << r.err;
  EXPECT_EQ(run({"ls", "-A", skiff_.root()}).out, "");
  EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  auto d = skiff_.detached({"run", "-d", "--bundle", b.dir(), new_id()});
  EXPECT_NE(d.exit_code, 0);
  EXPECT_NE(d.err.find("--console-socket"), std::string::npos) << d.err;
  // A socket nobody listens on: a clear error naming it.
  auto gone = skiff_.detached(
      {"create", "--console-socket", dir_ / "nobody.sock", "--bundle", b.dir(), new_id()});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("nobody.sock"), std::string::npos) << gone.err;
  EXPECT_EQ(run({"ls", "-A", skiff_.root()}).out, "");
}

}  // namespace
}  // namespace skiff::test
