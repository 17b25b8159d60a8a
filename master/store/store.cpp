#include "master/store/store.hpp"

#include <malloc.h>

#include <future>

#include "common/defer.hpp"
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
  snapshot_ = 0;
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

bool Watcher::push(WatchEvent e) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (queue_.size() >= limit_ + snapshot_) {
      // Too slow: drop it like the cacher does; the client re-lists and watches again.
      closed_ = true;
      queue_.clear();
    } else {
      if (!with_prev_) e.prev = Object{};
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

const Json* JsonRef::get() const {
  Slot& slot = this->slot();
  if (auto p = slot.load()) return p.get();  // once set, the slot keeps it alive
  if (!bytes_) return nullptr;
  auto fresh = std::make_shared<const Json>(Json::parse(*bytes_, nullptr, false));
  std::shared_ptr<const Json> expected;
  if (slot.compare_exchange_strong(expected, fresh)) return fresh.get();
  return expected.get();
}

std::shared_ptr<const Json> JsonRef::shared() const {
  get();
  return slot().load();
}

JsonRef JsonRef::shared_parse() const {
  JsonRef out = bytes_ ? JsonRef(bytes_) : *this;
  if (!out.bytes_) return out;
  out.slot_ = std::make_shared<Slot>(slot().load());
  return out;
}

// Pods by spec.nodeName: a kubelet's list of its own pods reads only those.
static const std::string kPodsPrefix = "/pods/";
static std::string pod_node(const std::string& key, const Json& j) {
  if (key.compare(0, kPodsPrefix.size(), kPodsPrefix) != 0 || !j.is_object()) return {};
  auto spec = j.find("spec");
  if (spec == j.end() || !spec->is_object()) return {};
  auto n = spec->find("nodeName");
  return n != spec->end() && n->is_string() ? n->get<std::string>() : std::string();
}

// A stored version from its parsed form (kept in the returned copy; the store keeps it lean).
static Object object_of(const std::string& key, Json j, int64_t create_rev, int64_t mod_rev) {
  Object o;
  o.bytes = std::make_shared<const std::string>(j.dump());
  o.node = pod_node(key, j);
  o.json = JsonRef(std::make_shared<const Json>(std::move(j)), o.bytes);
  o.create_rev = create_rev;
  o.mod_rev = mod_rev;
  return o;
}

// A lean stored version from a backend row. `stamp`: the value was stored without
// metadata.resourceVersion (shared backends), which is the record's revision.
static Result<Object> make_object(const LogRecord& r, bool stamp = false) {
  auto json = TRY(parse_json(r.value, quote(r.key)));
  Object o;
  if (stamp && json.is_object()) {
    json["metadata"]["resourceVersion"] = std::to_string(r.rev);
    o.bytes = std::make_shared<const std::string>(json.dump());
  } else {
    o.bytes = std::make_shared<const std::string>(r.value);
  }
  o.node = pod_node(r.key, json);
  o.json = JsonRef(o.bytes);
  o.create_rev = r.create_rev;
  o.mod_rev = r.rev;
  return o;
}

Result<std::unique_ptr<Store>> Store::open(std::unique_ptr<Backend> backend, Options options) {
  auto loaded = TRY_CTX(backend->load(options.event_window), "load the store");
  std::unique_ptr<Store> s(new Store(std::move(backend), options));
  s->shared_ = s->backend_->shared();
  for (const auto& r : loaded.live) s->put_locked(r.key, TRY(make_object(r, s->shared_)));
  for (const auto& r : loaded.history) {
    EventType t = r.deleted   ? EventType::kDeleted
                  : r.created ? EventType::kAdded
                              : EventType::kModified;
    s->events_.push_back({t, r.key, TRY(make_object(r, s->shared_)), r.rev, {}});
    s->events_bytes_ += s->events_.back().object.bytes->size();
  }
  s->rev_ = loaded.revision;
  s->applied_rev_ = loaded.revision;
  s->compacted_ = loaded.compacted;
  if (!s->shared_) s->committer_ = std::thread([p = s.get()] { p->committer(); });
  if (s->shared_) s->feeder_ = std::thread([p = s.get()] { p->feeder(); });
  return s;
}

void Store::feeder() {
  while (!feeder_stop_) {
    int64_t from;
    {
      std::shared_lock lock(mu_);
      from = rev_;
    }
    auto r = backend_->feed(
        from, [this](std::vector<LogRecord>&& recs) { apply_records(std::move(recs)); });
    if (feeder_stop_) break;
    if (!r.ok() && r.error().code() == kGone) {
      // We fell behind a compaction: re-list, and close every watcher (clients re-list too, as
      // with kube-apiserver's cacher).
      log::warn("store: ", r.error().what(), "; reloading");
      auto loaded = backend_->load(0);
      if (loaded.ok()) {
        std::map<std::string, Object> fresh;
        bool good = true;
        for (const auto& rec : loaded->live) {
          auto o = make_object(rec, true);
          if (!o.ok()) {
            good = false;
            break;
          }
          fresh[rec.key] = std::move(*o);
        }
        if (good) {
          std::unique_lock lock(mu_);
          objects_.clear();
          node_index_.clear();
          for (auto& [k, o] : fresh) put_locked(k, std::move(o));
          events_.clear();
          events_bytes_ = 0;
          rev_ = std::max(rev_, loaded->revision);
          compacted_ = rev_;
          for (auto& w : watchers_)
            if (auto sp = w.lock()) sp->close();
          watchers_.clear();
          int64_t now = rev_;
          lock.unlock();
          notify_applied(now);
          continue;
        }
      }
    } else if (!r.ok()) {
      log::warn("store: change feed: ", r.error().what(), "; retrying");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void Store::apply_records(std::vector<LogRecord>&& records) {
  std::unique_lock lock(mu_);
  const int64_t floor = rev_;
  for (auto& r : records) {
    if (r.rev <= floor) continue;  // already applied (a feed resumed after a reload)
    if (r.deleted) {
      auto it = objects_.find(r.key);
      Object last;
      if (r.value.empty() && it != objects_.end()) {
        LogRecord copy = r;
        copy.value = *it->second.bytes;
        copy.create_rev = it->second.create_rev;
        auto o = make_object(copy, true);
        if (o.ok()) last = std::move(*o);
      } else if (!r.value.empty()) {
        auto o = make_object(r, true);
        if (o.ok()) last = std::move(*o);
      }
      if (it == objects_.end()) {
        rev_ = std::max(rev_, r.rev);
        continue;
      }
      erase_locked(it);
      rev_ = std::max(rev_, r.rev);
      if (last) publish_locked({EventType::kDeleted, r.key, std::move(last), r.rev, {}});
      continue;
    }
    auto o = make_object(r, true);
    if (!o.ok()) {
      log::warn("store: skipping ", quote(r.key), " at revision ", r.rev, ": ", o.error().what());
      rev_ = std::max(rev_, r.rev);
      continue;
    }
    Object prev = put_locked(r.key, *o);
    rev_ = std::max(rev_, r.rev);
    EventType t = prev ? EventType::kModified : EventType::kAdded;
    publish_locked({t, r.key, std::move(*o), r.rev, std::move(prev)});
  }
  int64_t now = rev_;
  lock.unlock();
  notify_applied(now);
}

void Store::notify_applied(int64_t rev) {
  std::lock_guard lock(wait_mu_);
  applied_rev_ = std::max(applied_rev_, rev);
  for (auto it = rev_waiters_.begin(); it != rev_waiters_.end() && it->first <= applied_rev_;) {
    it->second->done = true;
    it->second->cv.notify_one();
    it = rev_waiters_.erase(it);
  }
}

Object Store::put_locked(const std::string& key, Object o) {
  Object& slot = objects_[key];
  if (slot.node != o.node || !slot) {
    if (slot) {
      auto it = node_index_.find(slot.node);
      if (it != node_index_.end() && it->second.erase(key) && it->second.empty())
        node_index_.erase(it);
    }
    if (key.compare(0, kPodsPrefix.size(), kPodsPrefix) == 0) node_index_[o.node].insert(key);
  }
  Object prev = std::move(slot);
  slot = std::move(o);
  slot.json = slot.json.lean();
  return prev;
}

void Store::erase_locked(std::map<std::string, Object>::iterator it) {
  if (it->first.compare(0, kPodsPrefix.size(), kPodsPrefix) == 0) {
    auto n = node_index_.find(it->second.node);
    if (n != node_index_.end() && n->second.erase(it->first) && n->second.empty())
      node_index_.erase(n);
  }
  objects_.erase(it);
}

// An object as a selector sees it: parsed without its arrays (nothing is allocated for them; a
// field selector's path crosses only objects, a label selector reads metadata.labels).
static void drop_discarded(Json& j) {
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end();) {
    if (it->is_discarded()) {
      it = j.erase(it);
    } else {
      drop_discarded(*it);
      ++it;
    }
  }
}

static Json parse_for_selector(const std::string& bytes) {
  Json j = Json::parse(
      bytes,
      [](int, Json::parse_event_t ev, Json&) {
        return ev != Json::parse_event_t::array_start && ev != Json::parse_event_t::array_end;
      },
      false);
  drop_discarded(j);  // nlohmann leaves a dropped array below depth 2 as a discarded value
  return j;
}

static bool passes(const Object& o, const std::function<bool(const Json&)>& filter,
                   bool selector_only) {
  if (selector_only && o.bytes) return filter(parse_for_selector(*o.bytes));
  return filter(*Object(o).json);  // parsed in a copy: the store stays lean
}

Store::ListResult Store::list_pods_on_node(const std::string& prefix, const std::string& node,
                                           const std::string& start, size_t limit,
                                           const std::function<bool(const Json&)>& filter,
                                           bool selector_only) const {
  ListResult out;
  std::shared_lock lock(mu_);
  out.revision = rev_;
  auto idx = node_index_.find(node);
  if (idx == node_index_.end()) return out;
  const auto& keys = idx->second;
  for (auto it = keys.lower_bound(start.empty() || start < prefix ? prefix : start);
       it != keys.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
    const Object& o = objects_.at(*it);
    if (filter && !passes(o, filter, selector_only)) continue;
    if (limit && out.items.size() == limit) {
      out.next_key = *it;
      break;
    }
    out.items.push_back(o);
  }
  return out;
}

bool Store::wait_applied(int64_t rev, std::chrono::milliseconds timeout) {
  std::unique_lock lock(wait_mu_);
  if (applied_rev_ >= rev) return true;
  RevWaiter w;
  auto it = rev_waiters_.emplace(rev, &w);
  if (w.cv.wait_for(lock, timeout, [&] { return w.done; })) return true;
  rev_waiters_.erase(it);
  return false;
}

Result<void> Store::sync(std::chrono::milliseconds timeout) {
  if (!shared_) return ok();
  int64_t rev = TRY_CTX(backend_->current_revision(), "read the store's revision");
  if (!wait_applied(rev, timeout))
    return error("the store's change feed is behind (revision ", rev, " not seen within ",
                 timeout.count(), " ms)");
  return ok();
}

Store::~Store() { shutdown(); }

void Store::shutdown() {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_ && !committer_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  keys_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::unique_lock lock(queue_mu_);  // shared backends: writes in flight finish first
    keys_cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  feeder_stop_ = true;
  backend_->stop_feed();
  if (feeder_.joinable()) feeder_.join();
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
                              const std::function<bool(const Json&)>& filter,
                              bool selector_only) const {
  ListResult out;
  size_t parsed = 0;
  // A scan parses every object it passes; glibc keeps what those parses freed in the thread's
  // arena (150,000 pods: RSS 457 MiB -> 1.7 GiB after a scan, 489 MiB once trimmed).
  Defer trim([&] {
    if (parsed >= 10000) malloc_trim(0);
  });
  std::shared_lock lock(mu_);
  out.revision = rev_;
  auto it = objects_.lower_bound(start.empty() || start < prefix ? prefix : start);
  for (; it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (filter) parsed++;
    if (filter && !passes(it->second, filter, selector_only)) continue;
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
  if (shared_) return mutate_shared(key, std::move(fn));
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
    Json j = next->has_value() ? std::move(**next) : *current.json;
    j["metadata"]["resourceVersion"] = std::to_string(r);
    Object o = object_of(p.key, std::move(j), current ? current.create_rev : r, r);
    if (!next->has_value()) o.node = current.node;  // the last state, as the index has it
    rec.created = !current;
    rec.deleted = !next->has_value();
    rec.create_rev = o.create_rev;
    rec.prev_rev = current ? current.mod_rev : 0;
    rec.value = *o.bytes;
    records.push_back(std::move(rec));
    EventType t = !next->has_value() ? EventType::kDeleted
                                     : (current ? EventType::kModified : EventType::kAdded);
    // The event carries the parsed tree to the watchers (publish keeps only bytes).
    outcomes[i].event =
        WatchEvent{t, p.key, o, r, t == EventType::kModified ? current.lean() : Object{}};
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
      if (oc.deleted) {
        if (auto it = objects_.find(oc.event->key); it != objects_.end()) erase_locked(it);
      } else {
        put_locked(oc.event->key, oc.event->object);
      }
      rev_ = oc.event->rev;
      publish_locked(std::move(*oc.event));
    }
  }
  for (size_t i = 0; i < batch.size(); i++)
    batch[i]->done.set_value(std::move(*outcomes[i].result));
}

// Shared backends: the write runs here, in the caller's thread, as one conditional txn; writes to
// one key wait for each other (the next one's mutation must see this one's result). A write is
// acknowledged once the change feed has applied it, so a client reads its own writes.
Result<Object> Store::mutate_shared(const std::string& key, Mutation fn) {
  {
    std::unique_lock lock(queue_mu_);
    keys_cv_.wait(lock, [&] { return stopping_ || !busy_keys_.count(key); });
    if (stopping_) return error("the store is shutting down");
    busy_keys_.insert(key);
    in_flight_++;
  }
  Defer release([&] {
    {
      std::lock_guard lock(queue_mu_);
      busy_keys_.erase(key);
      in_flight_--;
    }
    keys_cv_.notify_all();
  });
  Pending p;
  p.key = key;
  p.fn = std::move(fn);
  auto written = TRY(commit_one_shared(p, nullptr));
  if (!wait_applied(written.first.mod_rev, std::chrono::seconds(30)))
    log::warn("store: the change feed has not delivered revision ", written.first.mod_rev,
              " in 30 s");
  return std::move(written.first);
}

// One conditional write: the mutation runs on the newest object this store knows (or `overlay`,
// the batch's own earlier write); when another master wrote first, it waits for the feed to
// deliver that write and runs the mutation again. Returns the object written and whether it was a
// deletion.
Result<std::pair<Object, bool>> Store::commit_one_shared(Pending& p, const Object* overlay) {
  for (int attempt = 0;; attempt++) {
    Object current;
    if (overlay && attempt == 0) {
      current = *overlay;
    } else {
      std::shared_lock lock(mu_);
      if (auto o = objects_.find(p.key); o != objects_.end()) current = o->second;
    }
    Result<std::optional<Json>> next = error("mutation threw");
    int64_t guess = revision() + 1;
    try {
      next = p.fn(current ? &current : nullptr, guess);
    } catch (const std::exception& e) {
      next = error("mutation of ", quote(p.key), " failed: ", e.what());
    }
    if (!next.ok()) return std::move(next).error();
    if (!next->has_value() && !current) return Error(cat(quote(p.key), " not found"), kNotFound);
    Backend::CondWrite w;
    w.key = p.key;
    w.expected_mod_rev = current ? current.mod_rev : 0;
    Json j = next->has_value() ? std::move(**next) : *current.json;
    if (next->has_value()) {
      if (j.is_object() && j.contains("metadata") && j["metadata"].is_object())
        j["metadata"].erase("resourceVersion");
      w.value = j.dump();
    }
    auto res = TRY(backend_->write(w));
    if (!res.succeeded) {
      if (attempt >= 50)
        return error("write of ", quote(p.key), ": still conflicting after ", attempt, " attempts");
      if (!wait_applied(res.rev, std::chrono::seconds(10)))
        return error("write of ", quote(p.key), ": the change feed did not reach revision ",
                     res.rev);
      continue;
    }
    j["metadata"]["resourceVersion"] = std::to_string(res.rev);
    Object o = object_of(p.key, std::move(j), current ? current.create_rev : res.rev, res.rev);
    return std::make_pair(std::move(o), !w.value.has_value());
  }
}

void Store::publish_locked(WatchEvent e) {
  bool prune = false;
  // Every watcher's copy shares one parse of the object (and of the previous version).
  WatchEvent fan{e.type, e.key, e.object, e.rev, e.prev};
  fan.object.json = e.object.json.shared_parse();
  if (fan.prev) fan.prev.json = e.prev.json.shared_parse();
  for (auto& w : watchers_) {
    auto sp = w.lock();
    if (!sp || sp->closed()) {
      prune = true;
      continue;
    }
    if (e.key.compare(0, sp->prefix().size(), sp->prefix()) == 0) sp->push(fan);
  }
  if (prune)
    std::erase_if(watchers_, [](const std::weak_ptr<Watcher>& w) {
      auto sp = w.lock();
      return !sp || sp->closed();
    });
  events_bytes_ += e.object.bytes ? e.object.bytes->size() : 0;
  e.object.json = e.object.json.lean();  // the window keeps bytes only
  e.prev.json = e.prev.json.lean();
  events_.push_back(std::move(e));
  while (events_.size() > options_.event_window ||
         (events_.size() > 1 && events_bytes_ > options_.event_window_bytes)) {
    dropped_ = events_.front().rev;
    if (events_.front().object.bytes) events_bytes_ -= events_.front().object.bytes->size();
    events_.pop_front();
  }
}

int64_t Store::oldest_watchable() const {
  std::shared_lock lock(mu_);
  return oldest_locked();
}

int64_t Store::oldest_locked() const {
  // A shared backend's history covers every revision after `compacted_` (its load read etcd's
  // history), so only what the window dropped is gone.
  if (shared_) return std::max(compacted_, dropped_);
  int64_t first = events_.empty() ? rev_ + 1 : events_.front().rev;
  return std::max(first - 1, compacted_);
}

Result<std::shared_ptr<Watcher>> Store::watch(const std::string& prefix, int64_t from_rev,
                                              bool with_prev, bool client) {
  auto w = std::make_shared<Watcher>(prefix, with_prev);
  w->limit_ = client ? options_.client_watcher_queue_limit : options_.watcher_queue_limit;
  std::unique_lock lock(mu_);
  if (from_rev == 0) {
    for (auto it = objects_.lower_bound(prefix);
         it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
      w->queue_.push_back({EventType::kAdded, it->first, it->second, it->second.mod_rev, {}});
  } else {
    int64_t oldest = oldest_locked();
    if (from_rev < oldest)
      return Error(cat("too old resource version: ", from_rev, " (", oldest, ")"), kGone);
    auto it = std::lower_bound(events_.begin(), events_.end(), from_rev + 1,
                               [](const WatchEvent& e, int64_t r) { return e.rev < r; });
    for (; it != events_.end(); ++it)
      if (it->key.compare(0, prefix.size(), prefix) == 0) {
        w->queue_.push_back(*it);
        if (!with_prev) w->queue_.back().prev = Object{};
      }
  }
  w->snapshot_ = w->queue_.size();
  watchers_.push_back(w);
  return w;
}

Result<void> Store::compact(int64_t rev) {
  TRY(backend_->compact(rev));
  std::unique_lock lock(mu_);
  compacted_ = std::max(compacted_, rev);
  while (!events_.empty() && events_.front().rev <= rev) {
    if (events_.front().object.bytes) events_bytes_ -= events_.front().object.bytes->size();
    events_.pop_front();
  }
  return ok();
}

Result<Object> Store::create(const std::string& key, Json object) {
  return mutate(key, [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
    if (cur) return Error(cat(quote(key), " already exists"), kExists);
    return std::optional<Json>(std::move(object));
  });
}

Result<Object> Store::update(const std::string& key, Json object, int64_t expected_rev) {
  // A client may hold a revision another master wrote that our feed has not delivered yet.
  if (shared_ && expected_rev > revision()) wait_applied(expected_rev, std::chrono::seconds(5));
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
  if (shared_ && expected_rev > revision()) wait_applied(expected_rev, std::chrono::seconds(5));
  return mutate(key, [&](const Object* cur, int64_t) -> Result<std::optional<Json>> {
    if (!cur) return Error(cat(quote(key), " not found"), kNotFound);
    if (expected_rev && cur->mod_rev != expected_rev)
      return Error("the object has been modified", kConflict);
    return std::optional<Json>();
  });
}

}  // namespace skiff::master
