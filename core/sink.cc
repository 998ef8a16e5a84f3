#include "core/sink.h"

#include "core/envelope.h"

namespace tributary {

Offer Sink::offer_encoded(std::int64_t /*time_ms*/, std::span<const std::string_view> envelopes,
                          Completion done, Waiting /*waiting*/) {
  std::vector<Event> events(envelopes.size());
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    if (!decode_envelope(envelopes[i], &events[i])) return Offer::kRejected;
  }
  return offer_many(std::move(events), std::move(done));
}

}  // namespace tributary
