#include "common/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace skiff {

Result<std::string> read_fd(int fd) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open ", quote(path));
  auto r = read_fd(fd.get());
  if (!r) return std::move(r.error().wrap(cat("read ", quote(path))));
  return r;
}

Result<void> write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write");
    }
    off += static_cast<size_t>(n);
  }
  return ok();
}

Result<void> write_file(const std::string& path, std::string_view data, int flags, mode_t mode) {
  if (flags == 0) flags = O_WRONLY | O_CREAT | O_TRUNC;
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd) return errno_error("open ", quote(path));
  auto r = write_all(fd.get(), data);
  if (!r) return std::move(r.error().wrap(cat("write ", quote(path))));
  return ok();
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                               bool durable) {
  static std::mt19937_64 rng{std::random_device{}()};
  std::string tmp = cat(path, ".tmp.", rng() % 1000000000);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return errno_error("create ", quote(tmp));
  auto r = write_all(fd.get(), data);
  if (!r || (durable && ::fsync(fd.get()) < 0) || ::rename(tmp.c_str(), path.c_str()) < 0) {
    Error e = r ? errno_error("write ", quote(path)) : std::move(r.error());
    ::unlink(tmp.c_str());
    return e;
  }
  return ok();
}

Result<void> mkdir_p(const std::string& path, mode_t mode) {
  if (path.empty()) return ok();
  // The leaf first: its parents nearly always exist (a pod start made ~180 mkdirs that walked
  // from "/" down, EEXIST at every level of every cgroup hierarchy). Only a missing parent
  // (ENOENT, or ENOTDIR: the walk names the component) makes the walk from the top.
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return ok();
  if (errno != ENOENT && errno != ENOTDIR) return errno_error("mkdir ", quote(path));
  std::string cur;
  for (const auto& part : split(path, '/', true)) {
    cur += (cur.empty() && path[0] != '/') ? part : "/" + part;
    if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) return errno_error("mkdir ", quote(cur));
  }
  return ok();
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

namespace {

Result<void> remove_tree_at(int parent, const char* name, dev_t dev) {
  struct stat st;
  if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return errno_error("stat ", quote(name));
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) return error("refusing to remove ", quote(name), ": it is a mount point");
    UniqueFd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno_error("open ", quote(name));
    DIR* dir = ::fdopendir(::dup(fd.get()));
    if (!dir) return errno_error("opendir ", quote(name));
    Result<void> result;
    while (struct dirent* de = ::readdir(dir)) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      auto r = remove_tree_at(fd.get(), de->d_name, dev);
      if (!r) {
        result = std::move(r);
        break;
      }
    }
    ::closedir(dir);
    if (!result) return result;
    if (::unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
      return errno_error("rmdir ", quote(name));
    return ok();
  }
  if (::unlinkat(parent, name, 0) < 0 && errno != ENOENT)
    return errno_error("unlink ", quote(name));
  return ok();
}

}  // namespace

Result<void> remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return ok();
    return errno_error("stat ", quote(path));
  }
  auto r = remove_tree_at(AT_FDCWD, path.c_str(), st.st_dev);
  if (!r) return std::move(r.error().wrap(cat("remove ", quote(path))));
  return ok();
}

Result<UniqueFd> open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("open ", quote(path));
  return fd;
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string p(path);
  if (p.empty()) p = "/";
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return errno_error("open ", quote(p), " in the container's root");
  return UniqueFd(fd);
}

Result<UniqueFd> mkdir_in_root(int root_fd, std::string_view path, mode_t mode) {
  UniqueFd cur(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
  if (!cur) return errno_error("dup root fd");
  std::string walked;
  std::vector<std::string> todo = split(path, '/', true);
  std::reverse(todo.begin(), todo.end());
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    std::string next_path = part == ".." ? clean_path("/" + walked + "/..") : walked + "/" + part;
    // Each step is resolved inside the root, so ".." and symlinks stay in it.
    auto next = open_in_root(root_fd, next_path, O_PATH | O_DIRECTORY);
    if (!next && next.error().code() == ENOENT) {
      if (::mkdirat(cur.get(), part.c_str(), mode) < 0) {
        if (errno != EEXIST)
          return errno_error("mkdir ", quote(next_path), " in the container's root");
        // A dangling symlink: create what it points to, resolved inside the root.
        char target[4096];
        ssize_t n = readlinkat(cur.get(), part.c_str(), target, sizeof target - 1);
        if (n < 0) return errno_error("mkdir ", quote(next_path), " in the container's root");
        if (++links > 40) {
          errno = ELOOP;
          return errno_error("mkdir ", quote(next_path), " in the container's root");
        }
        std::string t(target, static_cast<size_t>(n));
        auto parts = split(t, '/', true);
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
        if (!t.empty() && t[0] == '/') {
          walked.clear();
          cur.reset(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
        }
        continue;
      }
      next = open_in_root(root_fd, next_path, O_PATH | O_DIRECTORY);
    }
    if (!next) return std::move(next).error();
    walked = clean_path(next_path);
    if (walked == "/") walked.clear();
    cur = std::move(*next);
  }
  return cur;
}

Result<UniqueFd> make_target_in_root(int root_fd, std::string_view path, bool is_dir) {
  if (is_dir) return mkdir_in_root(root_fd, path, 0755);
  std::string p = clean_path(cat("/", path));
  auto existing = open_in_root(root_fd, p, O_PATH);
  if (existing) return existing;
  if (existing.error().code() != ENOENT) return std::move(existing).error();
  size_t slash = p.rfind('/');
  std::string parent = p.substr(0, slash), base = p.substr(slash + 1);
  auto parent_fd = TRY(mkdir_in_root(root_fd, parent, 0755));
  // Reopen the parent as a real directory to create the file in it.
  UniqueFd dir(::openat(parent_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_error("open ", quote(parent), " in the container's root");
  UniqueFd f(::openat(dir.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!f && errno != EEXIST) return errno_error("create ", quote(p), " in the container's root");
  return open_in_root(root_fd, p, O_PATH);
}

std::string fd_path(int fd) { return cat("/proc/self/fd/", fd); }

Result<std::string> fd_target(int fd) {
  char buf[4096];
  std::string p = fd_path(fd);
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
  if (n < 0) return errno_error("readlink ", quote(p));
  return std::string(buf, static_cast<size_t>(n));
}

bool is_procfs(int fd) {
  struct statfs sfs;
  return ::fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

std::string path_join(std::string_view a, std::string_view b) {
  if (b.empty()) return std::string(a);
  if (a.empty()) return std::string(b);
  if (a.back() == '/' && b.front() == '/') return cat(a, b.substr(1));
  if (a.back() == '/' || b.front() == '/') return cat(a, b);
  return cat(a, "/", b);
}

std::string clean_path(std::string_view path) {
  bool abs = !path.empty() && path[0] == '/';
  std::vector<std::string> out;
  for (auto& part : split(path, '/', true)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty() && out.back() != "..")
        out.pop_back();
      else if (!abs)
        out.push_back(part);
      continue;
    }
    out.push_back(part);
  }
  std::string s = join(out, "/");
  if (abs) return "/" + s;
  return s.empty() ? "." : s;
}

}  // namespace skiff
