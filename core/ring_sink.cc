#include "core/ring_sink.h"

#include "core/envelope.h"
#include "core/stamper.h"

namespace tributary {

Offer RingSink::offer(Event&& event, Completion done) {
  const std::string envelope = encode_envelope(event);
  const auto time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           event.ingest_time.time_since_epoch())
                           .count();
  auto on_written = [this, done = std::move(done), id = std::move(event.id),
                     topic = std::move(event.topic)](std::error_code ec, std::uint64_t seq) {
    if (!done) return;
    if (ec) {
      done(Status(StatusCode::kUnavailable, "the buffer could not store the event: " + ec.message()),
           Delivery{id, topic});
      return;
    }
    done(Status::ok(), Delivery{id.empty() ? event_id(node_id_, seq) : id, topic, -1, -1,
                                static_cast<std::int64_t>(seq)});
  };
  switch (ring_.append(time_ms, envelope, std::move(on_written))) {
    case buffer::Ring::Append::kQueued: return Offer::kAccepted;
    case buffer::Ring::Append::kFull: return Offer::kBusy;
    case buffer::Ring::Append::kClosed: return Offer::kBusy;
  }
  return Offer::kBusy;
}

}  // namespace tributary
