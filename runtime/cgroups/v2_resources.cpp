// linux.resources → cgroup v2 files (cgroup-v2.rst), with the OCI→v2 conversions runc and crun
// share (cpu.weight from shares, io.weight from blkio weight, swap.max from memory+swap).

#include <fcntl.h>

#include <algorithm>
#include <cctype>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/cgroups/bpf_device_filter.hpp"
#include "runtime/cgroups/device_rules.hpp"
#include "runtime/cgroups/files.hpp"
#include "runtime/cgroups/v2_manager.hpp"

namespace skiff::runtime::cgroups {
namespace {

template <typename T>
std::string what(std::string_view field, const T& value) {
  return cat("linux.resources.", field, " = ", value);
}

std::string num_or_max(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

// Checks what would fail half-way through otherwise, before anything is written.
Result<void> check(const oci::Resources& r) {
  for (const auto& [key, value] : r.unified) {
    if (key.empty() || key == "." || key == ".." || key.find('/') != std::string::npos)
      return error(
          "linux.resources.unified[", json_quote(key),
          "]: invalid key: it must name a file of the container's cgroup (no `/`, no `..`)");
  }
  if (r.cpu && (r.cpu->realtime_runtime || r.cpu->realtime_period))
    return error(
        "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time "
        "group scheduling knobs");
  if (r.network && (r.network->class_id || !r.network->priorities.empty()))
    return error("linux.resources.network: net_cls and net_prio do not exist on cgroup v2");
  return ok();
}

Result<void> apply_memory(const std::string& dir, const oci::MemoryResources& m) {
  if (m.kernel || m.kernel_tcp)
    log::debug("ignoring linux.resources.memory.kernel/kernelTCP: no such limit on cgroup v2");
  if (m.swappiness)
    log::debug("ignoring linux.resources.memory.swappiness: cgroup v2 has no per-cgroup knob");
  if (m.disable_oom_killer && *m.disable_oom_killer)
    log::debug("ignoring linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable it");
  if (m.limit && *m.limit < -1) return error(what("memory.limit", *m.limit), ": invalid");
  if (m.check_before_update.value_or(false) && m.limit && *m.limit > 0) {
    auto usage = read_u64(path_join(dir, "memory.current"));
    if (usage && *usage > static_cast<uint64_t>(*m.limit))
      return error(what("memory.limit", *m.limit), ": below the cgroup's current usage of ", *usage,
                   " bytes (checkBeforeUpdate is set)");
  }
  auto swap = TRY(v2_swap_max(m.limit, m.swap));
  if (swap) {
    std::string path = path_join(dir, "memory.swap.max");
    int err = write_raw(path, *swap);
    // Without swap accounting there is no file; "max" or "0" asks for nothing then (runc).
    if (err && !(err == ENOENT && (*swap == "max" || *swap == "0")))
      return write_error(
          path, err,
          cat("while applying ", what("memory.swap", m.swap ? std::to_string(*m.swap) : "-1"),
              ", i.e. swap.max ", *swap));
  }
  if (m.limit && *m.limit != 0)
    TRY(write_field(dir, "memory.max", num_or_max(*m.limit), what("memory.limit", *m.limit)));
  if (m.reservation && *m.reservation != 0)
    TRY(write_field(dir, "memory.low", num_or_max(*m.reservation),
                    what("memory.reservation", *m.reservation)));
  return ok();
}

Result<void> apply_cpu(const std::string& dir, const oci::CpuResources& c) {
  if (c.shares && *c.shares) {
    uint64_t weight = cpu_shares_to_weight(*c.shares);
    TRY(write_field(dir, "cpu.weight", std::to_string(weight),
                    cat(what("cpu.shares", *c.shares), " (cpu.weight ", weight, ")")));
  }
  bool quota = c.quota && *c.quota != 0;  // 0 = unset (runc); negative = unlimited
  bool period = c.period && *c.period != 0;
  if (quota || period) {
    std::string q;
    if (quota) {
      q = num_or_max(*c.quota);
    } else {
      // Only the period changes: keep the quota the cgroup has.
      auto current = read_trimmed(path_join(dir, "cpu.max"));
      auto fields = split(current.value_or(""), ' ', true);
      q = fields.empty() ? "max" : fields[0];
    }
    std::string line = period ? cat(q, " ", *c.period) : q;
    std::string field = quota && period ? cat(what("cpu.quota", *c.quota), ", period ", *c.period)
                        : quota         ? what("cpu.quota", *c.quota)
                                        : what("cpu.period", *c.period);
    TRY(write_field(dir, "cpu.max", line, field));
  }
  if (c.burst)
    TRY(write_field(dir, "cpu.max.burst", std::to_string(*c.burst), what("cpu.burst", *c.burst)));
  if (c.idle) TRY(write_field(dir, "cpu.idle", std::to_string(*c.idle), what("cpu.idle", *c.idle)));
  if (!c.cpus.empty())
    TRY(write_field(dir, "cpuset.cpus", c.cpus, what("cpu.cpus", quote(c.cpus))));
  if (!c.mems.empty())
    TRY(write_field(dir, "cpuset.mems", c.mems, what("cpu.mems", quote(c.mems))));
  return ok();
}

Result<void> apply_io(const std::string& dir, const oci::BlockIoResources& b) {
  // With the BFQ scheduler the weight lives in io.bfq.weight, in blkio's own 1..1000 scale.
  bool bfq = path_exists(path_join(dir, "io.bfq.weight"));
  auto weight_value = [&](uint64_t w) { return bfq ? w : blkio_weight_to_io_weight(w); };
  const char* weight_file = bfq ? "io.bfq.weight" : "io.weight";
  if (b.weight && *b.weight)
    TRY(write_field(dir, weight_file, std::to_string(weight_value(*b.weight)),
                    what("blockIO.weight", *b.weight)));
  if (b.leaf_weight) log::debug("ignoring linux.resources.blockIO.leafWeight: not in cgroup v2");
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& wd = b.weight_device[i];
    if (!wd.weight) continue;
    std::string dev = cat(wd.major, ":", wd.minor);
    TRY(write_field(dir, weight_file, cat(dev, " ", weight_value(*wd.weight)),
                    what(cat("blockIO.weightDevice[", i, "]"), cat(dev, " weight ", *wd.weight))));
  }
  // io.max takes one line per device with the limits given; 0 means no limit, as in v1.
  struct Limits {
    std::string dev;
    std::vector<std::string> keys;
  };
  std::vector<Limits> devices;
  const std::pair<const std::vector<oci::ThrottleDevice>*, const char*> throttles[] = {
      {&b.throttle_read_bps_device, "rbps"},
      {&b.throttle_write_bps_device, "wbps"},
      {&b.throttle_read_iops_device, "riops"},
      {&b.throttle_write_iops_device, "wiops"}};
  for (const auto& [list, key] : throttles) {
    for (const auto& td : *list) {
      std::string dev = cat(td.major, ":", td.minor);
      auto it = std::find_if(devices.begin(), devices.end(),
                             [&](const Limits& l) { return l.dev == dev; });
      if (it == devices.end()) it = devices.insert(devices.end(), Limits{dev, {}});
      it->keys.push_back(
          cat(key, "=", td.rate == 0 ? std::string("max") : std::to_string(td.rate)));
    }
  }
  for (const auto& d : devices) {
    std::string line = cat(d.dev, " ", join(d.keys, " "));
    TRY(write_field(dir, "io.max", line, what("blockIO.throttle*", quote(line))));
  }
  return ok();
}

Result<void> apply_devices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& in) {
  auto rules = TRY(normalize_device_rules(in));
  auto program = device_filter_program(rules);
  auto prog = load_device_program(program);
  if (!prog) return std::move(prog.error().wrap("linux.resources.devices"));
  auto cgroup = open_dir(dir);
  if (!cgroup) return std::move(cgroup.error().wrap("linux.resources.devices"));
  auto attached = replace_device_program(cgroup->get(), prog->get());
  if (!attached)
    return std::move(attached.error().wrap(cat("linux.resources.devices: on ", quote(dir))));
  return ok();
}

Result<void> apply_unified(const std::string& dir, const std::map<std::string, std::string>& m) {
  for (const auto& [key, value] : m) {
    std::string path = path_join(dir, key);
    std::string field = cat("linux.resources.unified[", json_quote(key), "]");
    int err = write_raw(path, value);
    if (err == ENOENT) {
      std::string controller = key.substr(0, key.find('.'));
      return error(field, ": no file ", quote(path), " (not a cgroup v2 interface file, or the ",
                   quote(controller), " controller is not enabled for this cgroup)");
    }
    if (err) return write_error(path, err, cat("while applying ", field, " = ", json_quote(value)));
  }
  return ok();
}

}  // namespace

uint64_t cpu_shares_to_weight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

Result<std::optional<std::string>> v2_swap_max(std::optional<int64_t> limit,
                                               std::optional<int64_t> swap) {
  int64_t memory = limit.value_or(0), memswap = swap.value_or(0);
  if (memory == -1 && memswap == 0) return std::optional<std::string>("max");
  if (memswap == 0) return std::optional<std::string>();
  if (memswap == -1) return std::optional<std::string>("max");
  if (memswap < 0) return error(what("memory.swap", memswap), ": invalid");
  if (memory == 0 || memory == -1)
    return error(what("memory.swap", memswap),
                 ": needs a linux.resources.memory.limit (swap is memory+swap)");
  if (memswap < memory)
    return error(what("memory.swap", memswap), ": must be at least linux.resources.memory.limit (",
                 memory, "): swap is memory+swap");
  return std::optional<std::string>(std::to_string(memswap - memory));
}

Result<void> apply_v2_resources(const std::string& dir, const oci::Resources& r) {
  TRY(check(r));
  if (r.cpu) TRY(apply_cpu(dir, *r.cpu));
  if (!r.devices.empty()) TRY(apply_devices(dir, r.devices));
  if (r.memory) TRY(apply_memory(dir, *r.memory));
  if (r.pids) {
    int64_t limit = r.pids->limit;
    TRY(write_field(dir, "pids.max", limit <= 0 ? "max" : std::to_string(limit),
                    what("pids.limit", limit)));
  }
  if (r.block_io) TRY(apply_io(dir, *r.block_io));
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const auto& h = r.hugepage_limits[i];
    bool good = !h.page_size.empty();
    for (char c : h.page_size) good = good && std::isalnum(static_cast<unsigned char>(c));
    if (!good)
      return error("linux.resources.hugepageLimits[", i, "].pageSize: ", quote(h.page_size),
                   " is not a page size like `2MB`");
    TRY(write_field(dir, cat("hugetlb.", h.page_size, ".max"), std::to_string(h.limit),
                    what(cat("hugepageLimits[", i, "]"), cat(h.page_size, " ", h.limit))));
  }
  return apply_unified(dir, r.unified);
}

}  // namespace skiff::runtime::cgroups
