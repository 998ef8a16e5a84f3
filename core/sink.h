#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/event.h"
#include "core/status.h"

namespace tributary {

enum class Offer : std::uint8_t {
  kAccepted,  // taken; the completion will fire exactly once
  kBusy,      // no room right now: back off (HTTP 503, UDP counted drop); completion not called
  kRejected,  // cannot be taken at all (e.g. invalid topic); completion not called
};

// What the sink knows once an event is safe.
struct Delivery {
  std::string event_id;
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

// Fires once per accepted event, on a sink thread: Status ok once the event is durable
// (today: acknowledged by Kafka; with the disk ring: written to the ring), or the reason
// it is not. Must be cheap and must not block: post work to your own thread.
using Completion = std::function<void(const Status&, const Delivery&)>;

// The core side of the one hand-off between intakes and the rest of Tributary.
// offer() may be called from any intake thread; it never blocks and never throws.
// Today's implementation is KafkaSink; the disk ring (buffer/) will take its place here
// without intakes changing.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Offer offer(Event&& event, Completion done) = 0;
};

}  // namespace tributary
