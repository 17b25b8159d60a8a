#pragma once
// Layer unpacking with libarchive: plain, gzip and zstd tar streams; whiteouts; hardlinks,
// symlinks, device nodes, fifos, xattrs, ownership, modes and mtimes.
//
// Safety (each case refused with an error naming the layer and the entry):
// - every entry is created relative to an fd of its parent, which is resolved inside the layer
//   directory with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): a path
//   that climbs out (`..` through a symlink) or passes through an absolute symlink is refused —
//   symlinks in the image are never followed out of the layer (CVE-2018-15664 and its kin);
// - a `..` component anywhere in a name or a hardlink target is refused;
// - absolute names ("/etc/passwd") are taken relative to the layer root, as GNU tar and
//   containerd do;
// - the final component is never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, linkat without
//   AT_SYMLINK_FOLLOW), so a hardlink to a symlink links the symlink itself;
// - hardlink targets must already exist in this layer;
// - xattrs in the trusted.overlay. and user.overlay. namespaces are dropped: an image must not
//   forge overlayfs metadata (redirects, opaque dirs) that skiff did not derive from whiteouts.
// The uncompressed stream is hashed while read and compared with the config's diff_id, so a
// layer whose content does not match the image is refused (the caller then removes what was
// written: unpack into a fresh directory).

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "oci/image/digest.hpp"

namespace skiff::image {

enum class WhiteoutMode {
  // A snapshot layer for overlayfs: `.wh.NAME` becomes a 0/0 character device NAME and
  // `.wh..wh..opq` sets trusted.overlay.opaque=y on its directory (needs root).
  kOverlay,
  // Applied onto the directory below (flattening, the copy fallback): `.wh.NAME` deletes NAME and
  // `.wh..wh..opq` empties its directory of everything this layer did not write.
  kApply,
};

struct UnpackOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kApply;
  // chown entries to their numeric uid/gid from the tar (root only; otherwise files belong to the
  // caller).
  bool same_owner = ::geteuid() == 0;
  // Create character and block devices (needs CAP_MKNOD); skipped otherwise.
  bool devices = ::geteuid() == 0;
  // When set, the uncompressed stream must have this digest.
  std::optional<Digest> diff_id;
  // Names the layer in errors ("layer sha256:…: entry `x`: …").
  std::string layer_name;
};

struct UnpackStats {
  uint64_t entries = 0;
  uint64_t skipped = 0;             // sockets, aufs metadata, devices without CAP_MKNOD
  uint64_t file_bytes = 0;          // regular-file data written
  uint64_t uncompressed_bytes = 0;  // the tar stream
  Digest diff_id;                   // its digest
};

// Unpacks the layer read from `fd` (a tar, possibly gzip or zstd compressed — detected from the
// content) into the directory `dir_fd` (opened O_RDONLY | O_DIRECTORY).
Result<UnpackStats> unpack_layer(int fd, int dir_fd, const UnpackOptions& options);

// An entry name made relative and clean ("./a//b/" -> "a/b", "/etc/x" -> "etc/x", "." -> "");
// an error for a `..` component.
Result<std::string> clean_entry_path(std::string_view name);

}  // namespace skiff::image
