#include "kubelet/node/stats.hpp"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>

#include "api/meta.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "kubelet/shim/pod_record.hpp"

namespace skiff::kubelet::node {

namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<uint64_t> read_u64(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  return parse_int<uint64_t>(trim(*text));
}

// "key value" lines (memory.stat, cpu.stat, /proc/vmstat).
std::map<std::string, uint64_t> parse_kv(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (const auto& line : split(text, '\n', true)) {
    auto parts = split(line, ' ', true);
    if (parts.size() < 2) continue;
    if (auto v = parse_int<uint64_t>(parts[1])) out[parts[0]] = *v;
  }
  return out;
}
std::map<std::string, uint64_t> read_kv(const std::string& path) {
  auto text = read_file(path);
  return text ? parse_kv(*text) : std::map<std::string, uint64_t>();
}

std::optional<uint64_t> get(const std::map<std::string, uint64_t>& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

bool is_v2(const std::string& root) { return path_exists(root + "/cgroup.controllers"); }

// Where the memory controller's directory of `rel` is (what container cgroups are listed in).
std::string memory_dir(const std::string& root, const std::string& rel) {
  return is_v2(root) ? root + rel : root + "/memory" + rel;
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

thread_local uint64_t du_total = 0;
int du_visit(const char*, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_F || type == FTW_D || type == FTW_SL) du_total += uint64_t(st->st_blocks) * 512;
  return 0;
}
// Bytes on disk under `dir`, this filesystem only (a container's rootfs mount is not counted).
uint64_t disk_usage(const std::string& dir) {
  du_total = 0;
  if (path_exists(dir)) nftw(dir.c_str(), du_visit, 16, FTW_PHYS | FTW_MOUNT);
  return du_total;
}

std::string interface_of_default_route() {
  auto text = read_file("/proc/net/route");
  if (!text) return "";
  for (const auto& line : split(*text, '\n', true)) {
    auto f = split(line, '\t', true);
    if (f.size() > 2 && f[1] == "00000000") return std::string(trim(f[0]));
  }
  return "";
}

Json fs_json(const NodeUsage::Fs& f, const std::string& t) {
  return {{"time", t},
          {"availableBytes", f.available},
          {"capacityBytes", f.capacity},
          {"usedBytes", f.used},
          {"inodesFree", f.inodes_free},
          {"inodes", f.inodes},
          {"inodesUsed", f.inodes - std::min(f.inodes, f.inodes_free)}};
}

Json cpu_json(const CgroupUsage& u, const std::optional<uint64_t>& nano, const std::string& t) {
  Json j = {{"time", t}};
  if (nano) j["usageNanoCores"] = *nano;
  if (u.cpu_ns) j["usageCoreNanoSeconds"] = *u.cpu_ns;
  return j;
}

Json memory_json(const CgroupUsage& u, const std::string& t) {
  Json j = {{"time", t}};
  if (u.memory_usage) j["usageBytes"] = *u.memory_usage;
  if (u.working_set) j["workingSetBytes"] = *u.working_set;
  if (u.rss) j["rssBytes"] = *u.rss;
  if (u.page_faults) j["pageFaults"] = *u.page_faults;
  if (u.major_page_faults) j["majorPageFaults"] = *u.major_page_faults;
  return j;
}

Json network_json(const std::vector<InterfaceCounters>& ifs, const std::string& primary,
                  const std::string& t) {
  Json j = {{"time", t}};
  Json list = Json::array();
  for (const auto& i : ifs) {
    Json e = {{"name", i.name},
              {"rxBytes", i.rx_bytes},
              {"rxErrors", i.rx_errors},
              {"txBytes", i.tx_bytes},
              {"txErrors", i.tx_errors}};
    if (i.name == primary || (primary.empty() && list.empty()))
      for (const auto& [k, v] : e.items()) j[k] = v;
    list.push_back(std::move(e));
  }
  j["interfaces"] = list;
  return j;
}

// Seconds since the epoch of an RFC 3339 time, 0 when none.
double epoch_seconds(const std::string& t) {
  auto tp = api::parse_rfc3339(t);
  if (!tp) return 0;
  return std::chrono::duration<double>(tp->time_since_epoch()).count();
}

std::string fmt_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    snprintf(buf, sizeof buf, "%.0f", v);
  else
    snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

CgroupUsage parse_cgroup_usage(bool v2, const CgroupFileReader& read) {
  // Where each counter is: a v1 hierarchy (ignored on v2), a file, a "key value" line of it
  // (nullptr: the file is one number), and the unit's factor. The first row that yields a
  // value fills its counter (cpuacct is its own hierarchy or mounted with cpu).
  struct Row {
    const char* controller;
    const char* file;
    const char* key;
    uint64_t scale;
    std::optional<uint64_t> CgroupUsage::*field;
  };
  static constexpr Row kV1[] = {
      {"cpuacct", "cpuacct.usage", nullptr, 1, &CgroupUsage::cpu_ns},
      {"cpu,cpuacct", "cpuacct.usage", nullptr, 1, &CgroupUsage::cpu_ns},
      {"memory", "memory.usage_in_bytes", nullptr, 1, &CgroupUsage::memory_usage},
      {"memory", "memory.stat", "total_inactive_file", 1, &CgroupUsage::inactive_file},
      {"memory", "memory.stat", "total_rss", 1, &CgroupUsage::rss},
      {"memory", "memory.stat", "total_pgfault", 1, &CgroupUsage::page_faults},
      {"memory", "memory.stat", "total_pgmajfault", 1, &CgroupUsage::major_page_faults},
      {"pids", "pids.current", nullptr, 1, &CgroupUsage::processes},
  };
  static constexpr Row kV2[] = {
      {"", "cpu.stat", "usage_usec", 1000, &CgroupUsage::cpu_ns},
      {"", "memory.current", nullptr, 1, &CgroupUsage::memory_usage},
      {"", "memory.stat", "inactive_file", 1, &CgroupUsage::inactive_file},
      {"", "memory.stat", "anon", 1, &CgroupUsage::rss},
      {"", "memory.stat", "pgfault", 1, &CgroupUsage::page_faults},
      {"", "memory.stat", "pgmajfault", 1, &CgroupUsage::major_page_faults},
      {"", "pids.current", nullptr, 1, &CgroupUsage::processes},
  };
  struct File {
    std::optional<std::string> text;
    std::map<std::string, uint64_t> kv;
  };
  CgroupUsage u;
  std::map<std::string, File> files;  // each file read and parsed once
  for (const Row& r : v2 ? std::span<const Row>(kV2) : std::span<const Row>(kV1)) {
    if (u.*r.field) continue;
    auto [it, added] = files.try_emplace(cat(r.controller, '/', r.file));
    File& f = it->second;
    if (added) {
      f.text = read(r.controller, r.file);
      if (f.text && r.key) f.kv = parse_kv(*f.text);
    }
    if (!f.text) continue;
    auto v = r.key ? get(f.kv, r.key) : parse_int<uint64_t>(trim(*f.text));
    if (v) u.*r.field = *v * r.scale;
  }
  if (u.memory_usage) {
    uint64_t inactive = u.inactive_file.value_or(0);
    u.working_set = *u.memory_usage > inactive ? *u.memory_usage - inactive : 0;
  }
  return u;
}

CgroupUsage read_cgroup_usage(const std::string& root, const std::string& rel) {
  bool v2 = is_v2(root);
  return parse_cgroup_usage(v2, [&](const std::string& controller, const std::string& file) {
    auto text =
        read_file(v2 ? cat(root, rel, '/', file) : cat(root, '/', controller, rel, '/', file));
    return text ? std::optional<std::string>(std::move(*text)) : std::nullopt;
  });
}

std::vector<InterfaceCounters> parse_net_dev(const std::string& text) {
  // Inter-|   Receive                                                |  Transmit
  //  face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs ...
  std::vector<InterfaceCounters> out;
  for (const auto& line : split(text, '\n', true)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto f = split(std::string_view(line).substr(colon + 1), ' ', true);
    if (f.size() < 16) continue;
    InterfaceCounters c;
    c.name = std::string(trim(std::string_view(line).substr(0, colon)));
    c.rx_bytes = parse_int<uint64_t>(f[0]).value_or(0);
    c.rx_errors = parse_int<uint64_t>(f[2]).value_or(0);
    c.tx_bytes = parse_int<uint64_t>(f[8]).value_or(0);
    c.tx_errors = parse_int<uint64_t>(f[10]).value_or(0);
    out.push_back(std::move(c));
  }
  return out;
}

uint64_t nano_cores(uint64_t prev_cpu_ns, uint64_t cur_cpu_ns, int64_t dt_ns) {
  if (dt_ns <= 0 || cur_cpu_ns < prev_cpu_ns) return 0;
  return static_cast<uint64_t>(static_cast<long double>(cur_cpu_ns - prev_cpu_ns) * 1e9L /
                               static_cast<long double>(dt_ns));
}

void PromText::family(const std::string& name, const std::string& help, const std::string& type) {
  std::string h;
  for (char c : help) h += c == '\n' ? std::string("\\n") : c == '\\' ? "\\\\" : std::string(1, c);
  out_ += cat("# HELP ", name, " ", h, "\n# TYPE ", name, " ", type, "\n");
}

std::string PromText::escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void PromText::sample(const std::string& name, const Labels& labels, double value, int64_t ts_ms) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); i++)
      out_ += cat(i ? "," : "", labels[i].first, "=\"", escape(labels[i].second), '"');
    out_ += '}';
  }
  out_ += cat(' ', fmt_double(value));
  if (ts_ms > 0) out_ += cat(' ', ts_ms);
  out_ += '\n';
}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds.size() && v > bounds[i]) i++;
  counts[i]++;
  sum += v;
  count++;
}

void Histogram::write(PromText& p, const std::string& name) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); i++) {
    cumulative += counts[i];
    p.sample(name + "_bucket", {{"le", fmt_double(bounds[i])}}, double(cumulative));
  }
  p.sample(name + "_bucket", {{"le", "+Inf"}}, double(count));
  p.sample(name + "_sum", {}, sum);
  p.sample(name + "_count", {}, double(count));
}

std::optional<NodeUsage::Fs> fs_usage(const std::string& path) {
  struct statvfs v {};
  if (path.empty() || statvfs(path.c_str(), &v) != 0) return std::nullopt;
  NodeUsage::Fs f;
  f.capacity = uint64_t(v.f_blocks) * v.f_frsize;
  f.available = uint64_t(v.f_bavail) * v.f_frsize;
  f.used = (uint64_t(v.f_blocks) - v.f_bfree) * v.f_frsize;
  f.inodes = v.f_files;
  f.inodes_free = v.f_ffree;
  return f;
}

StatsProvider::StatsProvider(StatsOptions o) : o_(std::move(o)) {}

std::optional<uint64_t> StatsProvider::rate(const std::string& key, uint64_t cpu_ns,
                                            int64_t now_ns) {
  std::lock_guard lock(mu_);
  auto it = history_.find(key);
  if (it == history_.end()) return std::nullopt;
  for (auto s = it->second.rbegin(); s != it->second.rend(); ++s)
    if (now_ns - s->t_ns >= 1'000'000'000) return nano_cores(s->cpu_ns, cpu_ns, now_ns - s->t_ns);
  return std::nullopt;
}

NodeUsage StatsProvider::collect() {
  NodeUsage u;
  u.time = std::chrono::system_clock::now();
  int64_t now = mono_ns();
  const std::string& root = o_.node.cgroup_root;

  // Node CPU: /proc/stat's busy jiffies (every cgroup layout has it).
  if (auto text = read_file("/proc/stat")) {
    auto first = split(*text, '\n', true);
    if (!first.empty()) {
      auto f = split(first[0], ' ', true);
      uint64_t busy = 0;
      for (size_t i : {1, 2, 3, 6, 7, 8})  // user nice system irq softirq steal
        if (i < f.size()) busy += parse_int<uint64_t>(f[i]).value_or(0);
      u.cpu_ns = busy * (1'000'000'000 / uint64_t(sysconf(_SC_CLK_TCK)));
    }
  }
  u.nano_cores = rate("node", u.cpu_ns, now);
  // Node memory as cAdvisor's root container: usage with the page cache, working set without
  // the inactive file pages.
  std::map<std::string, uint64_t> mi;
  if (auto text = read_file("/proc/meminfo"))
    for (const auto& line : split(*text, '\n', true)) {
      auto parts = split(line, ' ', true);
      if (parts.size() >= 2 && parts[0].ends_with(':'))
        mi[parts[0].substr(0, parts[0].size() - 1)] =
            parse_int<uint64_t>(parts[1]).value_or(0) * 1024;
    }
  u.memory_total = mi["MemTotal"];
  u.memory_usage = u.memory_total - std::min(u.memory_total, mi["MemFree"]);
  u.working_set = u.memory_usage - std::min(u.memory_usage, mi["Inactive(file)"]);
  u.rss = mi["AnonPages"];
  u.memory_available = u.memory_total - std::min(u.memory_total, u.working_set);
  auto vm = read_kv("/proc/vmstat");
  u.page_faults = get(vm, "pgfault").value_or(0);
  u.major_page_faults = get(vm, "pgmajfault").value_or(0);
  if (auto f = fs_usage(o_.node.state_root)) u.nodefs = *f;
  if (auto f = fs_usage(o_.node.image_root)) u.imagefs = *f;
  u.max_pid = read_u64("/proc/sys/kernel/pid_max").value_or(0);
  struct sysinfo si {};
  if (sysinfo(&si) == 0) u.processes = si.procs;
  if (auto text = read_file("/proc/net/dev"))
    for (auto& i : parse_net_dev(*text))
      if (i.name != "lo") u.interfaces.push_back(std::move(i));

  for (const auto& rec : list_pod_records(o_.node.state_root)) {
    PodUsage p;
    p.uid = rec.uid;
    p.name = rec.name;
    p.namespace_ = rec.namespace_;
    auto saved = read_json_file(rec.node.pod_dir(rec.uid) + "/status.json");
    if (!saved || !saved->is_object()) continue;
    const Json& st = (*saved)["status"];
    const Json& sb = (*saved)["sandbox"];
    p.start_time = st.is_object() ? st.value("startTime", "") : "";
    p.qos_class = sb.is_object() ? sb.value("qosClass", "") : "";
    p.cgroup = sb.is_object() ? sb.value("cgroup", "") : "";
    p.running = !saved->value("finished", false) && saved->value("shimPid", 0) > 0;
    if (!p.cgroup.empty()) {
      p.usage = read_cgroup_usage(root, p.cgroup);
      if (p.usage.cpu_ns) p.nano_cores = rate("pod/" + p.uid, *p.usage.cpu_ns, now);
      // The containers' cgroups: <pod cgroup>/<name>-<restart>; the newest run of each name
      // that the status lists as a container (init containers and the pause are left out).
      std::map<std::string, std::string> started;
      if (st.is_object())
        for (const auto& c : st.value("containerStatuses", Json::array()))
          started[c.value("name", "")] = api::str_at(c, {"state", "running", "startedAt"});
      std::map<std::string, std::pair<int, std::string>> newest;
      for (const auto& d : subdirs(memory_dir(root, p.cgroup))) {
        auto dash = d.rfind('-');
        if (dash == std::string::npos) continue;
        auto n = parse_int<int>(std::string_view(d).substr(dash + 1));
        std::string name = d.substr(0, dash);
        if (!n || !started.count(name)) continue;
        auto& best = newest[name];
        if (best.second.empty() || *n > best.first) best = {*n, d};
      }
      for (const auto& [name, run] : newest) {
        PodUsage::Container c;
        c.name = name;
        c.start_time = started[name];
        c.usage = read_cgroup_usage(root, p.cgroup + "/" + run.second);
        if (c.usage.cpu_ns) c.nano_cores = rate("ctr/" + p.uid + "/" + name, *c.usage.cpu_ns, now);
        p.containers.push_back(std::move(c));
      }
    }
    int pause = sb.is_object() ? sb.value("pausePid", 0) : 0;
    if (pause > 0 && !(sb.is_object() && sb.value("hostNetwork", false)))
      if (auto text = read_file(cat("/proc/", pause, "/net/dev")))
        for (auto& i : parse_net_dev(*text))
          if (i.name != "lo") p.interfaces.push_back(std::move(i));
    p.log_bytes = disk_usage(rec.node.log_dir(p.namespace_, p.name, p.uid));
    p.ephemeral_bytes = p.log_bytes + disk_usage(rec.node.pod_dir(p.uid));
    u.pods.push_back(std::move(p));
  }
  return u;
}

void StatsProvider::sample() { remember(collect()); }

void StatsProvider::remember(const NodeUsage& u) {
  int64_t now = mono_ns();
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<Sample>> kept;
  auto keep = [&](const std::string& key, uint64_t cpu) {
    kept[key] = std::move(history_[key]);
    auto& h = kept[key];
    // Samples at least a second apart, so the newest one old enough for a rate is recent.
    if (!h.empty() && now - h.back().t_ns < 1'000'000'000) return;
    h.push_back({now, cpu});
    if (h.size() > 3) h.erase(h.begin());
  };
  keep("node", u.cpu_ns);
  for (const auto& p : u.pods) {
    if (p.usage.cpu_ns) keep("pod/" + p.uid, *p.usage.cpu_ns);
    for (const auto& c : p.containers)
      if (c.usage.cpu_ns) keep("ctr/" + p.uid + "/" + c.name, *c.usage.cpu_ns);
  }
  history_ = std::move(kept);  // pods gone since are forgotten
}

Json summary_json(const NodeUsage& u, const std::string& node_name,
                  const std::string& node_start_time) {
  std::string t = api::rfc3339(u.time);
  CgroupUsage node_cg;
  node_cg.cpu_ns = u.cpu_ns;
  node_cg.memory_usage = u.memory_usage;
  node_cg.working_set = u.working_set;
  node_cg.rss = u.rss;
  node_cg.page_faults = u.page_faults;
  node_cg.major_page_faults = u.major_page_faults;
  Json memory = memory_json(node_cg, t);
  memory["availableBytes"] = u.memory_available;
  Json node = {{"nodeName", node_name},
               {"systemContainers", Json::array()},
               {"startTime", node_start_time},
               {"cpu", cpu_json(node_cg, u.nano_cores, t)},
               {"memory", memory},
               {"network", network_json(u.interfaces, interface_of_default_route(), t)},
               {"fs", fs_json(u.nodefs, t)},
               {"runtime", {{"imageFs", fs_json(u.imagefs, t)}}},
               {"rlimit", {{"time", t}, {"maxpid", u.max_pid}, {"curproc", u.processes}}}};
  Json pods = Json::array();
  for (const auto& p : u.pods) {
    Json containers = Json::array();
    for (const auto& c : p.containers)
      containers.push_back({{"name", c.name},
                            {"startTime", c.start_time.empty() ? p.start_time : c.start_time},
                            {"cpu", cpu_json(c.usage, c.nano_cores, t)},
                            {"memory", memory_json(c.usage, t)}});
    Json pod = {{"podRef", {{"name", p.name}, {"namespace", p.namespace_}, {"uid", p.uid}}},
                {"startTime", p.start_time},
                {"containers", containers},
                {"cpu", cpu_json(p.usage, p.nano_cores, t)},
                {"memory", memory_json(p.usage, t)},
                {"ephemeral-storage",
                 {{"time", t},
                  {"availableBytes", u.nodefs.available},
                  {"capacityBytes", u.nodefs.capacity},
                  {"usedBytes", p.ephemeral_bytes}}}};
    if (!p.interfaces.empty()) pod["network"] = network_json(p.interfaces, "eth0", t);
    pods.push_back(std::move(pod));
  }
  return {{"node", node}, {"pods", pods}};
}

std::string resource_metrics_text(const NodeUsage& u) {
  PromText p;
  int64_t ts =
      std::chrono::duration_cast<std::chrono::milliseconds>(u.time.time_since_epoch()).count();
  p.family("container_cpu_usage_seconds_total",
           "[ALPHA] Cumulative cpu time consumed by the container in core-seconds", "counter");
  for (const auto& pod : u.pods)
    for (const auto& c : pod.containers)
      if (c.usage.cpu_ns)
        p.sample("container_cpu_usage_seconds_total",
                 {{"container", c.name}, {"namespace", pod.namespace_}, {"pod", pod.name}},
                 double(*c.usage.cpu_ns) / 1e9, ts);
  p.family("container_memory_working_set_bytes",
           "[ALPHA] Current working set of the container in bytes", "gauge");
  for (const auto& pod : u.pods)
    for (const auto& c : pod.containers)
      if (c.usage.working_set)
        p.sample("container_memory_working_set_bytes",
                 {{"container", c.name}, {"namespace", pod.namespace_}, {"pod", pod.name}},
                 double(*c.usage.working_set), ts);
  p.family("container_start_time_seconds",
           "[ALPHA] Start time of the container since unix epoch in seconds", "gauge");
  for (const auto& pod : u.pods)
    for (const auto& c : pod.containers)
      if (double s = epoch_seconds(c.start_time); s > 0)
        p.sample("container_start_time_seconds",
                 {{"container", c.name}, {"namespace", pod.namespace_}, {"pod", pod.name}}, s, ts);
  p.family("node_cpu_usage_seconds_total",
           "[ALPHA] Cumulative cpu time consumed by the node in core-seconds", "counter");
  p.sample("node_cpu_usage_seconds_total", {}, double(u.cpu_ns) / 1e9, ts);
  p.family("node_memory_working_set_bytes", "[ALPHA] Current working set of the node in bytes",
           "gauge");
  p.sample("node_memory_working_set_bytes", {}, double(u.working_set), ts);
  p.family("pod_cpu_usage_seconds_total",
           "[ALPHA] Cumulative cpu time consumed by the pod in core-seconds", "counter");
  for (const auto& pod : u.pods)
    if (pod.usage.cpu_ns)
      p.sample("pod_cpu_usage_seconds_total", {{"namespace", pod.namespace_}, {"pod", pod.name}},
               double(*pod.usage.cpu_ns) / 1e9, ts);
  p.family("pod_memory_working_set_bytes", "[ALPHA] Current working set of the pod in bytes",
           "gauge");
  for (const auto& pod : u.pods)
    if (pod.usage.working_set)
      p.sample("pod_memory_working_set_bytes", {{"namespace", pod.namespace_}, {"pod", pod.name}},
               double(*pod.usage.working_set), ts);
  p.family("scrape_error",
           "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise", "gauge");
  p.sample("scrape_error", {}, 0);
  return p.text();
}

Json StatsProvider::summary() {
  static const std::string boot = [] {
    auto text = read_file("/proc/stat");
    if (text)
      for (const auto& line : split(*text, '\n', true))
        if (line.starts_with("btime "))
          if (auto v = parse_int<int64_t>(trim(line.substr(6))))
            return api::rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(*v)));
    return std::string();
  }();
  NodeUsage u = collect();
  remember(u);
  return summary_json(u, o_.node_name, boot);
}

std::string StatsProvider::resource_metrics() {
  NodeUsage u = collect();
  remember(u);
  return resource_metrics_text(u);
}

void StatsProvider::count_eviction(const std::string& signal) {
  std::lock_guard lock(mu_);
  evictions_[signal]++;
}

void StatsProvider::observe_pod_start(double seconds) {
  std::lock_guard lock(mu_);
  pod_start_.observe(seconds);
}

std::string StatsProvider::kubelet_metrics() {
  PromText p;
  p.family("kubelet_node_name", "[ALPHA] The node's name. The count is always 1.", "gauge");
  p.sample("kubelet_node_name", {{"node", o_.node_name}}, 1);
  int pods = 0, containers = 0;
  for (const auto& rec : list_pod_records(o_.node.state_root)) {
    auto saved = read_json_file(rec.node.pod_dir(rec.uid) + "/status.json");
    if (!saved || !saved->is_object() || saved->value("finished", false)) continue;
    pods++;
    const Json& st = (*saved)["status"];
    if (st.is_object())
      for (const auto& c : st.value("containerStatuses", Json::array()))
        if (api::at_path(c, {"state", "running"})) containers++;
  }
  p.family("kubelet_running_pods", "[ALPHA] Number of pods that have a running pod sandbox",
           "gauge");
  p.sample("kubelet_running_pods", {}, pods);
  p.family("kubelet_running_containers", "[ALPHA] Number of containers currently running", "gauge");
  p.sample("kubelet_running_containers", {{"container_state", "running"}}, containers);
  {
    std::lock_guard lock(mu_);
    p.family("kubelet_evictions", "[ALPHA] Cumulative number of pod evictions by eviction signal",
             "counter");
    for (const auto& [signal, n] : evictions_)
      p.sample("kubelet_evictions", {{"eviction_signal", signal}}, double(n));
    p.family("kubelet_pod_start_duration_seconds",
             "[ALPHA] Duration in seconds for a single pod to go from pending to running",
             "histogram");
    pod_start_.write(p, "kubelet_pod_start_duration_seconds");
  }
  // The process collector's figures (/proc/self/stat: utime, stime, starttime, vsize, rss).
  if (auto text = read_file("/proc/self/stat")) {
    auto rp = text->rfind(')');
    auto f = split(std::string_view(*text).substr(rp + 2), ' ', true);
    double hz = double(sysconf(_SC_CLK_TCK));
    auto field = [&](size_t n) {  // stat(5) numbering: f[0] is field 3
      return n - 3 < f.size() ? parse_int<uint64_t>(f[n - 3]).value_or(0) : 0;
    };
    double boot = 0;
    if (auto st = read_file("/proc/stat"))
      for (const auto& line : split(*st, '\n', true))
        if (line.starts_with("btime "))
          boot = double(parse_int<int64_t>(trim(line.substr(6))).value_or(0));
    p.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             "counter");
    p.sample("process_cpu_seconds_total", {}, double(field(14) + field(15)) / hz);
    p.family("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
    p.sample("process_resident_memory_bytes", {},
             double(field(24)) * double(sysconf(_SC_PAGESIZE)));
    p.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
    p.sample("process_virtual_memory_bytes", {}, double(field(23)));
    p.family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             "gauge");
    p.sample("process_start_time_seconds", {}, boot + double(field(22)) / hz);
  }
  size_t fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (struct dirent* e = readdir(d))
      if (e->d_name[0] != '.') fds++;
    closedir(d);
  }
  p.family("process_open_fds", "Number of open file descriptors.", "gauge");
  p.sample("process_open_fds", {}, double(fds > 0 ? fds - 1 : 0));
  return p.text();
}

}  // namespace skiff::kubelet::node
