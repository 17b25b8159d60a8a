#pragma once
// $(VAR) references in a container's command, args and env values, as Kubernetes expands them
// (third_party/forked/golang/expansion): `$(NAME)` becomes NAME's value when NAME is defined and
// stays as written when it is not; `$$` is an escaped `$`; any other `$` (a trailing one, `$x`,
// an unclosed `$(`) is kept literally.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace skiff::kubelet {

// Expands `input` with `lookup` (nullopt: not defined).
std::string expand_vars(std::string_view input,
                        const std::function<std::optional<std::string>(std::string_view)>& lookup);

// expand_vars with a map of defined variables.
std::string expand_vars(std::string_view input, const std::map<std::string, std::string>& vars);

}  // namespace skiff::kubelet
