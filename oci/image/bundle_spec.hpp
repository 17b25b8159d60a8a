#pragma once
// An image config turned into a runtime-spec config.json (the image-spec's conversion.md):
// `skiff spec`'s default with process.args = Entrypoint + Cmd, Env merged over the default PATH,
// cwd = WorkingDir, user from User (names resolved in the rootfs), Labels and StopSignal as
// annotations.

#include <string>
#include <vector>

#include "common/json_util.hpp"
#include "oci/image/image_spec.hpp"

namespace skiff::image {

// The annotation image-spec defines for StopSignal.
inline constexpr const char* kStopSignalAnnotation = "org.opencontainers.image.stopSignal";

struct BundleSpecOptions {
  bool tty = false;               // process.terminal (and TERM=xterm)
  bool read_only = false;         // root.readonly
  std::vector<std::string> args;  // replace Cmd (docker run IMAGE ARGS…); Entrypoint stays
  std::vector<std::string> env;   // KEY=VALUE, over the image's
  std::string hostname;           // default: the spec's
};

// The config.json for `config`, with the user resolved inside `rootfs_fd`. An image with neither
// Entrypoint nor Cmd and no `args` is an error (there is nothing to run).
Result<Json> runtime_spec_for_image(const ImageConfig& config, int rootfs_fd,
                                    const BundleSpecOptions& options);

// KEY=VALUE lists: `over` replaces same-key entries of `base` in place, appends the rest.
std::vector<std::string> merge_env(std::vector<std::string> base,
                                   const std::vector<std::string>& over);

}  // namespace skiff::image
