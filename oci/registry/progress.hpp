#pragma once
// The live line a pull shows on a terminal ("busybox: 2/5 layers, 12.3MB/50.1MB"), redrawn at
// most every 100 ms from any thread; nothing at all when disabled (not a terminal).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace skiff::registry {

class Progress {
 public:
  Progress(bool enabled, std::string name) : enabled_(enabled), name_(std::move(name)) {}
  ~Progress() { finish(); }
  void add_total(int64_t bytes, int blobs);
  void add_bytes(int64_t bytes);
  void blob_done();
  // Draws the final state and ends the line.
  void finish();

 private:
  void draw(bool force);
  bool enabled_;
  std::string name_;
  std::atomic<int64_t> done_bytes_{0}, total_bytes_{0};
  std::atomic<int> done_blobs_{0}, total_blobs_{0};
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false, finished_ = false;
};

// docker's sizes: decimal units, three significant digits ("1.04MB").
std::string human_size(int64_t bytes);

}  // namespace skiff::registry
