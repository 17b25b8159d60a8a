#pragma once
// A Pod container turned into an OCI bundle: the image's rootfs from the store's snapshots
// (image::create_bundle), then the Kubernetes semantics on its config.json — command/args over
// Entrypoint/Cmd, env (valueFrom resolved), workingDir, securityContext, the sandbox's namespaces
// (/proc/<pause>/ns/{net,ipc,uts}), the pod's /etc/hosts, /etc/hostname and /etc/resolv.conf.

#include <string>

#include "common/error.hpp"
#include "kubelet/engine/config.hpp"
#include "kubelet/engine/sandbox.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

// Why a container could not be created, with the reason Kubernetes shows in its waiting state
// (ErrImagePull, ErrImageNeverPull, CreateContainerConfigError, CreateContainerError).
struct CreateFailure {
  std::string reason;
  std::string message;
};

// Writes the pod-wide files containers mount (<pod dir>/etc/{hosts,hostname,resolv.conf}).
Result<void> write_pod_etc(const Pod& pod, const Sandbox& s, const std::string& pod_dir);

// The Kubernetes capability names ("NET_ADMIN", "ALL") of add/drop applied to the default set
// containers get (containerd's and Docker's), as CAP_* names.
std::vector<std::string> effective_capabilities(const SecurityContext& sc);

// Applies the container's settings to the image's config.json `spec` (pure: unit-tested).
Result<void> apply_container_settings(Json& spec, const Manifest& m, const Container& c,
                                      const Sandbox& s, const std::string& pod_dir,
                                      CreateFailure* failure);

// Makes the bundle in `dir` (which must not exist). On failure nothing is left and `failure`
// says why. `stop_signal`, when given, gets the image's StopSignal (SIGTERM when it names none).
Result<void> make_container_bundle(const NodeConfig& cfg, const Manifest& m, const Container& c,
                                   const Sandbox& s, const std::string& pod_dir,
                                   const std::string& dir, CreateFailure* failure,
                                   int* stop_signal = nullptr);

// make_container_bundle in a forked child when a layer of the image must be unpacked: the image
// code's libraries (libcrypto, libarchive, loaded on first use) and unpacking threads never enter
// the long-lived caller — the shim, whose memory is paid once per pod. With every layer unpacked
// already, in this process (no fork).
Result<void> make_container_bundle_in_child(const NodeConfig& cfg, const Manifest& m,
                                            const Container& c, const Sandbox& s,
                                            const std::string& pod_dir, const std::string& dir,
                                            CreateFailure* failure, int* stop_signal = nullptr);

// Removes a bundle make_container_bundle made (unmounts the rootfs, drops its writable layer).
Result<void> remove_container_bundle(const NodeConfig& cfg, const std::string& dir);

}  // namespace skiff::kubelet
