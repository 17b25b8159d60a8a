#pragma once
// Small string helpers: concatenation (GCC 12 has no <format>), splitting, trimming, quoting.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace skiff {

namespace detail {
inline void append(std::string& out, std::string_view s) { out.append(s); }
inline void append(std::string& out, const char* s) { out.append(s ? s : "(null)"); }
inline void append(std::string& out, const std::string& s) { out.append(s); }
inline void append(std::string& out, char c) { out.push_back(c); }
inline void append(std::string& out, bool b) { out.append(b ? "true" : "false"); }
template <typename T>
  requires std::is_arithmetic_v<T>
void append(std::string& out, T v) {
  out.append(std::to_string(v));
}
}  // namespace detail

// cat("a", 1, std::string("b")) == "a1b"
template <typename... Args>
std::string cat(Args&&... args) {
  std::string out;
  (detail::append(out, std::forward<Args>(args)), ...);
  return out;
}

// Wraps a path or name in backticks for error messages: `"/etc/x"` -> "`/etc/x`".
inline std::string quote(std::string_view s) { return cat('`', s, '`'); }

std::vector<std::string> split(std::string_view s, char sep, bool skip_empty = false);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view s);

template <typename T>
std::optional<T> parse_int(std::string_view s, int base = 10) {
  T value{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

}  // namespace skiff
