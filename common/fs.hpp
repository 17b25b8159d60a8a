#pragma once
// File-system helpers. Paths inside a container's rootfs are always resolved relative to an fd of
// the root with openat2(RESOLVE_IN_ROOT), so a symlink in the image can never point us at the host
// (CVE-2021-30465 and its relatives).

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff {

Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd);
Result<void> write_file(const std::string& path, std::string_view data, int flags = 0,
                        mode_t mode = 0644);
// Writes to a temp file in the same directory and renames it over `path`: readers see the old or
// the new content, never half of it. `durable` also fsyncs first, so a crash cannot leave an empty
// file; state under /run (tmpfs, gone at reboot anyway) does not need that and skips its cost.
Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                               bool durable = true);
Result<void> write_all(int fd, std::string_view data);
Result<void> mkdir_p(const std::string& path, mode_t mode = 0755);
// Removes a directory tree; does not cross into other mounts (a bind mount left behind is an error,
// not a deletion of the host's files).
Result<void> remove_tree(const std::string& path);
bool path_exists(const std::string& path);

Result<UniqueFd> open_dir(const std::string& path);
// openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` is resolved as if `root_fd` were
// "/".
Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode = 0);
// Creates the directories of `path` inside the root (each component resolved in the root) and
// returns an O_PATH fd of the last one.
Result<UniqueFd> mkdir_in_root(int root_fd, std::string_view path, mode_t mode = 0755);
// Makes sure `path` exists inside the root as a directory (is_dir) or an empty file, creating
// parents, and returns an O_PATH fd of it: a mount target that cannot escape the root.
Result<UniqueFd> make_target_in_root(int root_fd, std::string_view path, bool is_dir);

// "/proc/self/fd/N": how we hand an fd to mount(2) and friends.
std::string fd_path(int fd);
// Where an fd points to (readlink of /proc/self/fd/N).
Result<std::string> fd_target(int fd);
// True when the fd lives on a real procfs (statfs magic): refuses a fake /proc (CVE-2019-16884).
bool is_procfs(int fd);

std::string path_join(std::string_view a, std::string_view b);
// Lexical clean-up: "a//b/./c/../d" -> "a/b/d"; keeps a leading "/".
std::string clean_path(std::string_view path);

}  // namespace skiff
