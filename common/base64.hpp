#pragma once
// Standard base64 (RFC 4648 section 4, with padding), the one implementation behind Secret data,
// kubeconfigs, CNI's result cache (libcni's JSON []byte) and WireGuard keys.

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace skiff {

std::string base64_encode(std::string_view data);
// Padded base64 to bytes; the error names the first offending position (EINVAL). Like Go's
// StdEncoding, spare bits in the last character are not checked: a caller that wants the
// canonical form compares base64_encode() of the result with its input.
Result<std::string> base64_decode(std::string_view text);

}  // namespace skiff
