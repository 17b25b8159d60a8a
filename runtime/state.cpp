#include "runtime/state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "common/fs.hpp"

namespace skiff::runtime {

Json SavedState::to_json() const {
  Json j = {{"id", id},         {"pid", pid},       {"pidStartTime", pid_start_time},
            {"bundle", bundle}, {"rootfs", rootfs}, {"created", created},
            {"owner", owner},   {"cgroup", cgroup}, {"systemdCgroup", systemd_cgroup}};
  j["annotations"] = annotations;
  return j;
}

Result<SavedState> SavedState::from_json(const Json& j) {
  try {
    SavedState s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start_time = j.value("pidStartTime", uint64_t{0});
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.owner = j.value("owner", "");
    s.cgroup = j.value("cgroup", Json());
    s.systemd_cgroup = j.value("systemdCgroup", false);
    if (j.contains("annotations") && j["annotations"].is_object())
      s.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    return s;
  } catch (const Json::exception& e) {
    return error("malformed state: ", e.what());
  }
}

Result<void> validate_id(std::string_view id) {
  if (id.empty()) return error("container id must not be empty");
  if (id == "." || id == ".." || id.size() > 1024) return error("invalid container id ", quote(id));
  for (char c : id)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '+' && c != '-' && c != '.')
      return error("invalid container id ", quote(id), ": only [A-Za-z0-9_+.-] are allowed");
  return ok();
}

std::string container_dir(const std::string& root, const std::string& id) {
  return path_join(root, id);
}

std::string exec_fifo_path(const std::string& root, const std::string& id) {
  return path_join(container_dir(root, id), "exec.fifo");
}

Result<void> save_state(const std::string& root, const SavedState& s) {
  return write_file_atomic(path_join(container_dir(root, s.id), "state.json"), s.to_json().dump(),
                           0600, /*durable=*/false);
}

Result<SavedState> load_state(const std::string& root, const std::string& id) {
  TRY(validate_id(id));
  std::string path = path_join(container_dir(root, id), "state.json");
  auto text = read_file(path);
  if (!text) {
    if (text.error().code() == ENOENT) return error("container \"", id, "\" does not exist");
    return std::move(text).error();
  }
  auto j = TRY_CTX(parse_json(*text, quote(path)), "load state of ", quote(id));
  return TRY_CTX(SavedState::from_json(j), quote(path));
}

Result<UniqueFd> lock_container(const std::string& root, const std::string& id) {
  TRY(validate_id(id));
  std::string dir = container_dir(root, id);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return error("container \"", id, "\" does not exist");
    return errno_error("open ", quote(dir));
  }
  if (flock(fd.get(), LOCK_EX) < 0) return errno_error("lock ", quote(dir));
  return fd;
}

uint64_t process_start_time(pid_t pid, bool* zombie) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  auto text = read_file(path);
  if (!text) return 0;
  // Fields after the command name, which is in parentheses and may contain spaces.
  size_t close = text->rfind(')');
  if (close == std::string::npos) return 0;
  auto fields = split(std::string_view(*text).substr(close + 2), ' ', true);
  // fields[0] is field 3 (state); start time is field 22 → fields[19].
  if (fields.size() < 20) return 0;
  if (zombie) *zombie = fields[0] == "Z" || fields[0] == "X";
  return parse_int<uint64_t>(fields[19]).value_or(0);
}

std::string now_rfc3339() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace skiff::runtime
