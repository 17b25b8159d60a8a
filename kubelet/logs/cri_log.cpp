#include "kubelet/logs/cri_log.hpp"

#include <cstdio>

#include "common/fs.hpp"
#include "common/json_util.hpp"

namespace skiff::kubelet {

std::string rfc3339_nano(const struct timespec& ts) {
  struct tm tm {};
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = base;
  if (ts.tv_nsec != 0) {
    char frac[16];
    snprintf(frac, sizeof frac, ".%09ld", static_cast<long>(ts.tv_nsec));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

std::string cri_line(const struct timespec& ts, std::string_view stream, bool partial,
                     std::string_view message) {
  return cat(rfc3339_nano(ts), ' ', stream, ' ', partial ? 'P' : 'F', ' ', message, '\n');
}

Result<CriEntry> parse_cri_line(std::string_view line) {
  auto parts = split(line, ' ');
  if (parts.size() < 3) return error("CRI log line ", json_quote(line), ": too few fields");
  CriEntry e;
  e.time = parts[0];
  e.stream = parts[1];
  if (e.stream != "stdout" && e.stream != "stderr")
    return error("CRI log line: unknown stream ", json_quote(e.stream));
  if (parts[2] != "P" && parts[2] != "F")
    return error("CRI log line: tag must be P or F, got ", json_quote(parts[2]));
  e.partial = parts[2] == "P";
  size_t prefix = parts[0].size() + parts[1].size() + parts[2].size() + 3;
  e.message = prefix <= line.size() ? std::string(line.substr(prefix)) : "";
  return e;
}

Result<std::string> cri_log_text(std::string_view log, std::string_view stream) {
  std::string out;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t nl = log.find('\n', pos);
    if (nl == std::string_view::npos) nl = log.size();
    auto e = TRY(parse_cri_line(log.substr(pos, nl - pos)));
    pos = nl + 1;
    if (!stream.empty() && e.stream != stream) continue;
    out += e.message;
    if (!e.partial) out += '\n';
  }
  return out;
}

Result<void> CriStreamWriter::emit(std::string_view text, bool partial) {
  if (before_write_) before_write_();
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return write_all(fd_, cri_line(ts, stream_, partial, text));
}

Result<void> CriStreamWriter::feed(std::string_view data) {
  pending_.append(data);
  size_t start = 0;
  while (true) {
    size_t nl = pending_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line = std::string_view(pending_).substr(start, nl - start);
    // A line longer than the buffer is cut into partial lines, as containerd's reader does.
    while (line.size() > kMaxLine) {
      TRY(emit(line.substr(0, kMaxLine), true));
      line.remove_prefix(kMaxLine);
    }
    TRY(emit(line, false));
    start = nl + 1;
  }
  pending_.erase(0, start);
  while (pending_.size() >= kMaxLine) {
    TRY(emit(std::string_view(pending_).substr(0, kMaxLine), true));
    pending_.erase(0, kMaxLine);
  }
  return ok();
}

Result<void> CriStreamWriter::flush() {
  if (pending_.empty()) return ok();
  auto r = emit(pending_, false);
  pending_.clear();
  return r;
}

}  // namespace skiff::kubelet
