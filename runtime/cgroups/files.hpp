#pragma once
// Reading and writing cgroup interface files. Errors say which file, why, and which
// linux.resources field was being applied:
//   write `/sys/fs/cgroup/memory/skiff/c1/memory.limit_in_bytes`: Device or resource busy
//   (while applying linux.resources.memory.limit = 1024)

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace skiff::runtime::cgroups {

// Writes `value` to `path` in one write(2), without O_CREAT (a missing cgroup file means an
// absent controller or an old kernel, never something to create). Returns 0 or the errno.
int write_raw(const std::string& path, std::string_view value);

// Test seam: when set, called before every write_raw() with the path and value; a non-zero
// return fails that write with this errno without touching the file. Unit tests use it to see
// the order of writes into a fake tree and to play the kernel refusing one (EBUSY, EINVAL).
using WriteHook = std::function<int(const std::string& path, std::string_view value)>;
void set_write_hook(WriteHook hook);

// "write `path`: strerror(err) (context)"; an empty context leaves the parenthesis out.
Error write_error(const std::string& path, int err, std::string_view context);

// write_raw() of dir/file; a failure reads "... (while applying <what>)", `what` being e.g.
// "linux.resources.memory.limit = 1024".
Result<void> write_field(const std::string& dir, std::string_view file, std::string_view value,
                         std::string_view what);

// The file's content without surrounding white space.
Result<std::string> read_trimmed(const std::string& path);
// A single-number file; "max" reads as UINT64_MAX.
Result<uint64_t> read_u64(const std::string& path);
// "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat, memory.oom_control).
std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text);
Result<std::map<std::string, uint64_t>> read_flat_keyed(const std::string& path);
// "max" → UINT64_MAX, else the number.
std::optional<uint64_t> parse_u64_or_max(std::string_view s);

// Pids in dir/cgroup.procs and in every sub-cgroup below it (a container may make its own).
Result<std::vector<pid_t>> read_procs_recursive(const std::string& dir);

// mkdir of every missing level of `relative` ("/skiff/c1") under `base`; each directory made is
// appended to `created` (parents first). Existing levels are used as they are.
Result<void> make_cgroup_dirs(const std::string& base, const std::string& relative,
                              std::vector<std::string>& created);

// rmdir of a cgroup and the sub-cgroups inside it (deepest first). The kernel answers EBUSY
// while exiting tasks are still being released, so that is retried until `deadline` (one
// deadline shared by all of a container's hierarchies); a cgroup that is already gone is fine.
Result<void> remove_cgroup(const std::string& dir, std::chrono::steady_clock::time_point deadline);
// remove_cgroup() with a deadline one second from now.
Result<void> remove_cgroup(const std::string& dir);

// Best-effort rmdir of directories we created, deepest first; a non-empty one (another
// container's parent) stays.
void remove_created_dirs(std::vector<std::string> dirs);

}  // namespace skiff::runtime::cgroups
