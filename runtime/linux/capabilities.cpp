#include "runtime/linux/capabilities.hpp"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "common/log.hpp"

namespace skiff::runtime::linux {
namespace {

// Names indexed by capability number (linux/capability.h): the spec model's table, so names do not
// depend on the libcap build; the running kernel's last capability is asked separately.
const std::vector<std::string>& cap_names() { return oci::known_capabilities(); }
int known_caps() { return static_cast<int>(cap_names().size()); }

struct CapDeleter {
  void operator()(_cap_struct* c) const { cap_free(c); }
};
using CapPtr = std::unique_ptr<_cap_struct, CapDeleter>;

// The highest capability the running kernel knows: PR_CAPBSET_READ answers EINVAL past it (the
// kernel's cap_valid(); libcap's cap_max_bits does the same). Not /proc/sys/kernel/cap_last_cap:
// inside the container /proc may be missing, masked or fake (CVE-2019-16884), and a smaller number
// there would leave capabilities in the bounding set.
int kernel_last_cap() {
  int cap = 0;
  while (cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0) ++cap;
  return cap - 1;
}

struct CapSets {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

Result<std::vector<int>> resolve_set(const std::vector<std::string>& names, std::string_view field,
                                     int last_cap) {
  std::vector<int> out;
  for (const auto& name : names) {
    int cap = TRY_CTX(capability_from_name(name), "process.capabilities.", field);
    if (cap > last_cap) {
      log::warn("process.capabilities.", field, ": capability ", quote(name),
                " is not supported by the running kernel, ignoring it");
      continue;
    }
    out.push_back(cap);
  }
  return out;
}

bool contains(const std::vector<int>& set, int cap) {
  return std::find(set.begin(), set.end(), cap) != set.end();
}

Result<void> drop_bounding_set(const std::vector<int>& keep, int last_cap) {
  for (int cap = 0; cap <= last_cap; ++cap) {
    if (contains(keep, cap)) continue;
    int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present <= 0)
      continue;  // already dropped (or unknown): nothing to do, no CAP_SETPCAP needed
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      return errno_error("prctl(PR_CAPBSET_DROP, ",
                         cap < known_caps() ? cap_names()[cap].c_str() : "?", ")");
  }
  return ok();
}

Result<void> set_cap_sets(const CapSets& sets) {
  CapPtr caps(cap_init());
  if (!caps) return errno_error("cap_init");
  auto set_flag = [&](cap_flag_t flag, const std::vector<int>& list) -> Result<void> {
    if (list.empty()) return ok();
    std::vector<cap_value_t> values(list.begin(), list.end());
    if (cap_set_flag(caps.get(), flag, static_cast<int>(values.size()), values.data(), CAP_SET) < 0)
      return errno_error("cap_set_flag");
    return ok();
  };
  TRY(set_flag(CAP_EFFECTIVE, sets.effective));
  TRY(set_flag(CAP_PERMITTED, sets.permitted));
  TRY(set_flag(CAP_INHERITABLE, sets.inheritable));
  if (cap_set_proc(caps.get()) < 0) {
    for (int cap : sets.effective)
      if (!contains(sets.permitted, cap))
        return errno_error("capset: effective capability ", quote(cap_names()[cap]),
                           " is not in the permitted set");
    return errno_error("capset (effective, permitted, inheritable)");
  }
  return ok();
}

Result<void> raise_ambient(const CapSets& sets) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    // Kernels before 4.3 have no ambient set; nothing to clear then, but nothing to raise either.
    if (errno == EINVAL && sets.ambient.empty()) return ok();
    return errno_error("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  }
  for (int cap : sets.ambient) {
    // The kernel only raises ambient caps that are permitted and inheritable. runc's own default
    // config lists ambient caps without inheritable ones (since CVE-2022-29162) and runc skips
    // them; do the same, so such configs run.
    if (!contains(sets.permitted, cap) || !contains(sets.inheritable, cap)) {
      log::debug("process.capabilities.ambient: skipping ", cap_names()[cap],
                 ": not in both the permitted and inheritable sets");
      continue;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return errno_error("prctl(PR_CAP_AMBIENT_RAISE, ", cap_names()[cap], ")");
  }
  return ok();
}

}  // namespace

Result<int> capability_from_name(std::string_view name) {
  std::string upper;
  for (char c : name)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper.compare(0, 4, "CAP_") != 0) upper.insert(0, "CAP_");
  for (int i = 0; i < known_caps(); ++i)
    if (upper == cap_names()[i]) return i;
  return error("unknown capability ", quote(name));
}

Result<void> apply_identity(const oci::Process& process, bool setgroups_allowed) {
  const oci::User& user = process.user;
  int last_cap = kernel_last_cap();

  // Resolve every name before touching anything: a typo must not leave a half-switched process.
  CapSets sets;
  if (process.capabilities) {
    const auto& c = *process.capabilities;
    sets.bounding = TRY(resolve_set(c.bounding, "bounding", last_cap));
    sets.effective = TRY(resolve_set(c.effective, "effective", last_cap));
    sets.inheritable = TRY(resolve_set(c.inheritable, "inheritable", last_cap));
    sets.permitted = TRY(resolve_set(c.permitted, "permitted", last_cap));
    sets.ambient = TRY(resolve_set(c.ambient, "ambient", last_cap));
  }
  if (!setgroups_allowed && !user.additional_gids.empty())
    return error("process.user.additionalGids: cannot set additional groups, setgroups is denied ",
                 "in this user namespace");

  // The bounding set first: dropping needs CAP_SETPCAP, which the uid switch may take away.
  TRY(drop_bounding_set(sets.bounding, last_cap));
  // Keep the permitted set across setresuid(non-zero) so the sets can be narrowed after it.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return errno_error("prctl(PR_SET_KEEPCAPS, 1)");
  if (setgroups_allowed) {
    // Also with an empty list: the supplementary groups of the runtime must not leak in.
    std::vector<gid_t> gids(user.additional_gids.begin(), user.additional_gids.end());
    if (setgroups(gids.size(), gids.data()) < 0) {
      std::vector<std::string> names;
      for (auto g : gids) names.push_back(std::to_string(g));
      return errno_error("setgroups([", join(names, ", "), "])");
    }
  }
  if (setresgid(user.gid, user.gid, user.gid) < 0) return errno_error("setresgid(", user.gid, ")");
  if (setresuid(user.uid, user.uid, user.uid) < 0) return errno_error("setresuid(", user.uid, ")");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return errno_error("prctl(PR_SET_KEEPCAPS, 0)");

  // Exactly the sets the spec names; inheritable is never widened (CVE-2022-29162).
  TRY(set_cap_sets(sets));
  TRY(raise_ambient(sets));
  if (user.umask) umask(static_cast<mode_t>(*user.umask & 0777));
  return ok();
}

}  // namespace skiff::runtime::linux
