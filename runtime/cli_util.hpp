#pragma once
// Pure helpers of the `skiff` command line, kept in the runtime library so unit tests reach them:
// runc's value syntaxes (sizes "64m", durations "5s", users "1000:1000"), `exec` process
// adjustments, runc's `ps` filter and `list` table, argument-count checks and the `events` JSON.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups/manager.hpp"

namespace skiff::runtime::cli {

// Checks a verb's positional arguments like runc's checkArgs: too few gives
// `"create" requires exactly 1 argument(s)` (or "a minimum of N"), too many names the first
// unexpected one.
Result<void> check_args(std::string_view verb, const std::vector<std::string>& args, size_t min,
                        size_t max);

// Go's flag package (runc, and what callers got used to) also reads single-dash long flags:
// "-root X", "-log-format=json". Rewrites those among the global flags — `with_value` take a
// value, `without_value` do not — to "--" form, up to the verb (`args` excludes argv[0]).
std::vector<std::string> double_dash_global_flags(std::vector<std::string> args,
                                                  const std::vector<std::string>& with_value,
                                                  const std::vector<std::string>& without_value);

// A memory size as runc's `update` reads it (go-units RAMInBytes: binary multipliers, "64m",
// "1.5g", "512MiB", "100"); "-1" means unlimited.
Result<int64_t> parse_size(std::string_view text);

// A Go duration ("5s", "500ms", "1m30s", "1.5h"), as `events --interval` takes it.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// Adds `overrides` ("KEY=VALUE") to `base`: an entry with the same key is replaced in place,
// others are appended, so `exec -e PATH=…` wins over the config's PATH.
std::vector<std::string> merge_env(std::vector<std::string> base,
                                   const std::vector<std::string>& overrides);

struct UserSpec {
  uint32_t uid = 0;
  std::optional<uint32_t> gid;  // unset: keep the process's gid
};
// `exec --user UID[:GID]`: numeric ids only, as runc.
Result<UserSpec> parse_user(std::string_view text);

// "net_admin" / "CAP_NET_ADMIN" -> "CAP_NET_ADMIN".
std::string normalize_capability(std::string_view name);
// `exec --cap`: adds each capability to the bounding, effective and permitted sets — never to
// inheritable or ambient, which would let it survive an execve of any binary (CVE-2022-29162).
void add_exec_capabilities(oci::Process& process, const std::vector<std::string>& caps);

// runc's `ps --format table`: keeps the header line of `ps` output plus the lines whose PID
// column holds one of `pids`. Fails when the header has no PID column.
Result<std::string> filter_ps_output(std::string_view ps_output, const std::vector<pid_t>& pids);

// Aligns rows into columns like Go's tabwriter with runc's settings (min width 12, padding 3):
// every cell but the last of a row is padded to its column's width.
std::string format_table(const std::vector<std::vector<std::string>>& rows, size_t min_width = 12,
                         size_t padding = 3);

// runc's `events` line for stats: {"type":"stats","id":ID,"data":{"cpu":…,"memory":…,"pids":…}}.
Json stats_event(const std::string& id, const cgroups::Stats& stats);

}  // namespace skiff::runtime::cli
