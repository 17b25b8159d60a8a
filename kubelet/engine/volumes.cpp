#include "kubelet/engine/volumes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

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

Result<void> write_key_files(const std::string& dir,
                             const std::map<std::string, std::string>& data) {
  TRY(mkdir_p(dir, 0755));
  std::string stamp = cat("..", time(nullptr), '_', getpid());
  TRY(mkdir_p(cat(dir, '/', stamp), 0755));
  for (const auto& [key, value] : data) {
    if (key.empty() || key.find('/') != std::string::npos || key.starts_with(".."))
      return error("key ", quote(key), ": not a valid file name");
    TRY(write_file(cat(dir, '/', stamp, '/', key), value, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  }
  if (::symlink(stamp.c_str(), cat(dir, "/..data").c_str()) < 0)
    return errno_error("symlink ", quote(dir + "/..data"));
  for (const auto& [key, value] : data)
    if (::symlink(cat("..data/", key).c_str(), cat(dir, '/', key).c_str()) < 0)
      return errno_error("symlink ", quote(dir + "/" + key));
  return ok();
}

}  // namespace

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
      std::map<std::string, std::string> data;
      for (const auto& o : list)
        if (o.name == v.source) data = o.data;
      TRY_CTX(write_key_files(dir, data), what);
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
