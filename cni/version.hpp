#pragma once
// CNI spec versions: which ones skiff speaks (0.3.0 … 1.1.0, reporting 1.1.0 as its own), parsing
// and ordering them, and which verbs each allows (CHECK from 0.4.0, STATUS and GC from 1.1.0).

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace skiff::cni {

inline constexpr std::string_view kSpecVersion = "1.1.0";

// Every version we accept in configurations and can produce results for, oldest first.
const std::vector<std::string>& supported_versions();
bool version_supported(std::string_view version);
// "1.0.0" -> {1,0,0}; nullopt when not a semantic version.
std::optional<std::array<int, 3>> parse_version(std::string_view version);
// <0, 0, >0 like strcmp; unparsable versions sort first.
int compare_versions(std::string_view a, std::string_view b);
bool version_at_least(std::string_view version, std::string_view minimum);
// The highest of `candidates` we support (the 1.1.0 "cniVersions" list); nullopt when none is.
std::optional<std::string> pick_version(const std::vector<std::string>& candidates);

}  // namespace skiff::cni
