#pragma once
// Container logs in the CRI format the kubelet and `kubectl logs` read:
//   2016-10-06T00:17:09.669794202Z stdout F the message
// one line per container output line: RFC 3339 timestamp with nanoseconds (Go's RFC3339Nano, so
// trailing zeros are dropped), the stream, F for a full line or P for a part of a longer one
// (lines are cut at kMaxLine bytes, as containerd does), then the text without its newline.

#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace skiff::kubelet {

inline constexpr size_t kMaxLine = 16 * 1024;

// Go's time.RFC3339Nano in UTC: "2006-01-02T15:04:05.999999999Z".
std::string rfc3339_nano(const struct timespec& ts);

// One CRI log line (with its newline).
std::string cri_line(const struct timespec& ts, std::string_view stream, bool partial,
                     std::string_view message);

// One parsed line of a CRI log.
struct CriEntry {
  std::string time, stream;
  bool partial = false;
  std::string message;
};
// Parses one line (without its newline); an error names what is malformed.
Result<CriEntry> parse_cri_line(std::string_view line);
// The text of a whole log as the container wrote it: partial lines joined, newlines restored.
// `stream` empty: both streams.
Result<std::string> cri_log_text(std::string_view log, std::string_view stream = "");

// Splits one stream's bytes into CRI lines and appends them to a file.
class CriStreamWriter {
 public:
  CriStreamWriter(std::string stream, int fd) : stream_(std::move(stream)), fd_(fd) {}
  // Bytes as read from the container's pipe: every complete line is written now.
  Result<void> feed(std::string_view data);
  // End of the stream: a last line without newline is written as a full line.
  Result<void> flush();
  // The log file was rotated: write to `fd` from now on.
  void set_fd(int fd) { fd_ = fd; }
  // Called before each line is written (log rotation checks the size there).
  void set_before_write(std::function<void()> f) { before_write_ = std::move(f); }

 private:
  Result<void> emit(std::string_view text, bool partial);
  std::string stream_;
  int fd_;
  std::string pending_;
  std::function<void()> before_write_;
};

}  // namespace skiff::kubelet
