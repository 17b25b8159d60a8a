// skiff: an OCI container runtime with runc's command line (containerd's runc shim and
// podman/conmon drive it). This file is the table of verbs and the global flags; each verb lives
// in commands/<verb>.cpp and calls one function of the runtime library.

#include <algorithm>
#include <exception>
#include <iostream>

#include "common/log.hpp"
#include "runtime/cli/commands/commands.hpp"
#include "runtime/linux/self_exe.hpp"

#ifndef SKIFF_VERSION
#define SKIFF_VERSION "unknown"
#endif
#ifndef SKIFF_COMMIT
#define SKIFF_COMMIT "unknown"
#endif

namespace skiff::cli {

// Image verbs live in skiff_image's CLI files (commands/image.cpp, commands/bundle.cpp).
Action add_image(CLI::App& cmd, const Globals& g);
Action add_bundle(CLI::App& cmd, const Globals& g);
// `skiff net …` execs skiff-net (commands/net.cpp).
Action add_net(CLI::App& cmd, const Globals& g);

// The first word of the command line that is not a global flag (or a global flag's value): the
// verb, when the command has one.
std::string_view first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--root" || a == "-root" || a == "--log" || a == "-log" || a == "--log-format" ||
        a == "-log-format" || a == "--rootless" || a == "-rootless") {
      ++i;
      continue;
    }
    if (a.starts_with("-")) continue;
    return a;
  }
  return {};
}

namespace {

// A new verb, or a group of them (`pod`, `image`), is one line here and one file in commands/.
const Verb kVerbs[] = {
    {"create", "create a container", add_create},
    {"start", "executes the user defined process in a created container", add_start},
    {"run", "create and run a container", add_run},
    {"state", "output the state of a container", add_state},
    {"kill", "send a signal (default: SIGTERM) to the container's init process", add_kill},
    {"delete", "delete any resources held by the container", add_delete},
    {"list", "lists containers started by skiff with the given root", add_list},
    {"ps", "displays the processes running inside a container", add_ps},
    {"exec", "execute new process inside the container", add_exec},
    {"pause", "suspend all processes inside the container", add_pause},
    {"resume", "resume all processes that have been previously paused", add_resume},
    {"update", "update container resource constraints", add_update},
    {"events", "display container events: OOM notifications and resource usage statistics",
     add_events},
    {"spec", "create a new specification file", add_spec},
    {"features", "show the enabled features", add_features},
    {"image", "manage images: pull, import, ls, inspect, rm, prune", add_image},
    {"bundle", "make a runnable bundle from an image, or remove one", add_bundle},
    {"net", "the node's WireGuard overlay: up, peers apply, show, pubkey, down (skiff-net)",
     add_net},
    {"pod",
     "run Kubernetes Pod manifests on this host: run, ls, status, logs, stop, rm (skiff-pod)",
     add_pod},
};

void add_global_flags(CLI::App& app, Globals& g) {
  app.add_option("--root", g.runtime.root, "root directory for storage of container state")
      ->default_str(runtime::kDefaultStateRoot);
  // Parsed at once, so even an error in the rest of the command line reaches the right log.
  app.add_option("--log", g.log_path, "set the log file to write skiff logs to (default stderr)")
      ->trigger_on_parse();
  app.add_option("--log-format", g.log_format, "set the log format ('text' (default), or 'json')")
      ->check(CLI::IsMember({"text", "json"}))
      ->trigger_on_parse();
  app.add_flag("--debug", g.debug, "enable debug logging")->trigger_on_parse();
  app.add_flag("--systemd-cgroup", g.runtime.systemd_cgroup,
               "enable systemd cgroup support (cgroupsPath is \"slice:prefix:name\")");
  app.add_option("--rootless", g.rootless, "ignored (accepted for podman and containerd)");
  app.add_flag("-v,--version", g.version, "print the version");
}

Result<void> configure_logging(const Globals& g) {
  log::Options o;
  o.level = g.debug ? log::Level::kDebug : log::Level::kWarn;
  o.format = g.log_format == "json" ? log::Format::kJson : log::Format::kText;
  o.path = g.log_path;
  if (!log::configure(o)) return errno_error("open log file ", quote(g.log_path));
  return ok();
}

// The one error line of a failed command: in the log (JSON for containerd) and on stderr.
int fail(const Globals& g, std::string_view message) {
  auto logging = configure_logging(g);  // on failure the log falls back to stderr
  if (!logging && logging.error().what() != message)
    log::write_error_everywhere(logging.error().what());
  log::write_error_everywhere(message);
  return 1;
}

int run_main(int argc, char** argv) {
  Globals g;
  CLI::App app{"skiff: an OCI container runtime with runc's command line", "skiff"};
  app.require_subcommand(0, 1);  // at most one verb, so an id spelled like a verb stays an id
  add_global_flags(app, g);
  // Only the verb being run gets its options: building all of CLI11's subcommands is most of the
  // work of a short command (1.9M instructions, ~10 ms per container under emulation). Without a
  // known verb (help, a typo) every verb is there, for the help text and the error.
  std::string_view named = first_word(argc, argv);
  bool known = std::any_of(std::begin(kVerbs), std::end(kVerbs),
                           [&](const Verb& v) { return v.name == named; });
  std::vector<std::pair<CLI::App*, Action>> actions;
  for (const Verb& verb : kVerbs) {
    if (known && verb.name != named) continue;
    CLI::App* cmd = app.add_subcommand(verb.name, verb.description);
    actions.emplace_back(cmd, verb.add(*cmd, g));
  }

  auto args = runtime::cli::double_dash_global_flags(
      std::vector<std::string>(argv + 1, argv + argc), {"root", "log", "log-format", "rootless"},
      {"debug", "systemd-cgroup", "version", "help"});
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    auto rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty() && !rest[0].starts_with("-"))
      return fail(g, cat("unknown command \"", rest[0], "\" (see skiff --help)"));
    return fail(g, e.what());
  } catch (const CLI::ParseError& e) {
    return fail(g, e.what());
  }

  if (g.version) {
    std::cout << "skiff version " << SKIFF_VERSION << "\ncommit: " << SKIFF_COMMIT
              << "\nspec: " << oci::kRuntimeSpecVersion << std::endl;
    return 0;
  }
  if (auto logging = configure_logging(g); !logging) return fail(g, logging.error().what());
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  CLI::App* chosen = app.get_subcommands().front();
  auto action = std::find_if(actions.begin(), actions.end(),
                             [&](const auto& a) { return a.first == chosen; });
  log::debug("skiff ", chosen->get_name(), " (root ", quote(g.runtime.root), ")");
  Result<int> status = action->second();
  if (!status) return fail(g, status.error().what());
  return *status;
}

}  // namespace
}  // namespace skiff::cli

namespace {

// Verbs whose processes enter a container (create, run, exec) re-exec skiff from a sealed view
// of its binary first (CVE-2019-5736).
void protect_binary(int argc, char** argv) {
  std::string_view verb = skiff::cli::first_word(argc, argv);
  if (verb == "create" || verb == "run" || verb == "exec") {
    if (auto r = skiff::runtime::linux::reexec_sealed(argv); !r) {
      skiff::log::write_error_everywhere(r.error().what());
      exit(1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  protect_binary(argc, argv);
  try {
    return skiff::cli::run_main(argc, argv);
  } catch (const std::exception& e) {
    // Library exceptions are meant to become Errors where they are thrown; this is the backstop.
    skiff::log::write_error_everywhere(e.what());
    return 1;
  }
}
