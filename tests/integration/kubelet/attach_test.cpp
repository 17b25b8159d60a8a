// kubectl attach's shim side on real pods (kubelet/shim/shim.hpp): the kubelet's client
// (shim_attach) gets a stdin+tty busybox sh's pty master and the pipe of its output from then on;
// input written there runs in the shell; a resize after start (TIOCSWINSZ on the master) is what
// `stty size` in the running shell prints next; a stdinOnce container's stdin closes when its
// session ends (cat ends); attach to an unknown container is refused; nothing left.

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "kubelet/shim/shim.hpp"
#include "tests/integration/kubelet/pod_fixture.hpp"

namespace skiff::test {
namespace {

using namespace std::chrono_literals;

constexpr char kAttachBridge[] = "skattach0";
constexpr char kAttachSubnet[] = "10.219.0.0/24";

class AttachTest : public PodFixture<kAttachBridge, kAttachSubnet> {
 protected:
  std::string shim_socket() const {
    return std::string(trim(sh("ls " + dir_ / "run/pods/*/shim.sock").out));
  }
  // Reads `fd` until `want` appears (or 5 s pass); everything read.
  static std::string read_until(int fd, const std::string& want) {
    std::string got;
    auto end = std::chrono::steady_clock::now() + 5s;
    while (got.find(want) == std::string::npos && std::chrono::steady_clock::now() < end) {
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

TEST_F(AttachTest, TtyInputResizeAndStdinOnce) {
  auto file = write_pod("att", R"Y(apiVersion: v1
kind: Pod
metadata: {name: att}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: term
    image: busybox:1.35
    stdin: true
    tty: true
    command: [sh]
  - name: once
    image: busybox:1.35
    stdin: true
    stdinOnce: true
    command: [sh, -c, 'cat; echo stdin-closed; sleep 600']
  - name: plain
    image: busybox:1.35
    command: [sleep, '600']
)Y");
  ASSERT_EQ(pod({"run", "--detach", file}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] {
    auto s = status("att");
    for (const char* c : {"term", "once", "plain"})
      if (!container(s, c)["state"].contains("running")) return false;
    return true;
  }));
  std::string sock = shim_socket();
  ASSERT_FALSE(sock.empty());

  {  // the tty: input, then two sizes set while the shell runs
    auto a = kubelet::shim_attach(sock, "term", true);
    ASSERT_TRUE(a) << a.error().what();
    EXPECT_TRUE(a->tty);
    ASSERT_TRUE(a->in && a->out);
    EXPECT_FALSE(a->err);  // a tty has one output
    for (auto [rows, cols] : {std::pair{33, 120}, std::pair{10, 50}}) {
      struct winsize ws {};
      ws.ws_row = static_cast<unsigned short>(rows);
      ws.ws_col = static_cast<unsigned short>(cols);
      ASSERT_EQ(ioctl(a->in.get(), TIOCSWINSZ, &ws), 0);
      std::string cmd = "stty size; echo done-$((" + std::to_string(rows) + "+1))\n";
      ASSERT_EQ(::write(a->in.get(), cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
      std::string want = "done-" + std::to_string(rows + 1);
      std::string out = read_until(a->out.get(), want);
      EXPECT_NE(out.find(cat(rows, " ", cols, "\r\n")), std::string::npos) << out;
      EXPECT_NE(out.find(want), std::string::npos) << out;
    }
  }
  // Without stdin: true there is no input to have; output only.
  auto plain = kubelet::shim_attach(sock, "plain", true);
  ASSERT_TRUE(plain) << plain.error().what();
  EXPECT_FALSE(plain->in);
  EXPECT_TRUE(plain->out && plain->err);
  auto none = kubelet::shim_attach(sock, "ghost", false);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().what(), "container \"ghost\" is not running");

  {  // stdinOnce: the first session's input, then EOF when it ends
    auto a = kubelet::shim_attach(sock, "once", true);
    ASSERT_TRUE(a) << a.error().what();
    EXPECT_FALSE(a->tty);
    ASSERT_TRUE(a->in && a->out && a->err);
    ASSERT_EQ(::write(a->in.get(), "via-attach\n", 11), 11);
    EXPECT_NE(read_until(a->out.get(), "via-attach").find("via-attach"), std::string::npos);
    a->in.reset();  // our copy: the container's stdin stays open while the session lasts
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(pod({"logs", "att", "-c", "once"}).out, "via-attach\n");
  }  // the session ends (conn closed)
  ASSERT_TRUE(wait_until([&] {
    return pod({"logs", "att", "-c", "once"}).out == "via-attach\nstdin-closed\n";
  })) << pod({"logs", "att", "-c", "once"}).out;

  ASSERT_EQ(pod({"rm", "-f", "att"}).exit_code, 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace skiff::test
