#include "runtime/linux/hooks.hpp"

#include <signal.h>

#include <chrono>

#include "common/subprocess.hpp"

namespace skiff::runtime::linux {
namespace {

constexpr size_t kOutputTail = 4096;

// The end of a hook's output for the error message: the last 4 KiB, trailing blanks trimmed.
std::string output_tail(const std::string& output) {
  std::string_view out = trim(output);
  if (out.size() > kOutputTail) out = out.substr(out.size() - kOutputTail);
  return std::string(out);
}

// run_subprocess sets SIGPIPE to SIG_IGN in the calling process. An ignored signal stays ignored
// across execve, so without this the container process (hooks run in its init) would ignore
// SIGPIPE, and so would the next hook.
class SigpipeGuard {
 public:
  SigpipeGuard() { saved_ok_ = sigaction(SIGPIPE, nullptr, &saved_) == 0; }
  ~SigpipeGuard() {
    if (saved_ok_) sigaction(SIGPIPE, &saved_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  struct sigaction saved_ = {};
  bool saved_ok_ = false;
};

Result<void> run_hook(std::string_view phase, const oci::Hook& hook,
                      const std::string& state_json) {
  std::string what = cat("hook ", quote(phase), " ", quote(hook.path));
  SubprocessOptions o;
  o.path = hook.path;
  o.argv = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  o.env = hook.env;  // exactly the hook's env: an empty list is an empty environment
  o.stdin_data = state_json;
  if (hook.timeout && *hook.timeout > 0) o.timeout = std::chrono::seconds(*hook.timeout);
  o.capture_output = true;

  SubprocessResult r;
  {
    SigpipeGuard guard;
    r = TRY_CTX(run_subprocess(o), what);
  }
  if (r.exited_ok()) return ok();
  std::string out = output_tail(r.output);
  std::string reason =
      r.timed_out ? cat("timed out after ", *hook.timeout, " s") : cat("failed: ", r.describe());
  if (!out.empty()) reason = cat(reason, ": ", out);
  return error(what, " ", reason);
}

}  // namespace

Result<void> run_hooks(std::string_view phase, const std::vector<oci::Hook>& hooks,
                       const std::string& state_json) {
  for (const auto& hook : hooks) TRY(run_hook(phase, hook, state_json));
  return ok();
}

}  // namespace skiff::runtime::linux
