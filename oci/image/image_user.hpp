#pragma once
// The image config's User field as a runtime-spec process.user, the way runc and docker read it:
// "", "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group". Names are looked up in the
// image's own /etc/passwd and /etc/group, opened inside the rootfs (openat2 RESOLVE_IN_ROOT) so a
// symlinked /etc/passwd cannot make skiff read the host's.

#include <string_view>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::image {

// uid and gid, plus the supplementary groups /etc/group lists the user in (only when no group was
// given, as runc does). A name missing from the files is an error naming it.
Result<oci::User> resolve_image_user(int rootfs_fd, std::string_view user);

}  // namespace skiff::image
