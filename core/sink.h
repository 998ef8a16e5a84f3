#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace tributary {

// Whether the offering thread waits for the completion (an MQTT acknowledgement held back
// until the record is stored) or goes on (UDP, an MQTT QoS 0 message). A waiting offer may be
// written on the offering thread at once; the others are left to the ring's writer thread,
// which writes many of them with one system call. kSoon: the completion is awaited, but the
// offering thread calls Sink::flush() before it goes idle, so that what one pass of an event
// loop offered (HTTP requests on many connections) is written at once, with one system call.
enum class Waiting : std::uint8_t { kYes, kNo, kSoon };

enum class Offer : std::uint8_t {
  kAccepted,  // taken; the completion will fire exactly once
  kBusy,      // no room right now: back off (HTTP 503, UDP counted drop); completion not called
  kRejected,  // cannot be taken at all (e.g. invalid topic); completion not called
};

// What the sink knows once an event is safe.
struct Delivery {
  std::string event_id;
  std::string topic;
  std::int32_t partition = -1;  // -1 until Kafka has the record
  std::int64_t offset = -1;
  std::int64_t sequence = -1;   // the ring's sequence number, once the ring has the record
};

// Fires once per accepted event: Status ok once the event is safe (in the disk ring under
// its fsync policy, for RingSink; acknowledged by Kafka, for KafkaSink), or the reason it is
// not. It may fire on a sink thread or on the offering thread before offer() returns (the
// ring writes inline when nobody else is writing). Must be cheap, must not block, and must
// not take a lock the offering code holds: post work to your own thread.
using Completion = std::function<void(const Status&, const Delivery&)>;

// The core side of the one hand-off between intakes and the rest of Tributary.
// offer() may be called from any intake thread; it never blocks and never throws.
// The intakes offer to RingSink (the disk ring); the forwarder offers to KafkaSink.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Offer offer(Event&& event, Completion done) = 0;
  // EVENTS as one unit, all or none (an NDJSON body, a batch datagram): never half taken.
  // DONE fires once; its Delivery describes the first event (sequence: the first one's).
  // The default takes a single event and refuses more: a sink that cannot promise "all or
  // none" must not pretend to.
  virtual Offer offer_many(std::vector<Event>&& events, Completion done) {
    if (events.size() == 1) return offer(std::move(events.front()), std::move(done));
    return Offer::kRejected;
  }
  // The same for events an intake encoded itself (EnvelopeWriter, stamped), so no Event is
  // built on its hot path; TIME_MS is the first one's ingest time. The views need to live
  // only for the call. The default decodes them and calls offer_many (kRejected when one
  // is not a valid envelope).
  virtual Offer offer_encoded(std::int64_t time_ms, std::span<const std::string_view> envelopes,
                              Completion done, Waiting waiting);
  // Stores what kSoon offers left waiting; their completions may fire on this thread before
  // it returns. Sinks that do not hold offers back have nothing to do.
  virtual void flush() {}
};

}  // namespace tributary
