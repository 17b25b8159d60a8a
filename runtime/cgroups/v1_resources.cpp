// linux.resources → cgroup v1 files (the kernel's cgroup-v1/*.rst; runc's fs/*.go for the
// write order that keeps the kernel's invariants).

#include <cctype>
#include <tuple>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/cgroups/device_rules.hpp"
#include "runtime/cgroups/files.hpp"
#include "runtime/cgroups/v1_manager.hpp"

namespace skiff::runtime::cgroups {
namespace {

template <typename T>
std::string what(std::string_view field, const T& value) {
  return cat("linux.resources.", field, " = ", value);
}

Result<std::string> need(const V1Dirs& dirs, std::string_view controller, std::string_view field) {
  auto it = dirs.find(controller);
  if (it == dirs.end())
    return error("linux.resources.", field, ": the ", quote(controller),
                 " cgroup v1 controller is not mounted on this host");
  return it->second;
}

// One file write, kept apart from its error so the caller can retry on the errno.
struct Write {
  std::string file;
  std::string value;
  std::string what;
};

Error memory_write_error(const std::string& dir, const Write& w, int err) {
  std::string path = path_join(dir, w.file);
  std::string context = cat("while applying ", w.what);
  if (err == EBUSY && w.file == "memory.limit_in_bytes") {
    // The kernel refuses a limit below what the cgroup already uses and cannot reclaim.
    if (auto usage = read_u64(path_join(dir, "memory.usage_in_bytes")))
      context += cat(": the cgroup already uses ", *usage, " bytes");
  }
  return write_error(path, err, context);
}

// Writes `a` then `b`; 0 or the errno, with the failed one in *failed.
int write_pair(const std::string& dir, const Write& a, const Write& b, const Write** failed) {
  for (const Write* w : {&a, &b}) {
    if (int err = write_raw(path_join(dir, w->file), w->value)) {
      *failed = w;
      return err;
    }
  }
  return 0;
}

Result<void> apply_memory(const std::string& dir, const oci::MemoryResources& m) {
  if (m.kernel)
    log::debug("ignoring linux.resources.memory.kernel = ", *m.kernel,
               ": kernel memory limits are deprecated in Linux and ignored (as runc does)");
  if (m.use_hierarchy)
    log::debug("ignoring linux.resources.memory.useHierarchy: always on in current kernels");
  bool has_memsw = path_exists(path_join(dir, "memory.memsw.limit_in_bytes"));
  int64_t limit = m.limit.value_or(0);
  int64_t swap = m.swap.value_or(0);  // memory+swap; 0 = unset
  // An unlimited memory limit without a swap value means unlimited swap too (runc).
  if (limit == -1 && !m.swap && has_memsw) swap = -1;
  if (swap != 0 && !has_memsw) {
    if (swap != -1)
      return error(what("memory.swap", swap),
                   ": swap limit not supported by this kernel (memory.memsw.limit_in_bytes "
                   "missing)");
    swap = 0;  // "unlimited" is what a kernel without swap accounting gives anyway
  }
  if (limit > 0 && swap > 0 && swap < limit)
    return error(what("memory.swap", swap), ": must be at least linux.resources.memory.limit (",
                 limit, "): swap is memory+swap");
  if (m.check_before_update.value_or(false) && limit > 0) {
    auto usage = read_u64(path_join(dir, "memory.usage_in_bytes"));
    if (usage && *usage > static_cast<uint64_t>(limit))
      return error(what("memory.limit", limit), ": below the cgroup's current usage of ", *usage,
                   " bytes (checkBeforeUpdate is set)");
  }
  Write lim{"memory.limit_in_bytes", std::to_string(limit), what("memory.limit", limit)};
  Write sw{"memory.memsw.limit_in_bytes", std::to_string(swap), what("memory.swap", swap)};
  const Write* failed = nullptr;
  int err = 0;
  if (limit != 0 && swap != 0) {
    auto current = read_u64(path_join(dir, "memory.limit_in_bytes"));
    bool swap_first = v1_swap_first(current.value_or(0), swap);
    err = swap_first ? write_pair(dir, sw, lim, &failed) : write_pair(dir, lim, sw, &failed);
    // The values in the kernel were not what we read (a concurrent update): the other order.
    if (err == EINVAL)
      err = swap_first ? write_pair(dir, lim, sw, &failed) : write_pair(dir, sw, lim, &failed);
  } else if (limit != 0) {
    failed = &lim;
    err = write_raw(path_join(dir, lim.file), lim.value);
  } else if (swap != 0) {
    failed = &sw;
    err = write_raw(path_join(dir, sw.file), sw.value);
  }
  if (err) return memory_write_error(dir, *failed, err);

  if (m.reservation)
    TRY(write_field(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation),
                    what("memory.reservation", *m.reservation)));
  if (m.kernel_tcp)
    TRY(write_field(dir, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp),
                    what("memory.kernelTCP", *m.kernel_tcp)));
  if (m.swappiness) {
    if (*m.swappiness > 100)
      return error(what("memory.swappiness", *m.swappiness), ": must be between 0 and 100");
    TRY(write_field(dir, "memory.swappiness", std::to_string(*m.swappiness),
                    what("memory.swappiness", *m.swappiness)));
  }
  if (m.disable_oom_killer)
    TRY(write_field(dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0",
                    what("memory.disableOOMKiller", *m.disable_oom_killer)));
  return ok();
}

Result<void> apply_cpu(const V1Dirs& dirs, const oci::CpuResources& c) {
  bool quota = c.quota && *c.quota != 0;  // 0 = unset (runc); negative = unlimited
  bool period = c.period && *c.period != 0;
  if ((c.shares && *c.shares) || quota || period || c.burst || c.realtime_runtime ||
      c.realtime_period || c.idle) {
    std::string dir = TRY(need(dirs, "cpu", "cpu"));
    if (c.shares && *c.shares) {
      TRY(write_field(dir, "cpu.shares", std::to_string(*c.shares), what("cpu.shares", *c.shares)));
      // The kernel clamps shares to 2..262144 without an error; say so instead.
      auto back = read_u64(path_join(dir, "cpu.shares"));
      if (back && *back != *c.shares)
        return error(what("cpu.shares", *c.shares), ": the kernel set ", *back,
                     " (cpu.shares must be between 2 and 262144)");
    }
    // A shorter period can be refused (EINVAL) while the old quota/period ratio exceeds the
    // parent's; when a quota comes too, the period is written again after it (runc).
    bool period_again = false;
    if (period) {
      std::string path = path_join(dir, "cpu.cfs_period_us");
      if (int err = write_raw(path, std::to_string(*c.period))) {
        if (err != EINVAL || !quota)
          return write_error(path, err, cat("while applying ", what("cpu.period", *c.period)));
        period_again = true;
      }
    }
    if (quota)
      TRY(write_field(dir, "cpu.cfs_quota_us", *c.quota < 0 ? "-1" : std::to_string(*c.quota),
                      what("cpu.quota", *c.quota)));
    if (period_again)
      TRY(write_field(dir, "cpu.cfs_period_us", std::to_string(*c.period),
                      what("cpu.period", *c.period)));
    if (c.burst) {
      std::string path = path_join(dir, "cpu.cfs_burst_us");
      int err = write_raw(path, std::to_string(*c.burst));
      // Kernels before 5.14 have no burst; asking for none there is fine.
      if (err && !(err == ENOENT && *c.burst == 0))
        return write_error(path, err, cat("while applying ", what("cpu.burst", *c.burst)));
    }
    // Period before runtime: the runtime is checked against the period (runc's order).
    if (c.realtime_period)
      TRY(write_field(dir, "cpu.rt_period_us", std::to_string(*c.realtime_period),
                      what("cpu.realtimePeriod", *c.realtime_period)));
    if (c.realtime_runtime)
      TRY(write_field(dir, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime),
                      what("cpu.realtimeRuntime", *c.realtime_runtime)));
    if (c.idle)
      TRY(write_field(dir, "cpu.idle", std::to_string(*c.idle), what("cpu.idle", *c.idle)));
  }
  if (!c.cpus.empty() || !c.mems.empty()) {
    std::string dir = TRY(need(dirs, "cpuset", c.cpus.empty() ? "cpu.mems" : "cpu.cpus"));
    if (!c.cpus.empty())
      TRY(write_field(dir, "cpuset.cpus", c.cpus, what("cpu.cpus", quote(c.cpus))));
    if (!c.mems.empty())
      TRY(write_field(dir, "cpuset.mems", c.mems, what("cpu.mems", quote(c.mems))));
  }
  return ok();
}

Result<void> apply_block_io(const std::string& dir, const oci::BlockIoResources& b) {
  // Without CFQ the weights live in the BFQ files (blkio.bfq.weight), as on current kernels.
  auto pick = [&](const char* legacy, const char* bfq) {
    return path_exists(path_join(dir, legacy)) || !path_exists(path_join(dir, bfq))
               ? std::string(legacy)
               : std::string(bfq);
  };
  if (b.weight && *b.weight)
    TRY(write_field(dir, pick("blkio.weight", "blkio.bfq.weight"), std::to_string(*b.weight),
                    what("blockIO.weight", *b.weight)));
  if (b.leaf_weight && *b.leaf_weight)
    TRY(write_field(dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight),
                    what("blockIO.leafWeight", *b.leaf_weight)));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& wd = b.weight_device[i];
    std::string dev = cat(wd.major, ":", wd.minor);
    if (wd.weight)
      TRY(write_field(
          dir, pick("blkio.weight_device", "blkio.bfq.weight_device"), cat(dev, " ", *wd.weight),
          what(cat("blockIO.weightDevice[", i, "]"), cat(dev, " weight ", *wd.weight))));
    if (wd.leaf_weight)
      TRY(write_field(
          dir, "blkio.leaf_weight_device", cat(dev, " ", *wd.leaf_weight),
          what(cat("blockIO.weightDevice[", i, "]"), cat(dev, " leafWeight ", *wd.leaf_weight))));
  }
  const std::tuple<const std::vector<oci::ThrottleDevice>*, const char*, const char*> throttles[] =
      {{&b.throttle_read_bps_device, "blkio.throttle.read_bps_device", "throttleReadBpsDevice"},
       {&b.throttle_write_bps_device, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice"},
       {&b.throttle_read_iops_device, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice"},
       {&b.throttle_write_iops_device, "blkio.throttle.write_iops_device",
        "throttleWriteIOPSDevice"}};
  for (const auto& [list, file, field] : throttles) {
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& td = (*list)[i];
      std::string line = cat(td.major, ":", td.minor, " ", td.rate);
      TRY(write_field(dir, file, line, what(cat("blockIO.", field, "[", i, "]"), line)));
    }
  }
  return ok();
}

Result<void> check_page_size(const std::string& size, size_t i) {
  bool good = !size.empty();
  for (char c : size) good = good && std::isalnum(static_cast<unsigned char>(c));
  if (!good)
    return error("linux.resources.hugepageLimits[", i, "].pageSize: ", quote(size),
                 " is not a page size like `2MB`");
  return ok();
}

Result<void> apply_devices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& in) {
  auto rules = TRY(normalize_device_rules(in));
  // In order: a leading deny-all writes "a" to devices.deny (default deny, exceptions cleared)
  // and the allow rules after it open single devices again.
  for (size_t i = 0; i < rules.size(); ++i) {
    const char* file = rules[i].allow ? "devices.allow" : "devices.deny";
    for (const auto& line : v1_device_lines(rules[i]))
      TRY(write_field(dir, file, line, what(cat("devices[", i, "]"), quote(line))));
  }
  return ok();
}

}  // namespace

bool v1_swap_first(uint64_t current_limit, int64_t swap) {
  return swap == -1 || current_limit < static_cast<uint64_t>(swap);
}

Result<void> apply_v1_resources(const V1Dirs& dirs, const oci::Resources& r) {
  if (!r.unified.empty())
    return error("linux.resources.unified: needs cgroup v2; this host's controllers are v1");
  if (r.cpu) TRY(apply_cpu(dirs, *r.cpu));
  if (!r.devices.empty()) {
    std::string dir = TRY(need(dirs, "devices", "devices"));
    TRY(apply_devices(dir, r.devices));
  }
  if (r.memory) {
    std::string dir = TRY(need(dirs, "memory", "memory"));
    TRY(apply_memory(dir, *r.memory));
  }
  if (r.pids) {
    std::string dir = TRY(need(dirs, "pids", "pids"));
    int64_t limit = r.pids->limit;
    TRY(write_field(dir, "pids.max", limit <= 0 ? "max" : std::to_string(limit),
                    what("pids.limit", limit)));
  }
  if (r.block_io) {
    std::string dir = TRY(need(dirs, "blkio", "blockIO"));
    TRY(apply_block_io(dir, *r.block_io));
  }
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const auto& h = r.hugepage_limits[i];
    TRY(check_page_size(h.page_size, i));
    std::string dir = TRY(need(dirs, "hugetlb", "hugepageLimits"));
    TRY(write_field(dir, cat("hugetlb.", h.page_size, ".limit_in_bytes"), std::to_string(h.limit),
                    what(cat("hugepageLimits[", i, "]"), cat(h.page_size, " ", h.limit))));
  }
  if (r.network) {
    if (r.network->class_id) {
      std::string dir = TRY(need(dirs, "net_cls", "network.classID"));
      TRY(write_field(dir, "net_cls.classid", std::to_string(*r.network->class_id),
                      what("network.classID", *r.network->class_id)));
    }
    const auto& prios = r.network->priorities;
    for (size_t i = 0; i < prios.size(); ++i) {
      std::string dir = TRY(need(dirs, "net_prio", "network.priorities"));
      std::string line = cat(prios[i].first, " ", prios[i].second);
      TRY(write_field(dir, "net_prio.ifpriomap", line,
                      what(cat("network.priorities[", i, "]"), quote(line))));
    }
  }
  return ok();
}

}  // namespace skiff::runtime::cgroups
