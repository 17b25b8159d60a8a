#pragma once
// Garbage collection through ownerReferences (background, foreground and orphan propagation) and
// namespace termination, driven by one watch on the whole store. The owner -> dependents index is
// kept from the event stream, so no cascade ever scans the store.

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "master/registry/registry.hpp"

namespace skiff::master {

class GarbageCollector {
 public:
  explicit GarbageCollector(Registry& registry) : registry_(registry) {}
  ~GarbageCollector() { stop(); }
  Result<void> start();
  void stop();

 private:
  void run();
  void observe(const WatchEvent& e);
  void process_owner(const std::string& key);
  void process_namespace(const std::string& name);
  void delete_key(const std::string& key, const char* policy);
  void remove_finalizer(const std::string& key, const char* finalizer);

  Registry& registry_;
  std::shared_ptr<Watcher> watcher_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::map<std::string, std::set<std::string>> dependents_;  // owner uid -> dependent keys
  std::map<std::string, std::vector<std::string>> owners_;   // key -> owner uids
  std::map<std::string, std::string> uid_keys_;              // uid -> key
  std::set<std::string> terminating_namespaces_;
};

// Splits a store key into its kind, namespace and name; nullptr kind when unknown.
const api::KindInfo* parse_key(const std::string& key, std::string& ns, std::string& name);

}  // namespace skiff::master
