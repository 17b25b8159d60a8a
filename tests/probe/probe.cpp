// skiff-probe: runs inside a container and prints, as one JSON object, what only the inside can
// see — identity, capabilities, fds, cwd, rlimits, seccomp, namespaces, mounts (youki's
// runtimetest idea). Static, so it runs in any rootfs.
//
//   skiff-probe [write PATH] [mknod PATH] [sleep N] ...  — optional actions, each reported:
//     write PATH, read PATH, mkdir PATH, chdir PATH, sleep N
//     mknod PATH            a char device 1:3;  mknod-dev PATH=MAJ:MIN  any char device
//     open-dev PATH         open(O_RDWR) of a device node
//     alloc MIB             malloc and touch MIB mebibytes (an OOM kill never reports)
//     fork N                fork N children that wait to be killed; "count" says how many forked
//     overwrite-exe PID     CVE-2019-5736 from the inside: open /proc/PID/exe, wait until PID
//                           execs something else (or exits), then try to write the held file
//     catch-exe COMM        the same for the first process whose comm becomes COMM (within 10 s):
//                           SIGSTOP it, hold its exe, SIGKILL it, then try to write
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

using nlohmann::json;

static std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

static json status_fields() {
  json j;
  std::istringstream in(slurp("/proc/self/status"));
  std::string line;
  for (const char* key : {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                          "NoNewPrivs", "Seccomp", "NSpid"}) {
    (void)key;
  }
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    if (k == "Uid" || k == "Gid" || k == "Groups" || k.rfind("Cap", 0) == 0 || k == "NoNewPrivs" ||
        k == "Seccomp" || k == "NSpid" || k == "PPid")
      j[k] = v;
  }
  return j;
}

static json fds() {
  json arr = json::array();
  if (DIR* d = opendir("/proc/self/fd")) {
    int self = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      int fd = atoi(e->d_name);
      if (fd == self) continue;
      char buf[4096];
      std::string p = std::string("/proc/self/fd/") + e->d_name;
      ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
      arr.push_back({{"fd", fd}, {"target", n > 0 ? std::string(buf, n) : ""}});
    }
    closedir(d);
  }
  return arr;
}

static json rlimits() {
  json j;
  struct {
    const char* name;
    int res;
  } table[] = {{"RLIMIT_NOFILE", RLIMIT_NOFILE},
               {"RLIMIT_NPROC", RLIMIT_NPROC},
               {"RLIMIT_CORE", RLIMIT_CORE},
               {"RLIMIT_STACK", RLIMIT_STACK}};
  for (auto& t : table) {
    struct rlimit rl;
    getrlimit(t.res, &rl);
    j[t.name] = {{"soft", (unsigned long long)rl.rlim_cur},
                 {"hard", (unsigned long long)rl.rlim_max}};
  }
  return j;
}

static json namespaces() {
  json j;
  for (const char* ns : {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup", "time"}) {
    char buf[256];
    std::string p = std::string("/proc/self/ns/") + ns;
    ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
    j[ns] = n > 0 ? std::string(buf, n) : "";
  }
  return j;
}

static double now_s() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static std::string exe_of(int pid) {
  char buf[4096];
  std::string p = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

// Tries to write to a file held open read-only through /proc/self/fd (the reopen trick of
// CVE-2019-5736). Fills rc/err with the result of the write attempt.
static void write_held(int fd, int* rc, int* err, json* detail) {
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  int w = open(path.c_str(), O_WRONLY | O_APPEND);
  if (w < 0) {
    *rc = -1;
    *err = errno;
    (*detail)["stage"] = "reopen";
    return;
  }
  *rc = (int)write(w, "pwned", 5);
  *err = errno;
  (*detail)["stage"] = "write";
  close(w);
}

static void overwrite_exe(int pid, int* rc, int* err, json* detail) {
  std::string before = exe_of(pid);
  std::string p = "/proc/" + std::to_string(pid) + "/exe";
  int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *rc = -1;
    *err = errno;
    (*detail)["stage"] = "open";
    return;
  }
  (*detail)["held"] = before;
  for (double end = now_s() + 10; now_s() < end && exe_of(pid) == before;) usleep(5000);
  (*detail)["after"] = exe_of(pid);
  write_held(fd, rc, err, detail);
  close(fd);
}

static void catch_exe(const std::string& comm, int* rc, int* err, json* detail) {
  *rc = -1;
  *err = ESRCH;
  (*detail)["stage"] = "catch";
  for (double end = now_s() + 10; now_s() < end;) {
    DIR* d = opendir("/proc");
    if (!d) return;
    int found = 0;
    while (dirent* e = readdir(d)) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == getpid()) continue;
      std::string c = slurp("/proc/" + std::to_string(pid) + "/comm");
      if (c == comm + "\n") {
        found = pid;
        break;
      }
    }
    closedir(d);
    if (!found) continue;
    kill(found, SIGSTOP);
    std::string p = "/proc/" + std::to_string(found) + "/exe";
    int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *err = errno;
      (*detail)["stage"] = "open";
      kill(found, SIGKILL);
      continue;  // it may have exec'd already; try the next one
    }
    (*detail)["held"] = exe_of(found);
    kill(found, SIGKILL);
    // Gone (not our child: reaped by its parent) or at least no longer running the file.
    for (double stop = now_s() + 5; now_s() < stop && kill(found, 0) == 0;) usleep(2000);
    write_held(fd, rc, err, detail);
    close(fd);
    return;
  }
}

int main(int argc, char** argv) {
  json out;
  out["pid"] = getpid();
  char cwd[4096];
  out["cwd"] = getcwd(cwd, sizeof cwd) ? cwd : std::string("error: ") + strerror(errno);
  struct utsname u;
  uname(&u);
  out["hostname"] = u.nodename;
  out["domainname"] = u.domainname;
  out["machine"] = u.machine;
  out["status"] = status_fields();
  out["fds"] = fds();
  out["rlimits"] = rlimits();
  out["namespaces"] = namespaces();
  out["umask"] = [] {
    mode_t m = umask(0);
    umask(m);
    return (int)m;
  }();
  out["no_new_privs"] = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  out["mountinfo"] = slurp("/proc/self/mountinfo");
  out["cgroup"] = slurp("/proc/self/cgroup");
  json env = json::array();
  for (char** e = environ; *e; ++e) env.push_back(*e);
  out["env"] = env;
  json actions = json::array();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string op = argv[i], arg = argv[i + 1];
    int rc = 0, err = 0;
    json detail;
    if (op == "write") {
      int fd = open(arg.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      rc = fd >= 0 ? (int)write(fd, "x", 1) : -1;
      err = errno;
      if (fd >= 0) close(fd);
    } else if (op == "read") {
      int fd = open(arg.c_str(), O_RDONLY);
      rc = fd;
      err = errno;
      if (fd >= 0) close(fd);
    } else if (op == "mknod") {
      rc = mknod(arg.c_str(), S_IFCHR | 0600, makedev(1, 3));
      err = errno;
    } else if (op == "mknod-dev") {
      auto eq = arg.find('='), colon = arg.find(':');
      unsigned maj = atoi(arg.substr(eq + 1, colon).c_str()),
               mnr = atoi(arg.substr(colon + 1).c_str());
      rc = mknod(arg.substr(0, eq).c_str(), S_IFCHR | 0600, makedev(maj, mnr));
      err = errno;
    } else if (op == "open-dev") {
      int fd = open(arg.c_str(), O_RDWR);
      rc = fd;
      err = errno;
      if (fd >= 0) close(fd);
    } else if (op == "alloc") {
      size_t n = (size_t)atoi(arg.c_str()) << 20;
      char* mem = (char*)malloc(n);
      rc = mem ? 0 : -1;
      err = errno;
      if (mem) memset(mem, 1, n);
      detail["touched"] = mem ? mem[n - 1] : 0;
    } else if (op == "fork") {
      int n = atoi(arg.c_str()), count = 0;
      for (int k = 0; k < n; ++k) {
        pid_t child = fork();
        if (child == 0) {
          pause();
          _exit(0);
        }
        if (child < 0) {
          rc = -1;
          err = errno;
          break;
        }
        ++count;
      }
      detail["count"] = count;
    } else if (op == "overwrite-exe") {
      overwrite_exe(atoi(arg.c_str()), &rc, &err, &detail);
    } else if (op == "catch-exe") {
      catch_exe(arg, &rc, &err, &detail);
    } else if (op == "mkdir") {
      rc = mkdir(arg.c_str(), 0755);
      err = errno;
    } else if (op == "sleep") {
      sleep(atoi(arg.c_str()));
    } else if (op == "chdir") {
      rc = chdir(arg.c_str());
      err = errno;
    }
    json a = {{"op", op}, {"arg", arg}, {"rc", rc}, {"errno", rc < 0 ? err : 0}};
    if (!detail.is_null()) a["detail"] = detail;
    actions.push_back(a);
  }
  out["actions"] = actions;
  printf("%s\n", out.dump().c_str());
  return 0;
}
