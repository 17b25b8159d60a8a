#include "kubelet/pod/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <regex>
#include <sstream>

namespace skiff::kubelet {
namespace {

Json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: a string whatever it looks like
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (std::regex_match(s, kInt)) {
    if (auto v = parse_int<int64_t>(s[0] == '+' ? s.substr(1) : s)) return *v;
    return s;
  }
  if (std::regex_match(s, kFloat)) {
    try {
      return std::stod(s);
    } catch (...) {
      return s;
    }
  }
  return s;
}

Result<Json> convert(const YAML::Node& n, const std::string& path) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      return scalar(n);
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      size_t i = 0;
      for (const auto& item : n) {
        a.push_back(TRY(convert(item, cat(path, '[', i, ']'))));
        ++i;
      }
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar())
          return error(path.empty() ? "document" : path, ": mapping keys must be scalars");
        std::string key = kv.first.Scalar();
        std::string child = path.empty() ? key : cat(path, '.', key);
        if (o.contains(key)) return error(child, ": duplicate key");
        o[key] = TRY(convert(kv.second, child));
      }
      return o;
    }
  }
  return Json(nullptr);
}

void emit(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& e : j) emit(out, e);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    Json typed = scalar(YAML::Node(s));
    if (!typed.is_string() || s.empty())
      out << YAML::DoubleQuoted << s;  // would read back as another type
    else
      out << s;
  } else if (j.is_null()) {
    out << YAML::Null;
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else {
    out << j.dump();
  }
}

}  // namespace

Result<std::vector<Json>> yaml_documents(std::string_view text, std::string_view what) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return error(what, ": invalid YAML at line ", e.mark.line + 1, ", column ", e.mark.column + 1,
                 ": ", e.msg);
  }
  std::vector<Json> out;
  size_t index = 0;
  for (const auto& d : docs) {
    ++index;
    if (d.IsNull()) continue;
    try {
      out.push_back(TRY_CTX(convert(d, ""), what, " (document ", index, ")"));
    } catch (const YAML::Exception& e) {
      return error(what, " (document ", index, "): ", e.what());
    }
  }
  return out;
}

std::string to_yaml(const Json& j) {
  YAML::Emitter out;
  emit(out, j);
  return std::string(out.c_str()) + "\n";
}

}  // namespace skiff::kubelet
