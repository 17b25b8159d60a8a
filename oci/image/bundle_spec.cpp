#include "oci/image/bundle_spec.hpp"

#include "common/fs.hpp"
#include "oci/image/image_user.hpp"
#include "oci/runtime_spec.hpp"

namespace skiff::image {

std::vector<std::string> merge_env(std::vector<std::string> base,
                                   const std::vector<std::string>& over) {
  auto key = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  for (const auto& kv : over) {
    bool replaced = false;
    for (auto& b : base) {
      if (key(b) == key(kv)) {
        b = kv;
        replaced = true;
        break;
      }
    }
    if (!replaced) base.push_back(kv);
  }
  return base;
}

Result<Json> runtime_spec_for_image(const ImageConfig& config, int rootfs_fd,
                                    const BundleSpecOptions& o) {
  const ContainerConfig& c = config.config;
  Json spec = oci::default_spec(false);
  Json& process = spec["process"];
  std::vector<std::string> args = c.entrypoint;
  const auto& cmd = o.args.empty() ? c.cmd : o.args;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) return error("the image has no Entrypoint or Cmd: give the command to run");
  process["args"] = args;
  process["terminal"] = o.tty;
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  if (o.tty) env.push_back("TERM=xterm");
  for (const auto& kv : c.env)
    if (kv.find('=') == std::string::npos)
      return error("config.Env: ", quote(kv), " is not KEY=VALUE");
  env = merge_env(merge_env(std::move(env), c.env), o.env);
  process["env"] = env;
  std::string cwd = c.working_dir.empty() ? "/" : clean_path("/" + c.working_dir);
  process["cwd"] = cwd;
  oci::User user = TRY(resolve_image_user(rootfs_fd, c.user));
  Json u = {{"uid", user.uid}, {"gid", user.gid}};
  if (!user.additional_gids.empty()) u["additionalGids"] = user.additional_gids;
  process["user"] = u;
  spec["root"]["readonly"] = o.read_only;
  if (!o.hostname.empty()) spec["hostname"] = o.hostname;
  Json annotations = Json::object();
  for (const auto& [k, v] : c.labels) annotations[k] = v;
  if (!c.stop_signal.empty()) annotations[kStopSignalAnnotation] = c.stop_signal;
  if (!annotations.empty()) spec["annotations"] = annotations;
  return spec;
}

}  // namespace skiff::image
