#include "core/forwarder.h"

#include <chrono>
#include <vector>

#include "core/envelope.h"
#include "core/log.h"

namespace tributary {

Forwarder::Forwarder(buffer::Ring& ring, Sink& kafka, std::size_t max_in_flight)
    : ring_(ring), kafka_(kafka), max_in_flight_(max_in_flight) {}

Forwarder::~Forwarder() { stop(); }

void Forwarder::start() {
  thread_ = std::thread([this] { loop(); });
}

void Forwarder::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void Forwarder::loop() {
  std::uint64_t next = ring_.cursor();
  std::vector<std::pair<std::uint64_t, Event>> batch;
  while (!stopping_.load()) {
    if (rewind_to_.load() != UINT64_MAX) {
      // Let everything in flight finish, then go back to the first failed record.
      if (in_flight_.load() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      next = std::max(rewind_to_.exchange(UINT64_MAX), ring_.cursor());
      log::warn("kafka delivery failed; sending again from the ring").kv("from_sequence", next);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // back off
      continue;
    }
    const auto room = static_cast<std::int64_t>(max_in_flight_) - in_flight_.load();
    if (room <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    batch.clear();
    const std::uint64_t after = ring_.read(
        next, static_cast<std::size_t>(std::min<std::int64_t>(room, 1000)),
        [&](const buffer::RecordView& record) {
          Event event;
          if (!decode_envelope(record.body, &event)) {
            // CRC-verified bytes that are no envelope: our bug or a foreign file. Skip it,
            // loudly, rather than wedge every record behind it.
            undecodable_.fetch_add(1);
            log::error("ring record is not a valid envelope; skipped").kv("sequence", record.sequence);
            ring_.ack(record.sequence);
            return;
          }
          batch.emplace_back(record.sequence, std::move(event));
        });
    std::size_t offered = 0;
    for (auto& [seq, event] : batch) {
      in_flight_.fetch_add(1);
      const std::uint64_t s = seq;
      const Offer o = kafka_.offer(std::move(event), [this, s](const Status& status, const Delivery&) {
        if (status.is_ok()) {
          delivered_.fetch_add(1);
          ring_.ack(s);
        } else if (status.code() == StatusCode::kInvalidArgument ||
                   status.code() == StatusCode::kFailedPrecondition) {
          rejected_.fetch_add(1);
          log::error("kafka refused a record for good; dropped").kv("sequence", s).kv("reason", status.message());
          ring_.ack(s);
        } else {
          std::uint64_t current = rewind_to_.load();
          while (s < current && !rewind_to_.compare_exchange_weak(current, s)) {
          }
        }
        in_flight_.fetch_sub(1);
      });
      if (o != Offer::kAccepted) {
        in_flight_.fetch_sub(1);
        if (o == Offer::kRejected) {
          rejected_.fetch_add(1);
          log::error("kafka refused a record for good; dropped").kv("sequence", s);
          ring_.ack(s);
          ++offered;
          continue;
        }
        break;  // busy: offer this record again shortly
      }
      forwarded_.fetch_add(1);
      ++offered;
    }
    if (offered < batch.size()) {
      next = batch[offered].first;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } else {
      if (after == next && batch.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      next = after;
    }
  }
}

}  // namespace tributary
