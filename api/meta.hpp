#pragma once
// ObjectMeta helpers: names (RFC 1123 label/subdomain rules as kube-apiserver checks them), UIDs,
// RFC 3339 timestamps, generateName, and the kube-style human age ("5m10s").

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_util.hpp"

namespace skiff::api {

// Empty when `s` is a valid DNS-1123 label (<= 63, [a-z0-9-], alnum at both ends); else why not.
std::string check_dns_label(std::string_view s);
// Empty when `s` is a valid DNS-1123 subdomain (<= 253, dot-separated labels); else why not.
std::string check_dns_subdomain(std::string_view s);
// Empty when `s` is a valid qualified name (label keys, annotation keys): [prefix/]name.
std::string check_qualified_name(std::string_view s);
// Empty when `s` is a valid label value (<= 63, alnum ends, [-_.A-Za-z0-9]).
std::string check_label_value(std::string_view s);

// A random RFC 4122 version-4 UUID.
std::string new_uid();
// "2024-01-02T03:04:05Z" for the given time (seconds precision, as metav1.Time).
std::string rfc3339(std::chrono::system_clock::time_point t);
std::string now_rfc3339();
// Parses an RFC 3339 UTC timestamp ("...Z"); nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);
// kube's duration.HumanDuration: "45s", "3m20s", "5h", "3d4h", "400d".
std::string human_duration(std::chrono::seconds d);
// `prefix` + 5 random characters from kube's alphabet (bcdfghjklmnpqrstvwxz2456789).
std::string generate_name(std::string_view prefix);

// Field access helpers on objects that may lack the path (return the fallback).
std::string str_at(const Json& obj, std::initializer_list<const char*> path,
                   std::string fallback = "");
const Json* at_path(const Json& obj, std::initializer_list<const char*> path);

// A Kubernetes quantity ("100m", "1Gi", "2", "1.5", "1e3") in milli-units; nullopt when invalid.
std::optional<int64_t> parse_quantity_milli(std::string_view s);

}  // namespace skiff::api
