// ForwardingStore: an ObjectStore that passes every call to another one. Tests derive from it
// and override only the calls they change (fail, hold, count).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/object_store.h"

namespace ltxvfs::testing {

class ForwardingStore : public storage::ObjectStore {
 public:
  explicit ForwardingStore(storage::ObjectStore& inner) : inner_(inner) {}

  storage::PutResult put(const std::string& key, std::span<const uint8_t> body,
                         const storage::PutOptions& options) override {
    return inner_.put(key, body, options);
  }
  storage::PutResult put_body(const std::string& key, const storage::BodySource& body,
                              const storage::PutOptions& options) override {
    return inner_.put_body(key, body, options);
  }
  storage::GetResult get(const std::string& key, std::optional<storage::ByteRange> range) override {
    return inner_.get(key, range);
  }
  std::optional<storage::ObjectInfo> head(const std::string& key) override {
    return inner_.head(key);
  }
  std::vector<storage::ObjectInfo> list(const std::string& prefix,
                                        const std::string& start_after) override {
    return inner_.list(prefix, start_after);
  }
  void remove(const std::vector<std::string>& keys) override { inner_.remove(keys); }
  std::string describe() const override { return inner_.describe(); }

 protected:
  storage::ObjectStore& inner_;
};

}  // namespace ltxvfs::testing
