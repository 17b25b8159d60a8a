#pragma once
// A real skiff-master on 127.0.0.1:<free port> with a temporary data dir, bootstrap tokens made
// by `skiff-master token create`, an admin API client, and background processes (the master,
// kubelets) killed at the end. No root needed for the join and the Node; pods need root.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/fs.hpp"
#include "kubelet/node/api_client.hpp"
#include "tests/support/test_util.hpp"

namespace skiff::test {

// A background process; SIGKILLed and reaped when destroyed. Output goes to `log`.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      setpgid(0, 0);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Process() { kill_now(); }
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits up to `timeout`; the exit status, or -1 if it is still running.
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, sig);
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class MasterFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    master_bin_ = binary("master/skiff-master");
    kubelet_bin_ = binary("kubelet/skiff-kubelet");
    if (!path_exists(master_bin_) || !path_exists(kubelet_bin_))
      GTEST_SKIP() << "skiff-master or skiff-kubelet not built";
    port_ = free_port();
    url_ = "https://127.0.0.1:" + std::to_string(port_);
    data_ = dir_ / "master";
    std::vector<std::string> argv{master_bin_,
                                  "--data-dir",
                                  data_,
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port_),
                                  "--node-monitor-grace-period",
                                  grace_};
    argv.insert(argv.end(), master_args_.begin(), master_args_.end());
    master_ = std::make_unique<Process>(argv, dir_ / "master.log");
    for (int i = 0; i < 200 && !path_exists(data_ + "/server-url"); i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ASSERT_TRUE(path_exists(data_ + "/server-url")) << read_file(dir_ / "master.log");
    kubelet::node::ClientConfig cc;
    cc.server = url_;
    cc.ca_pem = read_file(data_ + "/pki/ca.crt");
    cc.cert_pem = read_file(data_ + "/pki/admin.crt");
    cc.key_pem = read_file(data_ + "/pki/admin.key");
    auto admin = kubelet::node::ApiClient::create(cc);
    ASSERT_TRUE(admin.ok()) << admin.error().what();
    admin_ = std::move(*admin);
  }

  struct Token {
    std::string token, hash;
  };
  // `skiff-master token create`, parsed.
  Token create_token() {
    auto r = run({master_bin_, "token", "create", "--data-dir", data_, "--ttl", "1h"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Token t;
    auto at = r.out.find("--token ");
    auto hat = r.out.find("--ca-cert-hash ");
    if (at == std::string::npos || hat == std::string::npos) return t;
    t.token = r.out.substr(at + 8, 23);
    t.hash = std::string(trim(r.out.substr(hat + 15)));
    return t;
  }

  std::string grace_ = "10m";             // the master's --node-monitor-grace-period
  std::vector<std::string> master_args_;  // more flags for the master
  TempDir dir_{"kubelet-node-it"};
  std::string master_bin_, kubelet_bin_, url_, data_;
  int port_ = 0;
  std::unique_ptr<Process> master_;
  std::unique_ptr<kubelet::node::ApiClient> admin_;
};

}  // namespace skiff::test
