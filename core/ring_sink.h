#pragma once

#include <string>

#include "buffer/ring.h"
#include "core/sink.h"

namespace tributary {

// The intakes' sink: encodes each event as a FlatBuffers envelope and appends it to the
// disk ring. The completion fires once the ring accepted the record under its fsync policy
// (on the ring's writer thread, or on the offering thread when the ring writes inline): that
// is when a client may be told "accepted". Events offered as Event (HTTP) count as waited for.
// offer() from any thread.
class RingSink final : public Sink {
 public:
  // NODE_ID makes the event ids told to clients: "<node>-<ring sequence>".
  RingSink(buffer::Ring& ring, std::string node_id) : ring_(ring), node_id_(std::move(node_id)) {}
  Offer offer(Event&& event, Completion done) override;
  Offer offer_many(std::vector<Event>&& events, Completion done) override;
  Offer offer_encoded(std::int64_t time_ms, std::span<const std::string_view> envelopes,
                      Completion done, Waiting waiting) override;
  void flush() override { ring_.write_pending(); }

 private:
  // Appends BODIES as one group; DONE learns ID (or the ring's event id) and TOPIC.
  Offer append(std::int64_t time_ms, std::span<const std::string_view> bodies, Completion done,
               std::string id, std::string topic, Waiting waiting);

  buffer::Ring& ring_;
  const std::string node_id_;
};

}  // namespace tributary
