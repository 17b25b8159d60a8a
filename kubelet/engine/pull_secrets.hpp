#pragma once
// imagePullSecrets as registry credentials: the pod's kubernetes.io/dockerconfigjson
// (".dockerconfigjson": {"auths": {REGISTRY: {"auth": base64(USER:PASS)}}}) and legacy
// kubernetes.io/dockercfg (".dockercfg": {REGISTRY: {...}}) Secrets merged into one containers
// auth file ({"auths": …}), which the pod's pulls hand to skiff-pull --authfile. As the kubelet:
// a named Secret that is missing or of another type is skipped; malformed content is an error
// naming the Secret, the key and what is wrong. The first Secret naming a registry wins.

#include <string>

#include "common/error.hpp"
#include "common/json_util.hpp"
#include "kubelet/pod/pod.hpp"

namespace skiff::kubelet {

inline constexpr const char* kDockerConfigJsonType = "kubernetes.io/dockerconfigjson";
inline constexpr const char* kDockerCfgType = "kubernetes.io/dockercfg";

// The auth file for the pod's imagePullSecrets; {"auths": {}} when none applies.
Result<Json> pull_auth_config(const Manifest& m);

}  // namespace skiff::kubelet
