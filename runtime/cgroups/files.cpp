#include "runtime/cgroups/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"

namespace skiff::runtime::cgroups {

namespace {
WriteHook g_write_hook;
}  // namespace

void set_write_hook(WriteHook hook) { g_write_hook = std::move(hook); }

int write_raw(const std::string& path, std::string_view value) {
  if (g_write_hook)
    if (int err = g_write_hook(path, value)) return err;
  // O_TRUNC as runc does: meaningless to cgroupfs, but a fake tree then holds the last value.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return errno;
  // One write: the kernel parses each write(2) to a cgroup file as one command.
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  if (static_cast<size_t>(n) != value.size()) return EIO;
  return 0;
}

Error write_error(const std::string& path, int err, std::string_view context) {
  // The errno text sits in the middle of the message, so it is spelled out here and the Error
  // carries no code (Error::what() would append it a second time).
  std::string msg = cat("write ", quote(path), ": ", std::strerror(err));
  if (!context.empty()) msg += cat(" (", context, ")");
  return Error(std::move(msg));
}

Result<void> write_field(const std::string& dir, std::string_view file, std::string_view value,
                         std::string_view what) {
  std::string path = path_join(dir, file);
  if (int err = write_raw(path, value)) return write_error(path, err, cat("while applying ", what));
  return ok();
}

Result<std::string> read_trimmed(const std::string& path) {
  auto text = TRY(read_file(path));
  return std::string(trim(text));
}

std::optional<uint64_t> parse_u64_or_max(std::string_view s) {
  s = trim(s);
  if (s == "max") return UINT64_MAX;
  return parse_int<uint64_t>(s);
}

Result<uint64_t> read_u64(const std::string& path) {
  auto text = TRY(read_trimmed(path));
  auto v = parse_u64_or_max(text);
  if (!v) return error("read ", quote(path), ": expected a number, got ", quote(text));
  return *v;
}

std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for (const auto& line : split(text, '\n', true)) {
    auto fields = split(trim(line), ' ', true);
    if (fields.size() != 2) continue;
    if (auto v = parse_u64_or_max(fields[1])) out[fields[0]] = *v;
  }
  return out;
}

Result<std::map<std::string, uint64_t>> read_flat_keyed(const std::string& path) {
  auto text = TRY(read_file(path));
  return parse_flat_keyed(text);
}

namespace {

// Sub-directories of `dir` (sub-cgroups), by name.
std::vector<std::string> sub_dirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* de = ::readdir(d)) {
    if (!std::strcmp(de->d_name, ".") || !std::strcmp(de->d_name, "..")) continue;
    bool is_dir = de->d_type == DT_DIR;
    if (de->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::lstat(path_join(dir, de->d_name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.emplace_back(de->d_name);
  }
  ::closedir(d);
  return out;
}

Result<void> collect_procs(const std::string& dir, bool top, std::vector<pid_t>& out) {
  std::string path = path_join(dir, "cgroup.procs");
  auto text = read_file(path);
  if (!text) {
    // A sub-cgroup removed while we walk is not an error.
    if (text.error().code() == ENOENT && !top) return ok();
    return std::move(text).error();
  }
  for (const auto& line : split(*text, '\n', true))
    if (auto pid = parse_int<pid_t>(trim(line))) out.push_back(*pid);
  for (const auto& sub : sub_dirs(dir)) TRY(collect_procs(path_join(dir, sub), false, out));
  return ok();
}

}  // namespace

Result<std::vector<pid_t>> read_procs_recursive(const std::string& dir) {
  std::vector<pid_t> out;
  TRY(collect_procs(dir, true, out));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<void> make_cgroup_dirs(const std::string& base, const std::string& relative,
                              std::vector<std::string>& created) {
  auto parts = split(relative, '/', true);
  auto is_dir = [](const std::string& path) -> Result<void> {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return errno_error("stat ", quote(path));
    if (!S_ISDIR(st.st_mode))
      return error("mkdir ", quote(path), ": exists and is not a directory");
    return ok();
  };
  // The leaf first: a container's cgroup is made below its pod's, which exists (per pod start,
  // ~30 of these walked every hierarchy from its mount point down, mkdir and stat at each level).
  // A missing parent (ENOENT; ENOTDIR: the walk names the component) makes the walk from the top,
  // which records what it created.
  if (!parts.empty()) {
    std::string leaf = base;
    for (const auto& part : parts) leaf = path_join(leaf, part);
    if (::mkdir(leaf.c_str(), 0755) == 0) {
      created.push_back(leaf);
      return ok();
    }
    if (errno == EEXIST) return is_dir(leaf);
    if (errno != ENOENT && errno != ENOTDIR) return errno_error("mkdir ", quote(leaf));
  }
  std::string cur = base;
  for (const auto& part : parts) {
    cur = path_join(cur, part);
    if (::mkdir(cur.c_str(), 0755) == 0) {
      created.push_back(cur);
      continue;
    }
    if (errno != EEXIST) return errno_error("mkdir ", quote(cur));
    TRY(is_dir(cur));
  }
  return ok();
}

Result<void> remove_cgroup(const std::string& dir) {
  return remove_cgroup(dir, std::chrono::steady_clock::now() + std::chrono::seconds(1));
}

Result<void> remove_cgroup(const std::string& dir, std::chrono::steady_clock::time_point deadline) {
  for (const auto& sub : sub_dirs(dir)) TRY(remove_cgroup(path_join(dir, sub), deadline));
  using namespace std::chrono;
  auto delay = milliseconds(1);
  while (::rmdir(dir.c_str()) < 0) {
    if (errno == ENOENT) return ok();
    if (errno != EBUSY || steady_clock::now() >= deadline) {
      if (errno == EBUSY)
        return errno_error("rmdir ", quote(dir), " (processes are still in it; kill them first)");
      return errno_error("rmdir ", quote(dir));
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, milliseconds(50));
  }
  return ok();
}

void remove_created_dirs(std::vector<std::string> dirs) {
  // Deepest first: longer paths are below shorter ones they start with.
  std::sort(dirs.begin(), dirs.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& d : dirs) ::rmdir(d.c_str());
}

}  // namespace skiff::runtime::cgroups
