#include "api/meta.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>

#include "common/strings.hpp"

namespace skiff::api {

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string check_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back()))
    goto bad;
  for (char c : s)
    if (!is_lower_alnum(c) && c != '-') goto bad;
  return "";
bad:
  if (s.size() > 63) return "must be no more than 63 characters";
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
         "and must start and end with an alphanumeric character (e.g. 'my-name',  or "
         "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
}

std::string check_dns_subdomain(std::string_view s) {
  if (s.size() > 253) return "must be no more than 253 characters";
  bool ok = !s.empty();
  for (const auto& part : split(s, '.'))
    if (part.empty() || !check_dns_label(part).empty()) ok = false;
  if (ok) return "";
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
         "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
         "regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

static bool valid_name_part(std::string_view s) {
  if (s.empty() || s.size() > 63 || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string check_qualified_name(std::string_view s) {
  auto slash = s.find('/');
  std::string_view name = s;
  if (slash != std::string_view::npos) {
    if (!check_dns_subdomain(s.substr(0, slash)).empty())
      return "prefix part must be a lowercase RFC 1123 subdomain";
    name = s.substr(slash + 1);
  }
  if (valid_name_part(name)) return "";
  return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
         "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
         "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
}

std::string check_label_value(std::string_view s) {
  if (s.empty() || valid_name_part(s)) return "";
  return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
         "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
         "'my_value',  or '12345', regex used for validation is "
         "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
}

static std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

std::string new_uid() {
  uint64_t a = rng()(), b = rng()();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[40];
  snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
           static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
           static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  struct tm tm = {};
  std::string text(s);
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  if (*end == '.')
    while (std::isdigit(static_cast<unsigned char>(*++end))) {
    }
  if (std::string_view(end) != "Z") return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string human_duration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s < 0) s = 0;
  if (s < 120) return cat(s, "s");
  int64_t m = s / 60, h = s / 3600;
  if (m < 10) return s % 60 == 0 ? cat(m, "m") : cat(m, "m", s % 60, "s");
  if (h < 3) return cat(m, "m");
  if (h < 8) return m % 60 == 0 ? cat(h, "h") : cat(h, "h", m % 60, "m");
  if (h < 48) return cat(h, "h");
  if (h < 24 * 8) return h % 24 == 0 ? cat(h / 24, "d") : cat(h / 24, "d", h % 24, "h");
  if (h < 24 * 365 * 2) return cat(h / 24, "d");
  if (h < 24 * 365 * 8) {
    int64_t days = h / 24;
    return days % 365 == 0 ? cat(days / 365, "y") : cat(days / 365, "y", days % 365, "d");
  }
  return cat(h / 24 / 365, "y");
}

std::string generate_name(std::string_view prefix) {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out(prefix);
  for (int i = 0; i < 5; i++) out.push_back(kAlphabet[rng()() % (sizeof kAlphabet - 1)]);
  return out;
}

const Json* at_path(const Json& obj, std::initializer_list<const char*> path) {
  const Json* cur = &obj;
  for (const char* p : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(p);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string str_at(const Json& obj, std::initializer_list<const char*> path, std::string fallback) {
  const Json* v = at_path(obj, path);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

std::optional<int64_t> parse_quantity_milli(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') i++;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) i++;
  std::string number(s.substr(0, i));
  std::string_view suffix = s.substr(i);
  if (number.empty() || number == "." || number == "+" || number == "-") return std::nullopt;
  char* end = nullptr;
  double v = strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) return std::nullopt;
  double mult = 1;
  static const std::pair<const char*, double> kSuffixes[] = {{"Ki", 1024.0},
                                                             {"Mi", 1048576.0},
                                                             {"Gi", 1073741824.0},
                                                             {"Ti", 1099511627776.0},
                                                             {"Pi", 1125899906842624.0},
                                                             {"Ei", 1152921504606846976.0},
                                                             {"n", 1e-9},
                                                             {"u", 1e-6},
                                                             {"m", 1e-3},
                                                             {"", 1},
                                                             {"k", 1e3},
                                                             {"M", 1e6},
                                                             {"G", 1e9},
                                                             {"T", 1e12},
                                                             {"P", 1e15},
                                                             {"E", 1e18}};
  bool found = false;
  for (const auto& [name, m] : kSuffixes)
    if (suffix == name) {
      mult = m;
      found = true;
    }
  if (!found) {
    if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
      auto exp = parse_int<int>(suffix.substr(1));
      if (!exp) return std::nullopt;
      mult = std::pow(10.0, *exp);
    } else {
      return std::nullopt;
    }
  }
  return static_cast<int64_t>(std::ceil(v * mult * 1000.0 - 1e-9));
}

}  // namespace skiff::api
