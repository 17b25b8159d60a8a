// `skiff update [flags] ID`: changes a running container's cgroup limits. The base is
// --resources FILE (or - for stdin, as go-runc sends it); each flag then overrides its field.

#include <unistd.h>

#include "common/fs.hpp"
#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {
namespace {

struct Flags {
  std::string resources_file;
  // Sizes stay text until the action: "64m", "1g", "-1".
  std::string memory, memory_reservation, memory_swap, kernel_memory;
  uint64_t cpu_shares = 0, cpu_period = 0, cpu_rt_period = 0;
  int64_t cpu_quota = 0, cpu_rt_runtime = 0, pids_limit = 0;
  std::string cpuset_cpus, cpuset_mems;
  uint16_t blkio_weight = 0;
  std::vector<std::string> args;
  const CLI::App* cmd = nullptr;

  bool given(const char* flag) const { return cmd->count(flag) > 0; }
};

Result<oci::Resources> read_resources(const std::string& path) {
  std::string text = path == "-" ? TRY(read_fd(STDIN_FILENO)) : TRY(read_file(path));
  Json j = TRY(parse_json(text, path == "-" ? "resources from stdin" : path));
  return oci::parse_resources(j, "resources");
}

// A size flag's value when it was given ("64m" -> 67108864).
Result<std::optional<int64_t>> size_flag(const Flags& f, const char* flag,
                                         const std::string& text) {
  if (!f.given(flag)) return std::optional<int64_t>();
  auto size = runtime::cli::parse_size(text);
  if (!size) return std::move(size.error().wrap(cat("invalid value for ", flag)));
  return std::optional<int64_t>(*size);
}

Result<oci::Resources> resources_from(const Flags& f) {
  oci::Resources r;
  if (!f.resources_file.empty()) r = TRY(read_resources(f.resources_file));
  // A section is only added when one of its flags is given.
  auto mem = [&]() -> oci::MemoryResources& { return r.memory ? *r.memory : r.memory.emplace(); };
  auto cpu = [&]() -> oci::CpuResources& { return r.cpu ? *r.cpu : r.cpu.emplace(); };
  if (auto v = TRY(size_flag(f, "--memory", f.memory))) mem().limit = *v;
  if (auto v = TRY(size_flag(f, "--memory-reservation", f.memory_reservation)))
    mem().reservation = *v;
  if (auto v = TRY(size_flag(f, "--memory-swap", f.memory_swap))) mem().swap = *v;
  if (auto v = TRY(size_flag(f, "--kernel-memory", f.kernel_memory))) mem().kernel = *v;
  if (f.given("--cpu-shares")) cpu().shares = f.cpu_shares;
  if (f.given("--cpu-period")) cpu().period = f.cpu_period;
  if (f.given("--cpu-quota")) cpu().quota = f.cpu_quota;
  if (f.given("--cpu-rt-period")) cpu().realtime_period = f.cpu_rt_period;
  if (f.given("--cpu-rt-runtime")) cpu().realtime_runtime = f.cpu_rt_runtime;
  if (f.given("--cpuset-cpus")) cpu().cpus = f.cpuset_cpus;
  if (f.given("--cpuset-mems")) cpu().mems = f.cpuset_mems;
  if (f.given("--pids-limit")) (r.pids ? *r.pids : r.pids.emplace()).limit = f.pids_limit;
  if (f.given("--blkio-weight"))
    (r.block_io ? *r.block_io : r.block_io.emplace()).weight = f.blkio_weight;
  return r;
}

}  // namespace

Action add_update(CLI::App& cmd, const Globals& g) {
  auto f = std::make_shared<Flags>();
  f->cmd = &cmd;
  cmd.add_option("-r,--resources", f->resources_file,
                 "path to a file with the resources to update, or - for stdin");
  cmd.add_option("--memory", f->memory, "memory limit (in bytes, or with a k/m/g suffix)");
  cmd.add_option("--memory-reservation", f->memory_reservation, "memory reservation or soft limit");
  cmd.add_option("--memory-swap", f->memory_swap,
                 "total memory usage (memory + swap); -1: no limit");
  cmd.add_option("--kernel-memory", f->kernel_memory, "kernel memory limit (deprecated)");
  cmd.add_option("--cpu-shares", f->cpu_shares,
                 "CPU shares (relative weight vs. other containers)");
  cmd.add_option("--cpu-period", f->cpu_period,
                 "CPU CFS period to be used for hardcapping (in usecs)");
  cmd.add_option("--cpu-quota", f->cpu_quota, "CPU CFS hardcap limit (in usecs per period)");
  cmd.add_option("--cpu-rt-period", f->cpu_rt_period, "CPU realtime period (in usecs)");
  cmd.add_option("--cpu-rt-runtime", f->cpu_rt_runtime, "CPU realtime hardcap limit (in usecs)");
  cmd.add_option("--cpuset-cpus", f->cpuset_cpus, "CPU(s) to use");
  cmd.add_option("--cpuset-mems", f->cpuset_mems, "memory node(s) to use");
  cmd.add_option("--pids-limit", f->pids_limit, "maximum number of pids allowed in the container");
  cmd.add_option("--blkio-weight", f->blkio_weight, "block IO weight (10 to 1000)");
  add_positionals(cmd, f->args);
  return [f, &g, &cmd]() -> Result<int> {
    auto id = TRY(one_id(cmd, f->args));
    auto resources = TRY(resources_from(*f));
    TRY(runtime::update(g.runtime, id, resources));
    return 0;
  };
}

}  // namespace skiff::cli
