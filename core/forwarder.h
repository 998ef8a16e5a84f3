#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "buffer/ring.h"
#include "core/sink.h"

namespace tributary {

// Reads the disk ring from its ack cursor and hands each record to the Kafka sink; only
// Kafka's delivery reports acknowledge records in the ring (ring.ack), which moves the
// cursor and lets old segments go.
//
// A record Kafka refuses for good (too large, invalid topic, not authorised) is logged,
// counted and acknowledged, so it cannot block the records behind it. After any other
// failure the forwarder waits for what is in flight, then reads again from the first
// failed record (later records may go twice: at least once, in order). With the default
// kafka.delivery_timeout (0s) librdkafka itself retries until delivery, in order.
//
// Threads: one forwarder thread reads the ring and offers; completions run on the Kafka
// sink's thread. start()/stop() from the main thread.
class Forwarder {
 public:
  Forwarder(buffer::Ring& ring, Sink& kafka, std::size_t max_in_flight = 100'000);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void start();
  // Stops reading; records already handed to Kafka still complete. Idempotent.
  void stop();

  std::uint64_t forwarded() const { return forwarded_.load(); }
  std::uint64_t delivered() const { return delivered_.load(); }
  std::uint64_t rejected() const { return rejected_.load(); }
  std::uint64_t undecodable() const { return undecodable_.load(); }

 private:
  void loop();

  buffer::Ring& ring_;
  Sink& kafka_;
  const std::size_t max_in_flight_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> forwarded_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> undecodable_{0};
  // The lowest sequence number whose delivery failed for a reason worth retrying; the
  // forwarder rewinds to it once nothing is in flight. UINT64_MAX: none.
  std::atomic<std::uint64_t> rewind_to_{UINT64_MAX};
  std::thread thread_;
};

}  // namespace tributary
