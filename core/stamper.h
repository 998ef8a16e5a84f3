#pragma once

#include <array>
#include <cstdint>
#include <functional>
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

  // The same headers for an event that is not an Event (the UDP intake encodes envelopes
  // directly): ADD(name, value) is called once per header, in order; the views are valid
  // only during the call. TRACEPARENT is the client's, or empty.
  using AddHeader = std::function<void(std::string_view name, std::string_view value)>;
  void stamp_headers(const Origin& origin, std::chrono::system_clock::time_point ingest_time,
                     std::string_view content_type, std::string_view traceparent,
                     const AddHeader& add) const;

  const std::string& node_id() const { return node_id_; }

  // W3C Trace Context: "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>".
  static bool is_valid_traceparent(std::string_view value);
  static std::string new_traceparent();
  // The same into OUT, without allocating.
  static std::string_view new_traceparent(std::array<char, 55>& out);
  static std::string rfc3339(std::chrono::system_clock::time_point t);
  static std::string_view rfc3339(std::chrono::system_clock::time_point t, std::array<char, 32>& out);

 private:
  std::string node_id_;
};

// The id of the event the ring numbered SEQUENCE on node NODE_ID: "<node>-<sequence>". The
// ring's numbering survives restarts, so the id is unique per node and stable across
// retries: consumers can de-duplicate on it.
std::string event_id(std::string_view node_id, std::uint64_t sequence);

}  // namespace tributary
