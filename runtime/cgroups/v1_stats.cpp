// `events --stats` on cgroup v1: cpuacct, cpu, memory and pids files (runc's fs/*.go GetStats).

#include <unistd.h>

#include "common/fs.hpp"
#include "runtime/cgroups/files.hpp"
#include "runtime/cgroups/v1_manager.hpp"

namespace skiff::runtime::cgroups {
namespace {

const std::string* find(const V1Dirs& dirs, std::string_view controller) {
  auto it = dirs.find(controller);
  return it == dirs.end() ? nullptr : &it->second;
}

// Reads files into Stats::raw as it goes; a file the kernel lacks is simply absent.
class RawReader {
 public:
  explicit RawReader(Json& raw) : raw_(raw) {}
  std::optional<uint64_t> value(const std::string& dir, const char* file) {
    auto v = read_u64(path_join(dir, file));
    if (!v) return std::nullopt;
    raw_[file] = *v;
    return *v;
  }
  std::map<std::string, uint64_t> keyed(const std::string& dir, const char* file) {
    auto m = read_flat_keyed(path_join(dir, file));
    if (!m) return {};
    raw_[file] = *m;
    return *m;
  }

 private:
  Json& raw_;
};

uint64_t get(const std::map<std::string, uint64_t>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

Result<Stats> read_v1_stats(const V1Dirs& dirs) {
  Stats s;
  s.raw = Json::object();
  RawReader r(s.raw);
  bool any = false;
  for (const auto& [controller, dir] : dirs) any = any || path_exists(dir);
  if (!any) return error("no cgroup directory of the container exists any more");
  if (auto* d = find(dirs, "cpuacct")) {
    s.cpu_usage_total = r.value(*d, "cpuacct.usage").value_or(0);
    auto user = r.value(*d, "cpuacct.usage_user"), sys = r.value(*d, "cpuacct.usage_sys");
    auto ticks = r.keyed(*d, "cpuacct.stat");
    // cpuacct.stat counts USER_HZ ticks; the usage_* files (Linux 4.7+) are in ns.
    uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    s.cpu_usage_user = user ? *user : get(ticks, "user") * ns_per_tick;
    s.cpu_usage_kernel = sys ? *sys : get(ticks, "system") * ns_per_tick;
  }
  if (auto* d = find(dirs, "cpu")) {
    auto st = r.keyed(*d, "cpu.stat");
    s.cpu_throttled_periods = get(st, "nr_throttled");
    s.cpu_throttled_time = get(st, "throttled_time");
  }
  if (auto* d = find(dirs, "memory")) {
    s.memory_usage = r.value(*d, "memory.usage_in_bytes").value_or(0);
    s.memory_max_usage = r.value(*d, "memory.max_usage_in_bytes").value_or(0);
    s.memory_limit = r.value(*d, "memory.limit_in_bytes").value_or(0);
    s.memory_cache = get(r.keyed(*d, "memory.stat"), "cache");
    s.memory_swap_usage = r.value(*d, "memory.memsw.usage_in_bytes").value_or(0);
    s.memory_swap_limit = r.value(*d, "memory.memsw.limit_in_bytes").value_or(0);
    r.value(*d, "memory.failcnt");
    s.oom_kill = get(r.keyed(*d, "memory.oom_control"), "oom_kill");
  }
  if (auto* d = find(dirs, "pids")) {
    s.pids_current = r.value(*d, "pids.current").value_or(0);
    auto max = r.value(*d, "pids.max");
    s.pids_limit = !max || *max == UINT64_MAX ? 0 : *max;
  }
  return s;
}

Result<uint64_t> read_v1_oom_kills(const V1Dirs& dirs) {
  auto* d = find(dirs, "memory");
  if (!d) return error("the `memory` cgroup v1 controller is not mounted on this host");
  auto m = TRY(read_flat_keyed(path_join(*d, "memory.oom_control")));
  // Kernels before 4.13 do not count kills; nothing counted reads as none.
  return get(m, "oom_kill");
}

}  // namespace skiff::runtime::cgroups
