#pragma once
// Label selectors (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) and field selectors
// (`metadata.name=x,spec.nodeName!=`), parsed once and matched against objects, as
// apimachinery's labels.Parse and fields.ParseSelector do.

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json_util.hpp"

namespace skiff::api {

struct Requirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kEquals;
  std::vector<std::string> values;
};

class LabelSelector {
 public:
  // Parses the query-string form; the error names the offending part.
  static Result<LabelSelector> parse(std::string_view text);
  // From a metav1.LabelSelector object ({matchLabels, matchExpressions}); null matches everything.
  static Result<LabelSelector> from_json(const Json& selector);
  bool empty() const { return reqs_.empty(); }
  // `labels` is the metadata.labels object (or null).
  bool matches(const Json& labels) const;
  const std::vector<Requirement>& requirements() const { return reqs_; }

 private:
  std::vector<Requirement> reqs_;
};

class FieldSelector {
 public:
  // Only =, == and != on dotted paths (`metadata.name`, `spec.nodeName`, `involvedObject.uid`).
  static Result<FieldSelector> parse(std::string_view text);
  bool empty() const { return reqs_.empty(); }
  bool matches(const Json& object) const;
  // The value required for `field` by an equality term, if any (an index hint).
  const std::string* equals_value(std::string_view field) const;

 private:
  std::vector<Requirement> reqs_;
};

// The string value at a dotted path ("" when missing; numbers and bools as text).
std::string field_value(const Json& object, std::string_view dotted_path);

}  // namespace skiff::api
