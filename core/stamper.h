#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"

namespace tributary {

// Stamps the common metadata on every event: a unique id and the Kafka headers
// (CloudEvents Kafka binding names plus W3C traceparent).
// One per process, shared by all intake threads: stamp() only touches an atomic.
class Stamper {
 public:
  explicit Stamper(std::string node_id);

  // Sets event.id and event.headers. ingest_time must already be set.
  void stamp(Event& event);

  const std::string& node_id() const { return node_id_; }

  // W3C Trace Context: "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>".
  static bool is_valid_traceparent(std::string_view value);
  static std::string new_traceparent();
  static std::string rfc3339(std::chrono::system_clock::time_point t);

 private:
  std::string node_id_;
  // Ids are node-epoch-sequence; the epoch (process start, ms) keeps them unique across
  // restarts until the disk ring provides a durable sequence number.
  std::string id_prefix_;
  std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace tributary
