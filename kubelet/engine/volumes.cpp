#include "kubelet/engine/volumes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <ctime>
#include <set>

#include "common/fs.hpp"

namespace skiff::kubelet {
namespace {

Result<void> check_host_path(const Volume& v) {
  struct stat st {};
  bool exists = ::stat(v.path.c_str(), &st) == 0;
  auto wrong = [&](const char* what) {
    return error("hostPath ", quote(v.path), ": ", what, " (volume ", quote(v.name), ")");
  };
  if (v.type == "DirectoryOrCreate" && !exists) return mkdir_p(v.path, 0755);
  if (v.type == "FileOrCreate" && !exists)
    return write_file(v.path, "", O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (v.type.empty()) return ok();
  if (!exists) return wrong("does not exist");
  if ((v.type == "Directory" || v.type == "DirectoryOrCreate") && !S_ISDIR(st.st_mode))
    return wrong("is not a directory");
  if ((v.type == "File" || v.type == "FileOrCreate") && !S_ISREG(st.st_mode))
    return wrong("is not a regular file");
  if (v.type == "Socket" && !S_ISSOCK(st.st_mode)) return wrong("is not a socket");
  if (v.type == "CharDevice" && !S_ISCHR(st.st_mode)) return wrong("is not a character device");
  if (v.type == "BlockDevice" && !S_ISBLK(st.st_mode)) return wrong("is not a block device");
  return ok();
}

// Every regular file under `dir` (following the payload's own directories), relative paths.
void walk_files(const std::string& dir, const std::string& rel, std::vector<KeyFile>& out) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d))
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
      names.push_back(e->d_name);
  closedir(d);
  for (const auto& n : names) {
    std::string full = cat(dir, '/', n), r = rel.empty() ? n : cat(rel, '/', n);
    struct stat st {};
    if (::lstat(full.c_str(), &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      walk_files(full, r, out);
    } else if (S_ISREG(st.st_mode)) {
      auto content = read_file(full);
      out.push_back({r, content ? *content : std::string(), static_cast<int>(st.st_mode & 07777)});
    }
  }
}

std::string first_component(const std::string& path) { return path.substr(0, path.find('/')); }

}  // namespace

Result<std::vector<KeyFile>> project_keys(const Volume& v, const KeyValueObject* obj) {
  std::vector<KeyFile> out;
  const char* kind = v.kind == "secret" ? "secret " : "configmap ";
  if (!obj) {
    if (v.optional) return out;
    return error(kind, json_quote(v.source), " not found");
  }
  if (v.items.empty()) {
    for (const auto& [key, value] : obj->data) {
      if (auto why = key_path_problem(key); !why.empty() || key.find('/') != std::string::npos)
        return error(kind, json_quote(v.source), ": key ", json_quote(key),
                     " is not a valid file name");
      out.push_back({key, value, v.default_mode});
    }
    return out;
  }
  std::set<std::string> seen;
  for (const auto& it : v.items) {
    auto found = obj->data.find(it.key);
    if (found == obj->data.end()) {
      if (v.optional) continue;
      return error(kind, json_quote(v.source), " references non-existent key ", json_quote(it.key));
    }
    if (auto why = key_path_problem(it.path); !why.empty())
      return error(kind, json_quote(v.source), ": item path ", json_quote(it.path), ' ', why);
    if (!seen.insert(it.path).second)
      return error(kind, json_quote(v.source), ": item path ", json_quote(it.path), " given twice");
    out.push_back({it.path, found->second, it.mode.value_or(v.default_mode)});
  }
  for (const auto& f : out)
    for (const auto& g : out)
      if (g.path.starts_with(f.path + "/"))
        return error(kind, json_quote(v.source), ": item path ", json_quote(f.path),
                     " is also a directory");
  return out;
}

Result<bool> write_key_files(const std::string& dir, const std::vector<KeyFile>& files) {
  TRY(mkdir_p(dir, 0755));
  std::string data_link = dir + "/..data";
  char target[PATH_MAX] = {};
  ssize_t n = ::readlink(data_link.c_str(), target, sizeof target - 1);
  std::string old_payload = n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
  if (!old_payload.empty()) {
    std::vector<KeyFile> have;
    walk_files(cat(dir, '/', old_payload), "", have);
    auto by_path = [](const KeyFile& a, const KeyFile& b) { return a.path < b.path; };
    std::vector<KeyFile> want = files;
    std::sort(have.begin(), have.end(), by_path);
    std::sort(want.begin(), want.end(), by_path);
    if (have == want) return false;
  }
  // The new payload, complete before anyone can see it.
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[64];
  snprintf(stamp, sizeof stamp, "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
  std::string payload = cat(dir, '/', stamp);
  auto written = [&]() -> Result<void> {
    TRY(mkdir_p(payload, 0755));
    for (const auto& f : files) {
      std::string path = cat(payload, '/', f.path);
      if (auto slash = path.rfind('/'); slash > payload.size())
        TRY(mkdir_p(path.substr(0, slash), 0755));
      TRY(write_file(path, f.content, O_WRONLY | O_CREAT | O_TRUNC, 0600));
      if (::chmod(path.c_str(), static_cast<mode_t>(f.mode)) < 0)
        return errno_error("chmod ", quote(path));
    }
    // ..data swapped in one rename: readers follow either the old payload or the new one.
    std::string tmp = dir + "/..data_tmp";
    (void)::unlink(tmp.c_str());
    if (::symlink(stamp, tmp.c_str()) < 0) return errno_error("symlink ", quote(tmp));
    if (::rename(tmp.c_str(), data_link.c_str()) < 0)
      return errno_error("rename ", quote(tmp), " to ", quote(data_link));
    return ok();
  }();
  if (!written) {
    (void)remove_tree(payload);
    return written.error();
  }
  // Top-level links for the new names; links of names gone removed.
  std::set<std::string> tops;
  for (const auto& f : files) tops.insert(first_component(f.path));
  for (const auto& t : tops) {
    std::string link = cat(dir, '/', t);
    if (::symlink(cat("..data/", t).c_str(), link.c_str()) < 0 && errno != EEXIST)
      return errno_error("symlink ", quote(link));
  }
  if (DIR* d = opendir(dir.c_str())) {
    std::vector<std::string> stale;
    while (struct dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.starts_with("..") || tops.count(name)) continue;
      stale.push_back(name);
    }
    closedir(d);
    for (const auto& name : stale) (void)::unlink(cat(dir, '/', name).c_str());
  }
  if (!old_payload.empty() && old_payload != stamp && old_payload.starts_with(".."))
    TRY(remove_tree(cat(dir, '/', old_payload)));
  return true;
}

Result<bool> refresh_key_volume(const Volume& v, const KeyValueObject* obj,
                                const std::string& pod_dir) {
  std::string dir = volume_source(v, pod_dir);
  if (!path_exists(dir + "/..data")) return error("volume ", quote(v.name), ": not set up");
  auto files = TRY_CTX(project_keys(v, obj), "volume ", quote(v.name));
  return TRY_CTX(write_key_files(dir, files), "volume ", quote(v.name));
}

std::string volume_source(const Volume& v, const std::string& pod_dir) {
  if (v.kind == "hostPath") return v.path;
  return cat(pod_dir, "/volumes/", v.name);
}

Result<void> prepare_volumes(const Manifest& m, const std::string& pod_dir) {
  bool done = false;
  struct Cleanup {
    const std::string& dir;
    bool& done;
    ~Cleanup() {
      if (!done) (void)cleanup_volumes(dir);
    }
  } cleanup{pod_dir, done};
  for (const Volume& v : m.pod.spec.volumes) {
    std::string dir = volume_source(v, pod_dir);
    std::string what = cat("volume ", quote(v.name));
    if (v.kind == "hostPath") {
      TRY(check_host_path(v));
    } else if (v.kind == "emptyDir") {
      TRY_CTX(mkdir_p(dir, 0777), what);
      if (::chmod(dir.c_str(), 0777) < 0) return errno_error("chmod ", quote(dir));
      if (v.medium == "Memory") {
        std::string opts = "mode=1777";
        if (v.size_limit) opts += cat(",size=", *v.size_limit);
        if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) < 0)
          return errno_error("mount a tmpfs on ", quote(dir), " (", what, ")");
      }
    } else if (v.kind == "configMap" || v.kind == "secret") {
      const auto& list = v.kind == "secret" ? m.secrets : m.config_maps;
      const KeyValueObject* obj = nullptr;
      for (const auto& o : list)
        if (o.name == v.source) obj = &o;
      auto files = TRY_CTX(project_keys(v, obj), what);
      TRY_CTX(mkdir_p(dir, 0755), what);
      // A secret lives in memory only, as the kubelet's secret volumes do.
      if (v.kind == "secret" &&
          ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        return errno_error("mount a tmpfs on ", quote(dir), " (", what, ")");
      TRY_CTX(write_key_files(dir, files), what);
    }
  }
  done = true;
  return ok();
}

Result<void> cleanup_volumes(const std::string& pod_dir) {
  std::string root = pod_dir + "/volumes";
  if (DIR* d = opendir(root.c_str())) {
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
    for (const auto& n : names) {
      std::string dir = cat(root, '/', n);
      // A Memory emptyDir is a tmpfs: unmount it (EINVAL: not a mount point).
      if (::umount2(dir.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return errno_error("unmount ", quote(dir));
    }
  }
  return remove_tree(root);
}

}  // namespace skiff::kubelet
