#pragma once
// A real etcd for tests: started once per test binary on free loopback ports (data on tmpfs when
// there is one), killed with the binary. Tests share it and keep apart by key prefix.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "common/strings.hpp"
#include "master/store/etcd_backend.hpp"

namespace skiff::master::etcdtest {

inline uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline std::string find_etcd() {
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"})
    if (access(p, X_OK) == 0) return p;
  return {};
}

class EtcdProcess {
 public:
  // The binary's etcd (started on first use); check skip_reason() first.
  static EtcdProcess& shared() {
    static EtcdProcess e;
    return e;
  }
  const std::string& skip_reason() const { return skip_; }
  const std::string& url() const { return url_; }
  // A key prefix no other test in this run uses.
  std::string unique_prefix() {
    static std::atomic<int> n{0};
    return cat("/t", getpid(), "-", n++);
  }
  std::unique_ptr<EtcdBackend> backend(const std::string& prefix) {
    auto eps = parse_etcd_endpoints(url_);
    auto b = EtcdBackend::open(*eps, prefix);
    return b.ok() ? std::move(*b) : nullptr;
  }
  ~EtcdProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

 private:
  EtcdProcess() {
    std::string bin = find_etcd();
    if (bin.empty()) {
      skip_ = "etcd is not installed (Debian: etcd-server)";
      return;
    }
    std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    dir_ = cat(base, "/skiff-etcd-test-", getpid());
    std::filesystem::create_directories(dir_);
    uint16_t client = free_port(), peer = free_port();
    url_ = cat("http://127.0.0.1:", client);
    std::string peer_url = cat("http://127.0.0.1:", peer);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int log = open((dir_ + "/etcd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, 1);
      dup2(log, 2);
      execl(bin.c_str(), "etcd", "--name", "skiff-test", "--data-dir", (dir_ + "/data").c_str(),
            "--listen-client-urls", url_.c_str(), "--advertise-client-urls", url_.c_str(),
            "--listen-peer-urls", peer_url.c_str(), "--initial-advertise-peer-urls",
            peer_url.c_str(), "--initial-cluster", ("skiff-test=" + peer_url).c_str(),
            "--log-level", "error", nullptr);
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (backend("/probe")) return;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    skip_ = cat("etcd did not start (see ", dir_, "/etcd.log)");
  }
  std::string skip_, url_, dir_;
  pid_t pid_ = -1;
};

}  // namespace skiff::master::etcdtest
