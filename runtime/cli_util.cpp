#include "runtime/cli_util.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "common/strings.hpp"

namespace skiff::runtime::cli {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

void add_unique(std::vector<std::string>& set, const std::string& cap) {
  if (std::find(set.begin(), set.end(), cap) == set.end()) set.push_back(cap);
}

}  // namespace

Result<void> check_args(std::string_view verb, const std::vector<std::string>& args, size_t min,
                        size_t max) {
  std::string need = min == max ? cat("exactly ", min) : cat("a minimum of ", min);
  if (args.size() < min) return error('"', verb, "\" requires ", need, " argument(s)");
  if (args.size() > max) {
    std::string allowed = min == max ? need : cat("a maximum of ", max);
    return error('"', verb, "\" requires ", allowed, " argument(s): unexpected argument \"",
                 args[max], '"');
  }
  return ok();
}

std::vector<std::string> double_dash_global_flags(std::vector<std::string> args,
                                                  const std::vector<std::string>& with_value,
                                                  const std::vector<std::string>& without_value) {
  auto known = [](const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") break;  // the verb, or "--"
    bool long_form = arg[1] == '-';
    std::string_view flag = std::string_view(arg).substr(long_form ? 2 : 1);
    bool has_value = flag.find('=') != std::string_view::npos;
    std::string name(flag.substr(0, flag.find('=')));
    bool takes_value = known(with_value, name);
    if (!long_form && name.size() > 1 && (takes_value || known(without_value, name))) {
      arg.insert(0, "-");
    }
    if (takes_value && !has_value) ++i;  // skip the flag's value
  }
  return args;
}

Result<int64_t> parse_size(std::string_view text) {
  if (text == "-1") return int64_t{-1};
  auto bad = [&] { return error("invalid size: '", text, "'"); };
  // go-units: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    return i > start;
  };
  if (!digits()) return bad();
  while (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return bad();
  }
  auto number = parse_double(text.substr(0, i));
  if (!number) return bad();  // "1.2.3" matches the pattern but is no number (as in go-units)
  if (i < text.size() && text[i] == ' ') ++i;
  double multiplier = 1;
  static constexpr std::string_view kUnits = "kmgtp";
  // 1024^(unit+1), exact; a table rather than std::pow keeps libm out of the binary's start-up.
  static constexpr double kMultipliers[] = {0x1p10, 0x1p20, 0x1p30, 0x1p40, 0x1p50};
  if (i < text.size()) {
    size_t unit = kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
    if (unit != std::string_view::npos) {
      multiplier = kMultipliers[unit];
      ++i;
    }
  }
  if (i < text.size() && (text[i] == 'i' || text[i] == 'I')) ++i;
  if (i < text.size() && (text[i] == 'b' || text[i] == 'B')) ++i;
  if (i != text.size()) return bad();
  double bytes = *number * multiplier;
  if (bytes >= 9.2e18) return error("invalid size: '", text, "': too large");
  return static_cast<int64_t>(bytes);
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto bad = [&] { return error("time: invalid duration \"", text, '"'); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return bad();
  struct Unit {
    std::string_view name;
    double ns;
  };
  static constexpr Unit kUnits[] = {{"ns", 1},          {"us", 1e3},  {"\xC2\xB5s", 1e3},
                                    {"\xCE\xBCs", 1e3}, {"ms", 1e6},  {"s", 1e9},
                                    {"m", 60e9},        {"h", 3600e9}};
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (is_digit(s[i]) || s[i] == '.')) ++i;
    std::string_view number = s.substr(0, i);
    if (number.empty() || number == ".") return bad();
    auto value = parse_double(number.front() == '.' ? cat("0", number) : std::string(number));
    if (!value) return bad();
    size_t j = i;
    while (j < s.size() && !is_digit(s[j]) && s[j] != '.') ++j;
    std::string_view unit = s.substr(i, j - i);
    if (unit.empty()) return error("time: missing unit in duration \"", text, '"');
    auto it = std::find_if(std::begin(kUnits), std::end(kUnits),
                           [&](const Unit& u) { return u.name == unit; });
    if (it == std::end(kUnits))
      return error("time: unknown unit \"", unit, "\" in duration \"", text, '"');
    total += static_cast<long double>(*value) * it->ns;
    s.remove_prefix(j);
  }
  if (total > 9.2e18L) return bad();
  auto ns = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::vector<std::string> merge_env(std::vector<std::string> base,
                                   const std::vector<std::string>& overrides) {
  auto key_of = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
  for (const auto& kv : overrides) {
    auto key = key_of(kv);
    auto it = std::find_if(base.begin(), base.end(),
                           [&](const std::string& e) { return key_of(e) == key; });
    if (it != base.end()) {
      *it = kv;
    } else {
      base.push_back(kv);
    }
  }
  return base;
}

Result<UserSpec> parse_user(std::string_view text) {
  auto parts = split(text, ':');
  if (parts.size() > 2) return error("invalid user ", quote(text), ": expected UID[:GID]");
  UserSpec u;
  auto uid = parse_int<uint32_t>(parts[0]);
  if (!uid) return error("invalid user ", quote(text), ": uid must be a number");
  u.uid = *uid;
  if (parts.size() == 2) {
    auto gid = parse_int<uint32_t>(parts[1]);
    if (!gid) return error("invalid user ", quote(text), ": gid must be a number");
    u.gid = *gid;
  }
  return u;
}

std::string normalize_capability(std::string_view name) {
  std::string out;
  for (char c : name) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (out.rfind("CAP_", 0) != 0) out.insert(0, "CAP_");
  return out;
}

void add_exec_capabilities(oci::Process& process, const std::vector<std::string>& caps) {
  if (caps.empty()) return;
  if (!process.capabilities) process.capabilities.emplace();
  for (const auto& name : caps) {
    std::string cap = normalize_capability(name);
    add_unique(process.capabilities->bounding, cap);
    add_unique(process.capabilities->effective, cap);
    add_unique(process.capabilities->permitted, cap);
  }
}

Result<std::string> filter_ps_output(std::string_view ps_output, const std::vector<pid_t>& pids) {
  std::vector<std::string> lines = split(ps_output, '\n');
  if (lines.empty() || trim(lines[0]).empty()) return error("ps printed no header line");
  auto header = fields(lines[0]);
  auto pid_column = std::find(header.begin(), header.end(), "PID");
  if (pid_column == header.end()) return error("couldn't find PID field in ps output");
  size_t index = static_cast<size_t>(pid_column - header.begin());
  std::set<pid_t> wanted(pids.begin(), pids.end());
  std::string out = cat(lines[0], "\n");
  for (size_t i = 1; i < lines.size(); ++i) {
    auto f = fields(lines[i]);
    if (f.size() <= index) continue;
    auto pid = parse_int<pid_t>(f[index]);
    if (pid && wanted.count(*pid)) out += cat(lines[i], "\n");
  }
  return out;
}

std::string format_table(const std::vector<std::vector<std::string>>& rows, size_t min_width,
                         size_t padding) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      if (widths.size() <= c) widths.resize(c + 1, min_width);
      widths[c] = std::max(widths[c], row[c].size() + padding);
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out.append(widths[c] - row[c].size(), ' ');
    }
    out += '\n';
  }
  return out;
}

Json stats_event(const std::string& id, const cgroups::Stats& s) {
  Json cpu = {
      {"usage",
       {{"total", s.cpu_usage_total}, {"user", s.cpu_usage_user}, {"kernel", s.cpu_usage_kernel}}},
      {"throttling",
       {{"throttledPeriods", s.cpu_throttled_periods}, {"throttledTime", s.cpu_throttled_time}}}};
  Json memory = {
      {"usage",
       {{"usage", s.memory_usage}, {"max", s.memory_max_usage}, {"limit", s.memory_limit}}},
      {"swap", {{"usage", s.memory_swap_usage}, {"limit", s.memory_swap_limit}}},
      {"cache", s.memory_cache}};
  Json pids = {{"current", s.pids_current}, {"limit", s.pids_limit}};
  return {
      {"type", "stats"}, {"id", id}, {"data", {{"cpu", cpu}, {"memory", memory}, {"pids", pids}}}};
}

}  // namespace skiff::runtime::cli
