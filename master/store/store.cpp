#include "master/store/store.hpp"

#include <future>

#include "common/log.hpp"
#include "common/strings.hpp"

namespace skiff::master {

const char* event_type_name(EventType t) {
  switch (t) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
  }
  return "ERROR";
}

std::string object_key(const std::string& gr, const std::string& ns, const std::string& name) {
  return ns.empty() ? cat("/", gr, "/", name) : cat("/", gr, "/", ns, "/", name);
}

std::string list_prefix(const std::string& gr, const std::string& ns) {
  return ns.empty() ? cat("/", gr, "/") : cat("/", gr, "/", ns, "/");
}

bool Watcher::next(std::vector<WatchEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); });
  while (!queue_.empty()) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return !(closed_ && out.empty());
}

void Watcher::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool Watcher::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

bool Watcher::push(WatchEvent e, size_t limit) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (queue_.size() >= limit) {
      // Too slow: drop it like the cacher does; the client re-lists and watches again.
      closed_ = true;
      queue_.clear();
    } else {
      queue_.push_back(std::move(e));
    }
  }
  cv_.notify_one();
  return true;
}

struct Store::Pending {
  std::string key;
  Mutation fn;
  std::promise<Result<Object>> done;
};

static Result<Object> make_object(const LogRecord& r) {
  auto json = TRY(parse_json(r.value, quote(r.key)));
  Object o;
  o.json = std::make_shared<const Json>(std::move(json));
  o.bytes = std::make_shared<const std::string>(r.value);
  o.create_rev = r.create_rev;
  o.mod_rev = r.rev;
  return o;
}

Result<std::unique_ptr<Store>> Store::open(std::unique_ptr<Backend> backend, Options options) {
  auto loaded = TRY_CTX(backend->load(options.event_window), "load the store");
  std::unique_ptr<Store> s(new Store(std::move(backend), options));
  for (const auto& r : loaded.live) s->objects_[r.key] = TRY(make_object(r));
  for (const auto& r : loaded.history) {
    EventType t = r.deleted   ? EventType::kDeleted
                  : r.created ? EventType::kAdded
                              : EventType::kModified;
    s->events_.push_back({t, r.key, TRY(make_object(r)), r.rev});
  }
  s->rev_ = loaded.revision;
  s->compacted_ = loaded.compacted;
  s->committer_ = std::thread([p = s.get()] { p->committer(); });
  return s;
}

Store::~Store() { shutdown(); }

void Store::shutdown() {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_ && !committer_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  std::unique_lock lock(mu_);
  for (auto& w : watchers_)
    if (auto sp = w.lock()) sp->close();
  watchers_.clear();
}

int64_t Store::revision() const {
  std::shared_lock lock(mu_);
  return rev_;
}

Object Store::get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? Object{} : it->second;
}

Store::ListResult Store::list(const std::string& prefix, const std::string& start, size_t limit,
                              const std::function<bool(const Json&)>& filter) const {
  ListResult out;
  std::shared_lock lock(mu_);
  out.revision = rev_;
  auto it = objects_.lower_bound(start.empty() || start < prefix ? prefix : start);
  for (; it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (filter && !filter(*it->second.json)) continue;
    if (limit && out.items.size() == limit) {
      out.next_key = it->first;
      break;
    }
    out.items.push_back(it->second);
  }
  return out;
}

size_t Store::count(const std::string& prefix) const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    n++;
  return n;
}

Result<Object> Store::mutate(const std::string& key, Mutation fn) {
  auto p = std::make_shared<Pending>();
  p->key = key;
  p->fn = std::move(fn);
  auto fut = p->done.get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return error("the store is shutting down");
    queue_.push_back(p);
  }
  queue_cv_.notify_one();
  return fut.get();
}

void Store::committer() {
  std::vector<std::shared_ptr<Pending>> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_batch(batch);
    batch.clear();
  }
}

void Store::commit_batch(std::vector<std::shared_ptr<Pending>>& batch) {
  // Compute every write against the committed state plus the earlier writes of this batch, then
  // make them durable in one transaction, then publish. Readers never see an uncommitted write.
  struct Outcome {
    std::optional<Result<Object>> result;
    std::optional<WatchEvent> event;
    bool deleted = false;
  };
  std::vector<Outcome> outcomes(batch.size());
  std::map<std::string, Object> overlay;  // key -> new state in this batch (empty json = deleted)
  std::vector<LogRecord> records;
  int64_t rev;
  {
    std::shared_lock lock(mu_);
    rev = rev_;
  }
  for (size_t i = 0; i < batch.size(); i++) {
    Pending& p = *batch[i];
    Object current;
    if (auto it = overlay.find(p.key); it != overlay.end()) {
      current = it->second;
    } else {
      std::shared_lock lock(mu_);
      if (auto o = objects_.find(p.key); o != objects_.end()) current = o->second;
    }
    Result<std::optional<Json>> next = error("mutation threw");
    try {
      next = p.fn(current ? &current : nullptr, rev + 1);
    } catch (const std::exception& e) {
      next = error("mutation of ", quote(p.key), " failed: ", e.what());
    }
    if (!next.ok()) {
      outcomes[i].result = std::move(next).error();
      continue;
    }
    if (!next->has_value() && !current) {
      outcomes[i].result = Error(cat(quote(p.key), " not found"), kNotFound);
      continue;
    }
    int64_t r = ++rev;
    LogRecord rec;
    rec.rev = r;
    rec.key = p.key;
    Object o;
    Json j = next->has_value() ? std::move(**next) : *current.json;
    j["metadata"]["resourceVersion"] = std::to_string(r);
    auto bytes = std::make_shared<const std::string>(j.dump());
    o.json = std::make_shared<const Json>(std::move(j));
    o.bytes = bytes;
    o.mod_rev = r;
    o.create_rev = current ? current.create_rev : r;
    rec.created = !current;
    rec.deleted = !next->has_value();
    rec.create_rev = o.create_rev;
    rec.prev_rev = current ? current.mod_rev : 0;
    rec.value = *bytes;
    records.push_back(std::move(rec));
    EventType t = !next->has_value() ? EventType::kDeleted
                                     : (current ? EventType::kModified : EventType::kAdded);
    outcomes[i].event = WatchEvent{t, p.key, o, r};
    outcomes[i].deleted = !next->has_value();
    outcomes[i].result = o;
    overlay[p.key] = outcomes[i].deleted ? Object{} : o;
  }
  auto written = backend_->append(records);
  if (!written.ok()) {
    log::error("store: commit failed: ", written.error().what());
    for (size_t i = 0; i < batch.size(); i++) {
      if (outcomes[i].event) outcomes[i].result = Error(written.error().what());
      batch[i]->done.set_value(std::move(*outcomes[i].result));
    }
    return;
  }
  {
    std::unique_lock lock(mu_);
    for (auto& oc : outcomes) {
      if (!oc.event) continue;
      if (oc.deleted)
        objects_.erase(oc.event->key);
      else
        objects_[oc.event->key] = oc.event->object;
      rev_ = oc.event->rev;
      publish_locked(std::move(*oc.event));
    }
  }
  for (size_t i = 0; i < batch.size(); i++)
    batch[i]->done.set_value(std::move(*outcomes[i].result));
}

void Store::publish_locked(WatchEvent e) {
  bool prune = false;
  for (auto& w : watchers_) {
    auto sp = w.lock();
    if (!sp || sp->closed()) {
      prune = true;
      continue;
    }
    if (e.key.compare(0, sp->prefix().size(), sp->prefix()) == 0)
      sp->push(e, options_.watcher_queue_limit);
  }
  if (prune)
    std::erase_if(watchers_, [](const std::weak_ptr<Watcher>& w) {
      auto sp = w.lock();
      return !sp || sp->closed();
    });
  events_.push_back(std::move(e));
  while (events_.size() > options_.event_window) events_.pop_front();
}

int64_t Store::oldest_watchable() const {
  std::shared_lock lock(mu_);
  int64_t first = events_.empty() ? rev_ + 1 : events_.front().rev;
  return std::max(first - 1, compacted_);
}

Result<std::shared_ptr<Watcher>> Store::watch(const std::string& prefix, int64_t from_rev) {
  auto w = std::make_shared<Watcher>(prefix);
  std::unique_lock lock(mu_);
  if (from_rev == 0) {
    for (auto it = objects_.lower_bound(prefix);
         it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
      w->queue_.push_back({EventType::kAdded, it->first, it->second, it->second.mod_rev});
  } else {
    int64_t first = events_.empty() ? rev_ + 1 : events_.front().rev;
    int64_t oldest = std::max(first - 1, compacted_);
    if (from_rev < oldest)
      return Error(cat("too old resource version: ", from_rev, " (", oldest, ")"), kGone);
    auto it = std::lower_bound(events_.begin(), events_.end(), from_rev + 1,
                               [](const WatchEvent& e, int64_t r) { return e.rev < r; });
    for (; it != events_.end(); ++it)
      if (it->key.compare(0, prefix.size(), prefix) == 0) w->queue_.push_back(*it);
  }
  watchers_.push_back(w);
  return w;
}

Result<void> Store::compact(int64_t rev) {
  TRY(backend_->compact(rev));
  std::unique_lock lock(mu_);
  compacted_ = std::max(compacted_, rev);
  while (!events_.empty() && events_.front().rev <= rev) events_.pop_front();
  return ok();
}

Result<Object> Store::create(const std::string& key, Json object) {
  return mutate(key, [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
    if (cur) return Error(cat(quote(key), " already exists"), kExists);
    return std::optional<Json>(std::move(object));
  });
}

Result<Object> Store::update(const std::string& key, Json object, int64_t expected_rev) {
  return mutate(key, [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
    if (!cur) return Error(cat(quote(key), " not found"), kNotFound);
    if (expected_rev && cur->mod_rev != expected_rev)
      return Error(cat("the object has been modified; please apply your changes to the latest "
                       "version and try again"),
                   kConflict);
    return std::optional<Json>(std::move(object));
  });
}

Result<Object> Store::remove(const std::string& key, int64_t expected_rev) {
  return mutate(key, [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
    if (!cur) return Error(cat(quote(key), " not found"), kNotFound);
    if (expected_rev && cur->mod_rev != expected_rev)
      return Error("the object has been modified", kConflict);
    return std::optional<Json>();
  });
}

}  // namespace skiff::master
