// skiff-probe: runs inside a container and prints, as one JSON object, what only the inside can
// see — identity, capabilities, fds, cwd, rlimits, seccomp, namespaces, mounts (youki's
// runtimetest idea). Static, so it runs in any rootfs.
//
//   skiff-probe [write PATH] [mknod PATH] [sleep N] ...  — optional actions, each reported.
#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
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
    } else if (op == "mkdir") {
      rc = mkdir(arg.c_str(), 0755);
      err = errno;
    } else if (op == "sleep") {
      sleep(atoi(arg.c_str()));
    } else if (op == "chdir") {
      rc = chdir(arg.c_str());
      err = errno;
    }
    actions.push_back({{"op", op}, {"arg", arg}, {"rc", rc}, {"errno", rc < 0 ? err : 0}});
  }
  out["actions"] = actions;
  printf("%s\n", out.dump().c_str());
  return 0;
}
