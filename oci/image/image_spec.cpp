// JSON -> image-spec model. Unknown fields are ignored (the spec allows extensions); null counts as
// absent. Errors name the JSON path: "layers[0].size: expected integer, got string".
#include "oci/image/image_spec.hpp"

#include "oci/image/media_types.hpp"
#include "oci/json_path.hpp"

namespace skiff::image {
namespace {

using oci::field_path;
using oci::index_path;

Error type_error(const std::string& path, const char* expected, const Json& got) {
  if (path.empty()) return error("expected ", expected, ", got ", json_type_name(got));
  return error(path, ": expected ", expected, ", got ", json_type_name(got));
}

// A JSON object read field by field.
class Fields {
 public:
  static Result<Fields> of(const Json& v, const std::string& path) {
    if (!v.is_object()) return type_error(path, "object", v);
    return Fields(v, path);
  }

  const Json* get(const char* key) const {
    auto it = j_->find(key);
    return it == j_->end() || it->is_null() ? nullptr : &*it;
  }
  std::string path(const char* key) const { return field_path(path_, key); }

  Result<std::string> string(const char* key, bool required = false) const {
    const Json* v = get(key);
    if (!v) {
      if (required) return error(path(key), ": required");
      return std::string();
    }
    if (!v->is_string()) return type_error(path(key), "string", *v);
    return v->get<std::string>();
  }

  Result<std::vector<std::string>> strings(const char* key) const {
    std::vector<std::string> out;
    const Json* v = get(key);
    if (!v) return out;
    if (!v->is_array()) return type_error(path(key), "array", *v);
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) return type_error(index_path(path(key), i), "string", (*v)[i]);
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }

  Result<std::map<std::string, std::string>> string_map(const char* key) const {
    std::map<std::string, std::string> out;
    const Json* v = get(key);
    if (!v) return out;
    if (!v->is_object()) return type_error(path(key), "object", *v);
    for (const auto& [k, value] : v->items()) {
      if (!value.is_string()) return type_error(field_path(path(key), k), "string", value);
      out[k] = value.get<std::string>();
    }
    return out;
  }

  // The keys of an object whose values do not matter ({"80/tcp": {}}).
  Result<std::vector<std::string>> keys(const char* key) const {
    std::vector<std::string> out;
    const Json* v = get(key);
    if (!v) return out;
    if (!v->is_object()) return type_error(path(key), "object", *v);
    for (const auto& item : v->items()) out.push_back(item.key());
    return out;
  }

  Result<int64_t> integer(const char* key, bool required) const {
    const Json* v = get(key);
    if (!v) {
      if (required) return error(path(key), ": required");
      return int64_t{0};
    }
    if (!v->is_number_integer()) return type_error(path(key), "integer", *v);
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
      return error(path(key), ": out of range");
    return v->get<int64_t>();
  }

  Result<Digest> digest(const char* key) const {
    std::string s = TRY(string(key, true));
    auto d = parse_digest(s);
    if (!d) return error(path(key), ": ", d.error().message());
    return d;
  }

 private:
  Fields(const Json& j, std::string path) : j_(&j), path_(std::move(path)) {}
  const Json* j_;
  std::string path_;
};

Result<int> schema_version(const Fields& f) {
  int64_t v = TRY(f.integer("schemaVersion", true));
  if (v != 2) return error(f.path("schemaVersion"), ": want 2, got ", v);
  return static_cast<int>(v);
}

void put_map(Json& j, const char* key, const std::map<std::string, std::string>& m) {
  if (!m.empty()) j[key] = m;
}

}  // namespace

std::string Platform::str() const {
  std::string s = cat(os.empty() ? "?" : os, '/', architecture.empty() ? "?" : architecture);
  if (!variant.empty()) s += cat('/', variant);
  return s;
}

Result<Platform> parse_platform_json(const Json& j, const std::string& path) {
  auto f = TRY(Fields::of(j, path));
  Platform p;
  p.architecture = TRY(f.string("architecture", true));
  p.os = TRY(f.string("os", true));
  p.os_version = TRY(f.string("os.version"));
  p.os_features = TRY(f.strings("os.features"));
  p.variant = TRY(f.string("variant"));
  return p;
}

Result<Descriptor> parse_descriptor(const Json& j, const std::string& path) {
  auto f = TRY(Fields::of(j, path));
  Descriptor d;
  d.media_type = TRY(f.string("mediaType", true));
  d.digest = TRY(f.digest("digest"));
  d.size = TRY(f.integer("size", true));
  if (d.size < 0) return error(f.path("size"), ": must not be negative");
  d.urls = TRY(f.strings("urls"));
  d.annotations = TRY(f.string_map("annotations"));
  if (const Json* p = f.get("platform"))
    d.platform = TRY(parse_platform_json(*p, f.path("platform")));
  return d;
}

Result<Index> parse_index(const Json& j) {
  auto f = TRY(Fields::of(j, ""));
  Index index;
  index.schema_version = TRY(schema_version(f));
  index.media_type = TRY(f.string("mediaType"));
  if (!index.media_type.empty() && !media::is_index(index.media_type))
    return error("mediaType: ", quote(index.media_type), " is not an image index");
  const Json* ms = f.get("manifests");
  if (!ms) return error("manifests: required");
  if (!ms->is_array()) return type_error("manifests", "array", *ms);
  for (size_t i = 0; i < ms->size(); ++i)
    index.manifests.push_back(TRY(parse_descriptor((*ms)[i], index_path("manifests", i))));
  index.annotations = TRY(f.string_map("annotations"));
  return index;
}

Result<Manifest> parse_manifest(const Json& j) {
  auto f = TRY(Fields::of(j, ""));
  Manifest m;
  m.schema_version = TRY(schema_version(f));
  m.media_type = TRY(f.string("mediaType"));
  if (!m.media_type.empty() && !media::is_manifest(m.media_type))
    return error("mediaType: ", quote(m.media_type), " is not an image manifest");
  const Json* config = f.get("config");
  if (!config) return error("config: required");
  m.config = TRY(parse_descriptor(*config, "config"));
  if (!media::is_config(m.config.media_type))
    return error("config.mediaType: ", quote(m.config.media_type),
                 " is not a container image config (an OCI artifact?)");
  const Json* layers = f.get("layers");
  if (!layers) return error("layers: required");
  if (!layers->is_array()) return type_error("layers", "array", *layers);
  for (size_t i = 0; i < layers->size(); ++i) {
    std::string path = index_path("layers", i);
    Descriptor d = TRY(parse_descriptor((*layers)[i], path));
    if (auto c = media::layer_compression(d.media_type); !c)
      return error(path, ".mediaType: ", c.error().message());
    m.layers.push_back(std::move(d));
  }
  m.annotations = TRY(f.string_map("annotations"));
  return m;
}

Result<ImageConfig> parse_config(const Json& j) {
  auto f = TRY(Fields::of(j, ""));
  ImageConfig c;
  c.created = TRY(f.string("created"));
  c.author = TRY(f.string("author"));
  c.architecture = TRY(f.string("architecture"));
  c.os = TRY(f.string("os"));
  c.variant = TRY(f.string("variant"));
  if (const Json* cfg = f.get("config")) {
    auto e = TRY(Fields::of(*cfg, "config"));
    ContainerConfig& cc = c.config;
    cc.user = TRY(e.string("User"));
    cc.exposed_ports = TRY(e.keys("ExposedPorts"));
    cc.env = TRY(e.strings("Env"));
    cc.entrypoint = TRY(e.strings("Entrypoint"));
    cc.cmd = TRY(e.strings("Cmd"));
    cc.volumes = TRY(e.keys("Volumes"));
    cc.working_dir = TRY(e.string("WorkingDir"));
    cc.labels = TRY(e.string_map("Labels"));
    cc.stop_signal = TRY(e.string("StopSignal"));
  }
  const Json* rootfs = f.get("rootfs");
  if (!rootfs) return error("rootfs: required");
  auto r = TRY(Fields::of(*rootfs, "rootfs"));
  c.rootfs_type = TRY(r.string("type", true));
  if (c.rootfs_type != "layers")
    return error("rootfs.type: want \"layers\", got ", json_quote(c.rootfs_type));
  const Json* diff_ids = r.get("diff_ids");
  if (!diff_ids) return error("rootfs.diff_ids: required");
  if (!diff_ids->is_array()) return type_error("rootfs.diff_ids", "array", *diff_ids);
  for (size_t i = 0; i < diff_ids->size(); ++i) {
    std::string path = index_path("rootfs.diff_ids", i);
    const Json& v = (*diff_ids)[i];
    if (!v.is_string()) return type_error(path, "string", v);
    auto d = parse_digest(v.get<std::string>());
    if (!d) return error(path, ": ", d.error().message());
    c.diff_ids.push_back(std::move(*d));
  }
  if (const Json* h = f.get("history")) {
    if (!h->is_array()) return type_error("history", "array", *h);
    c.history_entries = h->size();
  }
  return c;
}

Result<DocumentKind> document_kind(const Json& j, std::string_view descriptor_type) {
  auto classify = [](std::string_view t) -> Result<DocumentKind> {
    if (media::is_index(t)) return DocumentKind::kIndex;
    if (media::is_manifest(t)) return DocumentKind::kManifest;
    if (t == media::kDockerSchema1 || t == media::kDockerSchema1Signed)
      return error("Docker schema 1 manifests are not supported (", quote(t), ")");
    return error("unknown manifest media type ", quote(t));
  };
  if (!descriptor_type.empty()) return classify(descriptor_type);
  if (j.is_object()) {
    auto mt = j.find("mediaType");
    if (mt != j.end() && mt->is_string()) return classify(mt->get<std::string>());
    if (j.contains("manifests")) return DocumentKind::kIndex;
    if (j.contains("config") && j.contains("layers")) return DocumentKind::kManifest;
    if (j.contains("fsLayers")) return classify(media::kDockerSchema1);
  }
  return error("neither an image index nor a manifest (no mediaType, manifests or layers)");
}

Json to_json(const Platform& p) {
  Json j = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

Json to_json(const Descriptor& d) {
  Json j = {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
  if (!d.urls.empty()) j["urls"] = d.urls;
  put_map(j, "annotations", d.annotations);
  if (d.platform) j["platform"] = to_json(*d.platform);
  return j;
}

Json to_json(const Manifest& m) {
  Json j = {{"schemaVersion", m.schema_version}};
  if (!m.media_type.empty()) j["mediaType"] = m.media_type;
  j["config"] = to_json(m.config);
  j["layers"] = Json::array();
  for (const auto& l : m.layers) j["layers"].push_back(to_json(l));
  put_map(j, "annotations", m.annotations);
  return j;
}

Json to_json(const Index& i) {
  Json j = {{"schemaVersion", i.schema_version}};
  if (!i.media_type.empty()) j["mediaType"] = i.media_type;
  j["manifests"] = Json::array();
  for (const auto& m : i.manifests) j["manifests"].push_back(to_json(m));
  put_map(j, "annotations", i.annotations);
  return j;
}

}  // namespace skiff::image
