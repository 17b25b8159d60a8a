// One test per class of container-escape CVE, each proving the defence through the real binary:
// the runtime binary cannot be overwritten from a container (CVE-2019-5736), no fd or cwd of the
// runtime reaches the container (CVE-2024-21626), mount targets are resolved inside the rootfs
// (CVE-2021-30465), /proc cannot be faked (CVE-2019-16884, CVE-2019-19921); and the state dir is
// private to root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "runtime/linux/self_exe.hpp"
#include "tests/support/runtime_fixture.hpp"

extern char** environ;

namespace skiff::test {
namespace {

namespace fs = std::filesystem;

// The whole content of an open file (pread: the offset is not ours to move).
std::string read_fd_content(int fd) {
  std::string out;
  char buf[1 << 16];
  for (off_t off = 0;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

// Holds the skiff binary open: a rebuild replaces the path with a new inode, but an attack
// would change this one.
class BinaryGuard {
 public:
  BinaryGuard() : fd_(open(Skiff::binary_path().c_str(), O_RDONLY | O_CLOEXEC)) {
    content_ = read_fd_content(fd_);
  }
  ~BinaryGuard() { close(fd_); }
  bool unchanged() const { return !content_.empty() && read_fd_content(fd_) == content_; }

 private:
  int fd_;
  std::string content_;
};

// Copies the dynamic loader and the libraries of the skiff binary into a rootfs (at their host
// paths), so that the binary can run inside the container — as runc could in the CVE's images.
void install_skiff_libraries(const std::string& rootfs) {
  auto ldd = run({"ldd", Skiff::binary_path()});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  std::istringstream lines(ldd.out);
  std::string line;
  while (std::getline(lines, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;  // linux-vdso
    std::string path = line.substr(slash, line.find(' ', slash) - slash);
    fs::create_directories(rootfs + fs::path(path).parent_path().string());
    fs::copy_file(path, rootfs + path, fs::copy_options::overwrite_existing);
  }
}

class Security : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIFF_REQUIRE_ROOT();
    before_ = HostSnapshot::take();
  }
  void TearDown() override {
    if (!is_root()) return;
    for (const auto& id : ids_) skiff_({"delete", "--force", id});
    EXPECT_EQ(diff(before_, HostSnapshot::take()), "");
  }
  std::string new_id() {
    ids_.push_back(unique_id("sec"));
    return ids_.back();
  }
  // Waits for a file the container writes (a JSON line) and parses it.
  static json wait_for_report(const std::string& path, int timeout_ms = 12000) {
    json j;
    wait_until(
        [&] {
          j = probe_report(read_file(path));
          return j.is_object();
        },
        timeout_ms);
    return j;
  }

  Skiff skiff_;
  HostSnapshot before_;
  std::vector<std::string> ids_;
};

// --- CVE-2019-5736: overwriting the runtime binary through /proc/<pid>/exe ----------------

TEST_F(Security, CreatedInitsExeIsAReadOnlyViewOfTheBinary) {
  BinaryGuard binary;
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  int pid = skiff_.state(id)["pid"];
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  // The init waits on the exec fifo: it is still skiff.
  ASSERT_EQ(read_file("/proc/" + std::to_string(pid) + "/comm"), "skiff\n");

  int fd = open(exe.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct statfs sfs;
  ASSERT_EQ(fstatfs(fd, &sfs), 0);
  int seals = fcntl(fd, F_GET_SEALS);
  bool overlay = sfs.f_type == OVERLAYFS_SUPER_MAGIC;
  bool sealed_memfd = seals >= 0 && (seals & F_SEAL_WRITE);
  EXPECT_TRUE(overlay || sealed_memfd) << "f_type " << std::hex << sfs.f_type << " seals " << seals;

  // Neither the link nor a reopen of the held fd (the exploit's trick) gives a writable file.
  for (const std::string& path : {exe, "/proc/self/fd/" + std::to_string(fd)}) {
    int w = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
      errno = 0;
      EXPECT_LT(write(w, "x", 1), 0) << path << " opened and written";
      EXPECT_EQ(errno, EPERM) << path;
      close(w);
    } else {
      EXPECT_TRUE(errno == EROFS || errno == EPERM) << path << ": " << strerror(errno);
    }
  }
  close(fd);
  EXPECT_TRUE(binary.unchanged());
}

// A process in the container holds the created init's exe (pid 1, still skiff, same uid and
// capabilities as the container's processes), and writes through it once the init has exec'd
// the user process — the CVE's exact sequence.
// Every way to the sealed view works on this kernel (the best one per kernel is picked at run
// time): the fd is read-only for good, and what it holds still runs — also the memfd copy, which
// keeps only the loaded part of the ELF file.
TEST_F(Security, EverySealMethodGivesARunnableReadOnlyBinary) {
  using runtime::linux::SealMethod;
  struct utsname u;
  uname(&u);
  for (auto method :
       {SealMethod::kOverlayDetached, SealMethod::kOverlayAttached, SealMethod::kMemfd}) {
    SCOPED_TRACE(static_cast<int>(method));
    auto fd = runtime::linux::seal_binary(Skiff::binary_path(), method);
    if (method == SealMethod::kOverlayDetached) {
      // reexec_sealed() skips the detached attempt by version: that must be what the kernel does.
      EXPECT_EQ(fd.ok(), runtime::linux::kernel_takes_detached_lowers())
          << u.release << ": " << (fd ? "" : fd.error().what());
    }
    if (!fd && method == SealMethod::kOverlayDetached) {
      std::cout << "detached overlay lowers need Linux 6.15+ (this is " << u.release
                << "): " << fd.error().what() << "\n";
      continue;
    }
    ASSERT_TRUE(fd.ok()) << fd.error().what();
    std::string link = "/proc/self/fd/" + std::to_string(fd->get());
    // An overlay refuses the open; a write-sealed memfd opens but refuses every write.
    int w = open(link.c_str(), O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
      errno = 0;
      EXPECT_LT(write(w, "x", 1), 0);
      close(w);
    }
    EXPECT_TRUE(errno == EROFS || errno == EPERM || errno == ETXTBSY) << strerror(errno);
    int out[2];
    ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], 1);
      const char* argv[] = {"skiff", "--version", nullptr};
      syscall(SYS_execveat, fd->get(), "", argv, environ, AT_EMPTY_PATH);
      _exit(127);
    }
    close(out[1]);
    std::string text;
    char buf[512];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_NE(text.find("skiff"), std::string::npos) << text;
  }
}

TEST_F(Security, ContainerCannotRewriteTheInitsBinaryAfterStart) {
  BinaryGuard binary;
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  // In the foreground (a thread), so that skiff exec reaps the attacker: an orphan would wait
  // for the host's init to reap it, and the container's pid namespace with it.
  CommandResult attack;
  std::thread attacker([&] {
    attack = skiff_({"exec", id, "/bin/skiff-probe", "overwrite-exe", "1"});
  });
  bool holding = wait_until([&] {
    auto ps = skiff_({"ps", "--format", "json", id});
    return ps.exit_code == 0 && json::parse(ps.out, nullptr, false).size() == 2;
  });
  usleep(50000);  // the probe opens /proc/1/exe first thing, while the init is still skiff
  auto start = skiff_({"start", id});
  attacker.join();
  ASSERT_TRUE(holding);
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_EQ(attack.exit_code, 0) << attack.err;
  auto j = probe_report(attack.out);
  ASSERT_TRUE(j.is_object()) << attack.out;
  auto a = j["actions"][0];
  ASSERT_NE(a["detail"]["stage"], "open") << "could not even open /proc/1/exe: " << a.dump();
  EXPECT_NE(a["detail"]["after"], a["detail"]["held"]) << "the init never exec'd: " << a.dump();
  EXPECT_LT(a["rc"].get<int>(), 0) << "wrote into the held binary: " << a.dump();
  EXPECT_TRUE(a["errno"] == EROFS || a["errno"] == EPERM) << a.dump();
  EXPECT_TRUE(binary.unchanged());
}

// `#!/proc/self/exe`: the exec'd file makes the kernel run the runtime's own binary as the
// interpreter, with the container's credentials; the container catches that process, holds its
// exe, kills it and writes.
TEST_F(Security, SelfExeInterpreterTrickCannotRewriteTheBinary) {
  BinaryGuard binary;
  Bundle b({"sh", "-c", "/bin/skiff-probe catch-exe evil > /tmp/attack; sleep 60"});
  write_file(b.rootfs() + "/bin/evil", "#!/proc/self/exe\n");
  chmod((b.rootfs() + "/bin/evil").c_str(), 0755);
  install_skiff_libraries(b.rootfs());
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"run", "-d", "--bundle", b.dir(), id}).exit_code, 0);
  json j;
  for (int attempt = 0; attempt < 30 && !j.is_object(); ++attempt) {
    skiff_({"exec", id, "/bin/evil"});
    j = probe_report(read_file(b.rootfs() + "/tmp/attack"));
  }
  if (!j.is_object()) j = wait_for_report(b.rootfs() + "/tmp/attack");
  ASSERT_TRUE(j.is_object()) << "no report from the attacker";
  auto a = j["actions"][0];
  if (a["detail"]["stage"] == "catch" || a["detail"]["stage"] == "open")
    GTEST_SKIP() << "the attacker never held the interpreter's exe in 30 tries: " << a.dump();
  EXPECT_LT(a["rc"].get<int>(), 0) << "wrote into the held binary: " << a.dump();
  EXPECT_TRUE(a["errno"] == EROFS || a["errno"] == EPERM) << a.dump();
  EXPECT_TRUE(binary.unchanged());
}

// --- CVE-2024-21626: leaked fds and a cwd outside the root ----------------------------------

class LeakedFdCwd : public Security, public ::testing::WithParamInterface<int> {};

// process.cwd "/proc/self/fd/N": were any fd of the runtime (a cgroup dir, the state dir) open
// in the init at chdir time, the process would start outside the container's root.
TEST_P(LeakedFdCwd, CreateFailsOrStaysInside) {
  Bundle b({"/bin/skiff-probe"});
  std::string cwd = "/proc/self/fd/" + std::to_string(GetParam());
  b.config["process"]["cwd"] = cwd;
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  if (r.exit_code != 0) {
    // The init's own error, naming the field (not a broken pipe from the runtime).
    EXPECT_NE(r.err.find("process.cwd `" + cwd + "`"), std::string::npos) << r.err;
    return;
  }
  auto j = probe_report(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  std::string got = j["cwd"];
  EXPECT_EQ(got.substr(0, 1), "/") << got;
  EXPECT_EQ(got.find("unreachable"), std::string::npos) << got;
  EXPECT_EQ(j["fds"].size(), 3u) << j["fds"].dump();
}

INSTANTIATE_TEST_SUITE_P(Fds3To15, LeakedFdCwd, ::testing::Range(3, 16));

TEST_F(Security, ExecCwdThroughProcSelfFdStaysInside) {
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"run", "-d", "--bundle", b.dir(), id}).exit_code, 0);
  for (int n = 3; n <= 15; ++n) {
    std::string cwd = "/proc/self/fd/" + std::to_string(n);
    auto r = skiff_({"exec", "--cwd", cwd, id, "/bin/skiff-probe"});
    if (r.exit_code != 0) {
      EXPECT_NE(r.err.find("process.cwd `" + cwd + "`"), std::string::npos) << r.err;
      continue;
    }
    auto j = probe_report(r.out);
    ASSERT_TRUE(j.is_object()) << r.out;
    std::string got = j["cwd"];
    EXPECT_EQ(got.substr(0, 1), "/") << cwd << " -> " << got;
    EXPECT_EQ(got.find("unreachable"), std::string::npos) << cwd << " -> " << got;
  }
}

TEST_F(Security, NoRuntimeFdReachesTheContainer) {
  Bundle b({"/bin/skiff-probe"});
  // A terminal-less run with stdio from the test: exactly 0, 1, 2 — no cgroup dir, state dir,
  // sync socket or exec fifo of skiff.
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = probe_report(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  std::vector<int> fds;
  for (const auto& fd : j["fds"]) fds.push_back(fd["fd"]);
  EXPECT_EQ(fds, std::vector<int>({0, 1, 2})) << j["fds"].dump();

  // The same for create + start (the exec fifo path) and for exec.
  Bundle sleeper({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", sleeper.dir(), id}).exit_code, 0);
  ASSERT_EQ(skiff_({"start", id}).exit_code, 0);
  int pid = skiff_.state(id)["pid"];
  std::vector<std::string> init_fds;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    init_fds.push_back(e.path().filename());
  std::sort(init_fds.begin(), init_fds.end());
  EXPECT_EQ(init_fds, std::vector<std::string>({"0", "1", "2"}));
  auto e = skiff_({"exec", id, "/bin/skiff-probe"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto ej = probe_report(e.out);
  EXPECT_EQ(ej["fds"].size(), 3u) << ej["fds"].dump();
}

// --- CVE-2021-30465: symlinks in mount targets ----------------------------------------------

// /data is a symlink in the image that climbs out to a host directory: the bind mount must land
// inside the rootfs (where the link points from inside the container), never on the host dir.
TEST_F(Security, MountTargetSymlinkCannotEscapeTheRootfs) {
  TempDir host_target("skiff-victim");
  TempDir source("skiff-source");
  write_file(source / "from-source", "src");
  Bundle b({"sh", "-c", "cat /data/from-source; echo; echo hi > /data/written"});
  fs::create_symlink("/../../../../.." + host_target.path(), b.rootfs() + "/data");
  b.config["mounts"].push_back({{"destination", "/data"},
                                {"type", "bind"},
                                {"source", source.path()},
                                {"options", {"rbind"}}});
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "src\n");
  EXPECT_TRUE(fs::is_empty(host_target.path())) << "the host dir got the mount or the file";
  EXPECT_EQ(read_file(source / "written"), "hi\n");
  EXPECT_TRUE(fs::is_directory(b.rootfs() + host_target.path()));
  EXPECT_EQ(read_file("/proc/self/mountinfo").find(host_target.path()), std::string::npos);
}

// A link that names the rootfs by its host path: followed on the host it is the container's
// own /etc, which a naive runtime would cover with the volume.
TEST_F(Security, MountTargetSymlinkIsResolvedInTheRoot) {
  TempDir source("skiff-source");
  write_file(source / "from-source", "src");
  Bundle b({"sh", "-c", "grep -c root /etc/passwd; cat /data/from-source"});
  fs::create_symlink("/../../../.." + b.rootfs() + "/etc", b.rootfs() + "/data");
  b.config["mounts"].push_back({{"destination", "/data"},
                                {"type", "bind"},
                                {"source", source.path()},
                                {"options", {"rbind"}}});
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\nsrc") << "the volume covered the container's /etc";
}

TEST_F(Security, DotDotInMountDestinationStaysInside) {
  TempDir host_target("skiff-victim");
  TempDir source("skiff-source");
  write_file(source / "from-source", "src");
  std::string dest = "/data/../../../../.." + host_target.path();
  Bundle b({"sh", "-c", "cat " + host_target.path() + "/from-source"});
  b.config["mounts"].push_back(
      {{"destination", dest}, {"type", "bind"}, {"source", source.path()}, {"options", {"rbind"}}});
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "src");
  EXPECT_TRUE(fs::is_empty(host_target.path()));
  EXPECT_TRUE(fs::exists(b.rootfs() + host_target.path()));
  EXPECT_EQ(read_file("/proc/self/mountinfo").find(host_target.path()), std::string::npos);
}

// --- CVE-2019-16884 / CVE-2019-19921: a fake /proc --------------------------------------------

TEST_F(Security, ProcSymlinkInTheImageIsRefused) {
  Bundle b({"true"});
  fs::remove(b.rootfs() + "/proc");
  fs::create_directory(b.rootfs() + "/fakeproc");
  fs::create_symlink("/fakeproc", b.rootfs() + "/proc");
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/proc"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("proc is not a directory"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(b.rootfs() + "/fakeproc")) << "something was mounted on the fake";
  EXPECT_EQ(run({"ls", "-A", skiff_.root()}).out, "");
}

// A volume over /proc/sys: the default readonlyPaths entry would protect the volume instead of
// procfs, and sysctl writes would go to it.
TEST_F(Security, ReadonlyPathOffProcfsIsRefused) {
  TempDir fake("skiff-fakesys");
  fs::create_directory(fake / "kernel");
  Bundle b({"true"});
  b.config["mounts"].push_back({{"destination", "/proc/sys"},
                                {"type", "bind"},
                                {"source", fake.path()},
                                {"options", {"rbind"}}});
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("linux.readonlyPaths"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not on a real procfs"), std::string::npos) << r.err;
  EXPECT_EQ(run({"ls", "-A", skiff_.root()}).out, "");
}

TEST_F(Security, MaskedPathOffProcfsIsRefused) {
  TempDir fake("skiff-fakesys");
  fs::create_directory(fake / "kernel");
  Bundle b({"true"});
  b.config["mounts"].push_back({{"destination", "/proc/sys"},
                                {"type", "bind"},
                                {"source", fake.path()},
                                {"options", {"rbind"}}});
  b.config["linux"]["readonlyPaths"] = json::array();
  b.config["linux"]["maskedPaths"] = {"/proc/sys/kernel"};
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("linux.maskedPaths"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not on a real procfs"), std::string::npos) << r.err;
}

TEST_F(Security, NonProcMountOverProcIsRefused) {
  TempDir fake("skiff-fakeproc");
  fs::create_directories(fake / "self/fd");
  Bundle b({"true"});
  for (auto& m : b.config["mounts"])
    if (m["destination"] == "/proc")
      m = {{"destination", "/proc"},
           {"type", "bind"},
           {"source", fake.path()},
           {"options", {"rbind"}}};
  b.save();
  auto r = skiff_({"run", "--bundle", b.dir(), new_id()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("procfs"), std::string::npos) << r.err;
  EXPECT_EQ(run({"ls", "-A", skiff_.root()}).out, "");
}

// --- The state dir ---------------------------------------------------------------------------

TEST_F(Security, StateDirIsPrivateToRoot) {
  Bundle b({"sleep", "60"});
  std::string id = new_id();
  ASSERT_EQ(skiff_.detached({"create", "--bundle", b.dir(), id}).exit_code, 0);
  auto mode = [](const std::string& path) {
    struct stat st;
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
    return st;
  };
  std::string dir = skiff_.root() + "/" + id;
  EXPECT_EQ(mode(skiff_.root()).st_mode & 07777, 0700u);
  EXPECT_EQ(mode(dir).st_mode & 07777, 0700u);
  auto state = mode(dir + "/state.json");
  EXPECT_EQ(state.st_mode & 07777, 0600u);
  EXPECT_EQ(state.st_uid, 0u);
  // runc makes the fifo 0622 (any user may write, no one else may read: `start` needs only a
  // write); within a 0700 dir a stricter mode is fine, a readable one is not.
  auto fifo = mode(dir + "/exec.fifo");
  EXPECT_TRUE(S_ISFIFO(fifo.st_mode));
  EXPECT_EQ(fifo.st_mode & 0600, 0600u);
  EXPECT_EQ(fifo.st_mode & 0155, 0u) << std::oct << (fifo.st_mode & 07777);
  ASSERT_EQ(skiff_({"start", id}).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir + "/exec.fifo")) << "start removes the fifo";
  EXPECT_EQ(mode(dir + "/state.json").st_mode & 07777, 0600u);
}

}  // namespace
}  // namespace skiff::test
