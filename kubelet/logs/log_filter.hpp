#pragma once
// The kubelet's /containerLogs options over a CRI log (cri_log.hpp), as kubelet/kuberuntime's
// ReadLogs applies them: tailLines picks the start, sinceSeconds/sinceTime drop older lines,
// timestamps prefixes each line with its RFC3339Nano time, limitBytes ends the output. Partial
// lines (P) are joined with the line that completes them (one timestamp: the first part's).

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace skiff::kubelet {

struct LogOptions {
  bool follow = false, previous = false, timestamps = false;
  std::optional<int64_t> tail_lines;     // the last N lines
  std::optional<int64_t> limit_bytes;    // at most N bytes of output
  std::optional<struct timespec> since;  // lines at or after (sinceSeconds or sinceTime)
};

// The query's options (`now`: what sinceSeconds counts back from). Unknown keys are ignored, as
// the kubelet does; a malformed value is an error naming the field and the reason (a 400).
Result<LogOptions> parse_log_options(const std::vector<std::pair<std::string, std::string>>& query,
                                     const struct timespec& now);

// An RFC 3339 time ("2026-12-04T19:00:00Z", fractions and ±hh:mm offsets accepted).
Result<struct timespec> parse_rfc3339(std::string_view s);

// The CRI lines of `log` from which the last `n` logical lines start (a partial line counts
// with the full line that ends it): the suffix to read.
std::string_view tail_cri_lines(std::string_view log, int64_t n);

// Turns CRI log bytes (any chunking) into what the client sees under the options (tailLines is
// the reader's: apply tail_cri_lines to the text there is before feeding it).
class LogFilter {
 public:
  explicit LogFilter(LogOptions o) : o_(std::move(o)) {}
  // Complete lines are converted; a line cut by the chunking waits for its end. Malformed lines
  // are skipped (the kubelet logs and skips them too).
  std::string feed(std::string_view cri);
  // limitBytes reached: nothing more will be returned.
  bool done() const { return done_; }

 private:
  void line(std::string_view l, std::string& out);
  LogOptions o_;
  std::string buf_;
  std::map<std::string, std::pair<std::string, std::string>> partial_;  // stream: {time, text}
  int64_t sent_ = 0;
  bool done_ = false;
};

}  // namespace skiff::kubelet
