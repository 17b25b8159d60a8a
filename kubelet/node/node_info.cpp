#include "kubelet/node/node_info.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace skiff::kubelet::node {

namespace {

int64_t mem_total_bytes() {
  auto text = read_file("/proc/meminfo");
  if (!text) return 0;
  for (const auto& line : split(*text, '\n')) {
    if (!line.starts_with("MemTotal:")) continue;
    auto parts = split(line, ' ', true);
    if (parts.size() >= 2) return parse_int<int64_t>(parts[1]).value_or(0) * 1024;
  }
  return 0;
}

std::string os_image() {
  auto text = read_file("/etc/os-release");
  if (!text) return "Linux";
  for (const auto& line : split(*text, '\n'))
    if (line.starts_with("PRETTY_NAME=")) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  return "Linux";
}

std::string machine_id() {
  auto id = read_file("/etc/machine-id");
  return id ? std::string(trim(*id)) : "";
}

}  // namespace

Json node_status(const NodeFacts& f, const std::string& now, const NodePressure& p) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int64_t mem = mem_total_bytes();
  int64_t storage = 0;
  struct statvfs vfs {};
  if (!f.storage_dir.empty() && statvfs(f.storage_dir.c_str(), &vfs) == 0)
    storage = static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
  int64_t cpu_alloc = std::max<int64_t>(0, cpus * 1000 - f.reserved_cpu_milli);
  int64_t mem_alloc = std::max<int64_t>(0, mem - f.reserved_memory);
  Json capacity = {{"cpu", std::to_string(cpus)},
                   {"memory", cat(mem / 1024, "Ki")},
                   {"pods", std::to_string(f.max_pods)},
                   {"ephemeral-storage", cat(storage / 1024, "Ki")}};
  Json allocatable = capacity;
  allocatable["cpu"] =
      cpu_alloc % 1000 == 0 ? std::to_string(cpu_alloc / 1000) : cat(cpu_alloc, "m");
  allocatable["memory"] = cat(mem_alloc / 1024, "Ki");
  struct utsname u {};
  uname(&u);
  Json addresses = Json::array();
  if (!f.ip.empty()) addresses.push_back({{"type", "InternalIP"}, {"address", f.ip}});
  addresses.push_back(
      {{"type", "Hostname"}, {"address", f.hostname.empty() ? f.name : f.hostname}});
  auto cond = [&](const char* type, const char* status, const char* reason, const char* msg) {
    return Json{{"type", type},   {"status", status},         {"reason", reason},
                {"message", msg}, {"lastHeartbeatTime", now}, {"lastTransitionTime", now}};
  };
  return {
      {"capacity", capacity},
      {"allocatable", allocatable},
      {"addresses", addresses},
      {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
      {"nodeInfo",
       {{"machineID", machine_id()},
        {"systemUUID", machine_id()},
        {"bootID", std::string(trim(read_file("/proc/sys/kernel/random/boot_id").value_or("")))},
        {"kernelVersion", u.release},
        {"osImage", os_image()},
        {"containerRuntimeVersion", "skiff://" + f.version},
        {"kubeletVersion", "v1.20.0-skiff"},
        {"kubeProxyVersion", ""},
        {"operatingSystem", "linux"},
        {"architecture", std::string(u.machine) == "x86_64" ? "amd64" : u.machine}}},
      {"conditions",
       Json::array({p.memory ? cond("MemoryPressure", "True", "KubeletHasInsufficientMemory",
                                    "kubelet has insufficient memory available")
                             : cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                    "kubelet has sufficient memory available"),
                    p.disk ? cond("DiskPressure", "True", "KubeletHasDiskPressure",
                                  "kubelet has disk pressure")
                           : cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                                  "kubelet has no disk pressure"),
                    p.pid ? cond("PIDPressure", "True", "KubeletHasInsufficientPID",
                                 "kubelet has insufficient PID available")
                          : cond("PIDPressure", "False", "KubeletHasSufficientPID",
                                 "kubelet has sufficient PID available"),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")})}};
}

Json status_fingerprint(const Json& status) {
  Json s = status;
  if (s.contains("conditions"))
    for (auto& c : s["conditions"]) {
      c.erase("lastHeartbeatTime");
      c.erase("lastTransitionTime");
    }
  return s;
}

std::string source_address_for(const std::string& host) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  if (inet_pton(AF_INET, host.c_str(), &to.sin_addr) != 1) return "";
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return "";
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return "";
  sockaddr_in me{};
  socklen_t len = sizeof me;
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&me), &len) != 0) return "";
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &me.sin_addr, buf, sizeof buf);
  return buf;
}

}  // namespace skiff::kubelet::node
