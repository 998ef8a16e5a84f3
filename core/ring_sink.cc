#include "core/ring_sink.h"

#include "core/envelope.h"
#include "core/stamper.h"

namespace tributary {
namespace {

Offer to_offer(buffer::Ring::Append append) {
  switch (append) {
    case buffer::Ring::Append::kQueued: return Offer::kAccepted;
    case buffer::Ring::Append::kFull: return Offer::kBusy;
    case buffer::Ring::Append::kClosed: return Offer::kBusy;
  }
  return Offer::kBusy;
}

}  // namespace

Offer RingSink::offer(Event&& event, Completion done) {
  std::vector<Event> one;
  one.push_back(std::move(event));
  return offer_many(std::move(one), std::move(done));
}

Offer RingSink::offer_many(std::vector<Event>&& events, Completion done) {
  if (events.empty()) return Offer::kRejected;
  // One record per event, appended as a group: all or none.
  std::vector<std::string> envelopes;
  envelopes.reserve(events.size());
  for (const Event& e : events) envelopes.push_back(encode_envelope(e));
  const std::vector<std::string_view> bodies(envelopes.begin(), envelopes.end());
  const auto time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           events.front().ingest_time.time_since_epoch())
                           .count();
  return append(time_ms, bodies, std::move(done), std::move(events.front().id),
                std::move(events.front().topic), Waiting::kYes);
}

Offer RingSink::offer_encoded(std::int64_t time_ms, std::span<const std::string_view> envelopes,
                              Completion done, Waiting waiting) {
  if (envelopes.empty()) return Offer::kRejected;
  return append(time_ms, envelopes, std::move(done), std::string(), std::string(), waiting);
}

Offer RingSink::append(std::int64_t time_ms, std::span<const std::string_view> bodies, Completion done,
                       std::string id, std::string topic, Waiting waiting) {
  auto on_written = [this, done = std::move(done), id = std::move(id),
                     topic = std::move(topic)](std::error_code ec, std::uint64_t first) {
    if (!done) return;
    if (ec) {
      done(Status(StatusCode::kUnavailable, "the buffer could not store the events: " + ec.message()),
           Delivery{id, topic});
      return;
    }
    done(Status::ok(), Delivery{id.empty() ? event_id(node_id_, first) : id, topic, -1, -1,
                                static_cast<std::int64_t>(first)});
  };
  if (waiting == Waiting::kSoon) return to_offer(ring_.append_deferred(time_ms, bodies, std::move(on_written)));
  return to_offer(ring_.append_many(time_ms, bodies, std::move(on_written), waiting == Waiting::kYes));
}

}  // namespace tributary
