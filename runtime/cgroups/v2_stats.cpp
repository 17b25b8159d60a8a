// `events --stats` on cgroup v2 (runc's fs2 stats): cpu.stat, memory.*, pids.*.

#include "common/fs.hpp"
#include "runtime/cgroups/files.hpp"
#include "runtime/cgroups/v2_manager.hpp"

namespace skiff::runtime::cgroups {
namespace {

uint64_t get(const std::map<std::string, uint64_t>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// Adds two limits where either may be "max" (UINT64_MAX).
uint64_t add_limits(uint64_t a, uint64_t b) {
  return a == UINT64_MAX || b == UINT64_MAX || a + b < a ? UINT64_MAX : a + b;
}

}  // namespace

Result<Stats> read_v2_stats(const std::string& dir) {
  if (!path_exists(dir)) return error("cgroup ", quote(dir), " does not exist any more");
  Stats s;
  s.raw = Json::object();
  auto value = [&](const char* file) -> std::optional<uint64_t> {
    auto v = read_u64(path_join(dir, file));
    if (!v) return std::nullopt;
    s.raw[file] = *v;
    return *v;
  };
  auto keyed = [&](const char* file) -> std::map<std::string, uint64_t> {
    auto m = read_flat_keyed(path_join(dir, file));
    if (!m) return {};
    s.raw[file] = *m;
    return *m;
  };
  auto cpu = keyed("cpu.stat");  // µs
  s.cpu_usage_total = get(cpu, "usage_usec") * 1000;
  s.cpu_usage_user = get(cpu, "user_usec") * 1000;
  s.cpu_usage_kernel = get(cpu, "system_usec") * 1000;
  s.cpu_throttled_periods = get(cpu, "nr_throttled");
  s.cpu_throttled_time = get(cpu, "throttled_usec") * 1000;

  s.memory_usage = value("memory.current").value_or(0);
  s.memory_max_usage = value("memory.peak").value_or(0);  // Linux 5.19+
  s.memory_limit = value("memory.max").value_or(UINT64_MAX);
  s.memory_cache = get(keyed("memory.stat"), "file");
  // v1's memsw counts memory+swap; report v2 the same way so the numbers mean one thing.
  auto swap = value("memory.swap.current");
  auto swap_max = value("memory.swap.max");
  if (swap) s.memory_swap_usage = *swap + s.memory_usage;
  if (swap_max) s.memory_swap_limit = add_limits(*swap_max, s.memory_limit);
  s.oom_kill = get(keyed("memory.events"), "oom_kill");

  s.pids_current = value("pids.current").value_or(0);
  auto max = value("pids.max");
  s.pids_limit = !max || *max == UINT64_MAX ? 0 : *max;
  return s;
}

Result<uint64_t> read_v2_oom_kills(const std::string& dir) {
  auto m = TRY(read_flat_keyed(path_join(dir, "memory.events")));
  return get(m, "oom_kill");
}

}  // namespace skiff::runtime::cgroups
