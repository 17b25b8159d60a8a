#pragma once
// The three PATCH flavours kubectl sends: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
// strategic merge patch (lists merged by their patch merge keys, `$patch: delete|replace`,
// `$deleteFromPrimitiveList/…`, `$setElementOrder/…`, `$retainKeys`).

#include <string_view>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::api {

enum class PatchType { kJson, kMerge, kStrategic };

// Maps a Content-Type to a patch type; nullopt when it is not a patch type.
std::optional<PatchType> patch_type_from_content_type(std::string_view content_type);

Result<Json> json_patch(const Json& original, const Json& patch);
Result<Json> merge_patch(const Json& original, const Json& patch);
Result<Json> strategic_merge_patch(const Json& original, const Json& patch);
Result<Json> apply_patch(PatchType type, const Json& original, const Json& patch);

}  // namespace skiff::api
