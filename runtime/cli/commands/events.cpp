// `skiff events [--stats] [--interval DUR] ID`: runc's JSON event lines. --stats prints one stats
// event; otherwise a stats event every interval and an oom event whenever the cgroup's OOM kill
// count grows, until the container stops (containerd's shim reads this stream).

#include <chrono>
#include <thread>

#include "common/log.hpp"
#include "runtime/cli/commands/commands.hpp"

namespace skiff::cli {
namespace {

using Clock = std::chrono::steady_clock;
// How often the OOM counter is read between stats events.
constexpr std::chrono::milliseconds kOomPoll{200};

Result<bool> is_running(const Globals& g, const std::string& id) {
  auto info = TRY(runtime::state(g.runtime, id));
  return info.status != runtime::Status::kStopped;
}

Result<int> follow(const Globals& g, const std::string& id, std::chrono::nanoseconds interval) {
  uint64_t ooms = runtime::oom_kill_count(g.runtime, id).value_or(0);
  auto next_stats = Clock::now() + interval;
  while (true) {
    auto running = runtime::state(g.runtime, id);
    if (!running || running->status == runtime::Status::kStopped) return 0;  // gone: stream ends
    auto count = runtime::oom_kill_count(g.runtime, id);
    if (count && *count > ooms) {
      ooms = *count;
      print_json(Json{{"type", "oom"}, {"id", id}});
    }
    if (Clock::now() >= next_stats) {
      next_stats += interval;
      auto stats = runtime::stats(g.runtime, id);
      if (stats) {
        print_json(runtime::cli::stats_event(id, *stats));
      } else {
        log::error("stats of container ", quote(id), ": ", stats.error().what());  // runc goes on
      }
    }
    auto wait = std::min<Clock::duration>(kOomPoll, next_stats - Clock::now());
    if (wait > Clock::duration::zero()) std::this_thread::sleep_for(wait);
  }
}

}  // namespace

Action add_events(CLI::App& cmd, const Globals& g) {
  struct Flags {
    bool stats = false;
    std::string interval = "5s";
    std::vector<std::string> args;
  };
  auto f = std::make_shared<Flags>();
  cmd.add_flag("--stats", f->stats, "display the container's stats then exit");
  cmd.add_option("--interval", f->interval, "set the stats collection interval (default 5s)");
  add_positionals(cmd, f->args);
  return [f, &g, &cmd]() -> Result<int> {
    auto id = TRY(one_id(cmd, f->args));
    auto interval = TRY(runtime::cli::parse_duration(f->interval));
    if (interval <= std::chrono::nanoseconds::zero())
      return error("duration interval must be greater than 0");
    if (!TRY(is_running(g, id))) return error("container with id ", id, " is not running");
    if (!f->stats) return follow(g, id, interval);
    auto stats = TRY(runtime::stats(g.runtime, id));
    print_json(runtime::cli::stats_event(id, stats));
    return 0;
  };
}

}  // namespace skiff::cli
