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
//
// In the ring, an envelope stores the facts (node, transport, source, time, remote address,
// content type, traceparent) and the header text is made from them when the record is
// produced (render_common_headers): about half the bytes per small event.

// What the common headers are made of.
struct StampFacts {
  std::string_view node_id;
  std::string_view transport;
  std::string_view source;
  std::int64_t ingest_time_ms = 0;
  std::string_view content_type;  // empty: no content-type header
  std::string_view traceparent;   // a valid one (Stamper::traceparent)
  std::string_view remote_ip;     // empty: no tributary_remote header
  std::uint16_t remote_port = 0;
};

// Room for the header values render_common_headers() makes; the views it hands out point
// here (or into the facts) and stay valid until the next render into the same text.
struct CommonHeaderText {
  std::string source;
  std::string type;
  std::array<char, 32> time{};
  std::string remote;
};

using AddHeader = std::function<void(std::string_view name, std::string_view value)>;

// Calls ADD for each common header, in this order: ce_specversion, ce_source, ce_type,
// ce_time, content-type (when set), traceparent, tributary_remote (when the remote address
// is known).
void render_common_headers(const StampFacts& facts, CommonHeaderText& text, const AddHeader& add);

// Whether NAME (in any case) is a header Tributary sets itself: ce_*, content-type,
// traceparent, tributary_* and the transports' own (mqtt_*). Metadata a client sends under
// such a name (an MQTT 5 user property) is not copied to the record: it could forge the
// event id consumers de-duplicate on, or the source, or make a second header of that name.
bool is_stamped_header_name(std::string_view name);

class Stamper {
 public:
  explicit Stamper(std::string node_id);

  // Adds the headers to event.headers. ingest_time must already be set.
  void stamp(Event& event) const;

  // The same headers, without an Event: ADD(name, value) is called once per header, in
  // order; the views are valid only during the call. TRACEPARENT is the client's, or empty.
  using AddHeader = tributary::AddHeader;
  void stamp_headers(const Origin& origin, std::chrono::system_clock::time_point ingest_time,
                     std::string_view content_type, std::string_view traceparent,
                     const AddHeader& add) const;

  const std::string& node_id() const { return node_id_; }

  // The client's TRACEPARENT when it is valid, else a new one made in OUT.
  static std::string_view traceparent(std::string_view incoming, std::array<char, 55>& out);

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
// The same, written into OUT (replacing what it held): no allocation once OUT has grown.
void assign_event_id(std::string& out, std::string_view node_id, std::uint64_t sequence);

}  // namespace tributary
