#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"

namespace tributary {

// Stamps the common metadata on every event: the Kafka headers (CloudEvents Kafka binding
// names plus W3C traceparent). The event id (`ce_id`) is not stamped here: it is the node id
// and the ring's sequence number (event_id()), known once the ring has the event, unless
// the intake set one (event.id, e.g. a webhook's delivery id).
// One per process, shared by all intake threads; stamp() touches no shared state.
class Stamper {
 public:
  explicit Stamper(std::string node_id);

  // Adds the headers to event.headers. ingest_time must already be set.
  void stamp(Event& event) const;

  const std::string& node_id() const { return node_id_; }

  // W3C Trace Context: "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>".
  static bool is_valid_traceparent(std::string_view value);
  static std::string new_traceparent();
  static std::string rfc3339(std::chrono::system_clock::time_point t);

 private:
  std::string node_id_;
};

// The id of the event the ring numbered SEQUENCE on node NODE_ID: "<node>-<sequence>". The
// ring's numbering survives restarts, so the id is unique per node and stable across
// retries: consumers can de-duplicate on it.
std::string event_id(std::string_view node_id, std::uint64_t sequence);

}  // namespace tributary
