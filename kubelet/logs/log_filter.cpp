#include "kubelet/logs/log_filter.hpp"

#include <algorithm>
#include <cctype>

#include "common/json_util.hpp"
#include "common/strings.hpp"
#include "kubelet/logs/cri_log.hpp"

namespace skiff::kubelet {

namespace {

bool before(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

Result<int64_t> integer(const std::string& key, const std::string& v, int64_t min) {
  auto n = parse_int<int64_t>(v);
  if (!n) return error("invalid ", key, " ", json_quote(v), ": must be an integer");
  if (*n < min)
    return error("invalid ", key, " ", *n, ": must be greater than ",
                 min == 0 ? "or equal to " : "", min == 0 ? 0 : min - 1);
  return *n;
}

Result<bool> boolean(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1" || v.empty()) return true;
  if (v == "false" || v == "0") return false;
  return error("invalid ", key, " ", json_quote(v), ": must be true or false");
}

}  // namespace

Result<struct timespec> parse_rfc3339(std::string_view s) {
  auto bad = [&] { return error("invalid time ", json_quote(s), ": not RFC 3339"); };
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto Y = digits(0, 4), M = digits(5, 2), D = digits(8, 2), h = digits(11, 2), m = digits(14, 2),
       sec = digits(17, 2);
  if (!Y || !M || !D || !h || !m || !sec || s.size() < 20 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return bad();
  if (*M < 1 || *M > 12 || *D < 1 || *D > 31 || *h > 23 || *m > 59 || *sec > 60) return bad();
  struct tm tm {};
  tm.tm_year = *Y - 1900;
  tm.tm_mon = *M - 1;
  tm.tm_mday = *D;
  tm.tm_hour = *h;
  tm.tm_min = *m;
  tm.tm_sec = *sec;
  struct timespec ts {};
  ts.tv_sec = timegm(&tm);
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    long frac = 0;
    int n = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (n < 9) frac = frac * 10 + (s[pos] - '0'), ++n;
      ++pos;
    }
    if (n == 0) return bad();
    for (; n < 9; ++n) frac *= 10;
    ts.tv_nsec = frac;
  }
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return ts;
  if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return bad();
    int64_t off = (*oh * 60 + *om) * 60;
    ts.tv_sec -= s[pos] == '+' ? off : -off;
    return ts;
  }
  return bad();
}

Result<LogOptions> parse_log_options(const std::vector<std::pair<std::string, std::string>>& query,
                                     const struct timespec& now) {
  LogOptions o;
  bool since_seconds = false, since_time = false;
  for (const auto& [k, v] : query) {
    if (k == "follow") {
      o.follow = TRY(boolean(k, v));
    } else if (k == "previous") {
      o.previous = TRY(boolean(k, v));
    } else if (k == "timestamps") {
      o.timestamps = TRY(boolean(k, v));
    } else if (k == "tailLines") {
      o.tail_lines = TRY(integer(k, v, 0));
    } else if (k == "limitBytes") {
      o.limit_bytes = TRY(integer(k, v, 1));
    } else if (k == "sinceSeconds") {
      int64_t n = TRY(integer(k, v, 1));
      o.since = timespec{now.tv_sec - n, now.tv_nsec};
      since_seconds = true;
    } else if (k == "sinceTime") {
      o.since = TRY_CTX(parse_rfc3339(v), "sinceTime");
      since_time = true;
    }
  }
  if (since_seconds && since_time)
    return error("at most one of sinceTime or sinceSeconds may be specified");
  return o;
}

std::string_view tail_cri_lines(std::string_view log, int64_t n) {
  if (n <= 0) return log.substr(log.size());
  // The lines from the end: {start offset, stream, partial}.
  auto line_before = [&](size_t pos, size_t& start) {  // the line ending just before `pos`
    size_t nl = pos >= 2 ? log.rfind('\n', pos - 2) : std::string_view::npos;
    start = nl == std::string_view::npos ? 0 : nl + 1;
    return split(log.substr(start, pos - 1 - start), ' ');
  };
  size_t pos = log.size();
  if (pos > 0 && log[pos - 1] != '\n') pos = log.rfind('\n') + 1;  // a cut last line: not whole
  int64_t full = 0;
  bool found = false;
  std::vector<std::string> open;  // streams whose first kept line may have begun earlier
  size_t begin = pos;
  while (pos > 0) {
    size_t start;
    auto parts = line_before(pos, start);
    pos = start;
    if (parts.size() < 3) continue;
    if (!found) {
      if (std::find(open.begin(), open.end(), parts[1]) == open.end()) open.push_back(parts[1]);
      found = parts[2] == "F" && ++full == n;
      begin = start;
      continue;
    }
    // A kept line may have begun as partial lines of its stream before (other streams' lines
    // between them come along).
    auto it = std::find(open.begin(), open.end(), parts[1]);
    if (it == open.end()) continue;
    if (parts[2] != "P") {
      open.erase(it);
      if (open.empty()) break;
      continue;
    }
    begin = start;
  }
  return log.substr(begin);
}

void LogFilter::line(std::string_view l, std::string& out) {
  auto e = parse_cri_line(l);
  if (!e) return;
  auto& [time, text] = partial_[e->stream];
  if (time.empty()) time = e->time;
  text += e->message;
  if (e->partial) return;
  std::string first = std::move(time), message = std::move(text);
  time.clear();
  text.clear();
  if (o_.since) {
    auto t = parse_rfc3339(first);
    if (t && before(*t, *o_.since)) return;
  }
  std::string shown = o_.timestamps ? cat(first, ' ', message, '\n') : cat(message, '\n');
  if (o_.limit_bytes && sent_ + static_cast<int64_t>(shown.size()) >= *o_.limit_bytes) {
    shown.resize(static_cast<size_t>(*o_.limit_bytes - sent_));
    done_ = true;
  }
  sent_ += static_cast<int64_t>(shown.size());
  out += shown;
}

std::string LogFilter::feed(std::string_view cri) {
  std::string out;
  if (done_) return out;
  buf_.append(cri);
  size_t start = 0, nl;
  while (!done_ && (nl = buf_.find('\n', start)) != std::string::npos) {
    line(std::string_view(buf_).substr(start, nl - start), out);
    start = nl + 1;
  }
  buf_.erase(0, done_ ? buf_.size() : start);
  return out;
}

}  // namespace skiff::kubelet
