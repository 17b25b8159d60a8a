#include "oci/image/image_user.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace skiff::image {
namespace {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// A file of the image, read inside the rootfs; "" when it does not exist.
Result<std::string> read_image_file(int rootfs_fd, const char* path) {
  auto fd = open_in_root(rootfs_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) {
    if (fd.error().code() == ENOENT) return std::string();
    return std::move(fd).error();
  }
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return errno_error("stat ", quote(path), " in the image");
  if (!S_ISREG(st.st_mode)) return error(quote(path), " in the image is not a regular file");
  if (st.st_size > (16 << 20)) return error(quote(path), " in the image is too large");
  return TRY_CTX(read_fd(fd->get()), "read ", quote(path), " in the image");
}

std::optional<uint32_t> parse_id(std::string_view s) {
  auto v = parse_int<uint64_t>(s);
  if (!v || *v >= std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4 || f[0].empty() || f[0][0] == '#') continue;
    auto uid = parse_id(f[2]), gid = parse_id(f[3]);
    if (uid && gid) out.push_back({f[0], *uid, *gid});
  }
  return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3 || f[0].empty() || f[0][0] == '#') continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    out.push_back({f[0], *gid, f.size() > 3 ? split(f[3], ',', true) : std::vector<std::string>{}});
  }
  return out;
}

}  // namespace

Result<oci::User> resolve_image_user(int rootfs_fd, std::string_view spec) {
  std::string_view user_part = spec, group_part;
  bool has_group = false;
  if (size_t colon = spec.find(':'); colon != std::string_view::npos) {
    user_part = spec.substr(0, colon);
    group_part = spec.substr(colon + 1);
    has_group = true;
    if (group_part.empty()) return error("image user ", quote(spec), ": empty group");
  }
  auto passwd = parse_passwd(TRY(read_image_file(rootfs_fd, "/etc/passwd")));
  oci::User u;
  std::string name;
  if (user_part.empty()) user_part = "0";
  if (auto uid = parse_id(user_part)) {
    u.uid = *uid;
    auto it = std::find_if(passwd.begin(), passwd.end(),
                           [&](const PasswdEntry& p) { return p.uid == *uid; });
    if (it != passwd.end()) name = it->name, u.gid = it->gid;
  } else {
    auto it = std::find_if(passwd.begin(), passwd.end(),
                           [&](const PasswdEntry& p) { return p.name == user_part; });
    if (it == passwd.end())
      return error("image user ", quote(user_part), " is not in the image's /etc/passwd");
    name = it->name, u.uid = it->uid, u.gid = it->gid;
  }
  if (has_group) {
    if (auto gid = parse_id(group_part)) {
      u.gid = *gid;
    } else {
      auto groups = parse_group(TRY(read_image_file(rootfs_fd, "/etc/group")));
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const GroupEntry& g) { return g.name == group_part; });
      if (it == groups.end())
        return error("image group ", quote(group_part), " is not in the image's /etc/group");
      u.gid = it->gid;
    }
    return u;
  }
  if (!name.empty()) {
    for (const auto& g : parse_group(TRY(read_image_file(rootfs_fd, "/etc/group")))) {
      bool member = std::find(g.members.begin(), g.members.end(), name) != g.members.end();
      bool known = std::find(u.additional_gids.begin(), u.additional_gids.end(), g.gid) !=
                   u.additional_gids.end();
      if (member && g.gid != u.gid && !known) u.additional_gids.push_back(g.gid);
    }
  }
  return u;
}

}  // namespace skiff::image
