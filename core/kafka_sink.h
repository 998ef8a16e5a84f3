#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "config/config.h"
#include "core/sink.h"
#include "core/status.h"

namespace tributary {

// Produces events straight to Kafka with librdkafka (acks=all, idempotence on) and fires
// each event's completion from its delivery report: ok only once Kafka has the record.
//
// This is the first-path sink: "accepted" currently means "acknowledged by Kafka". The disk
// ring (buffer/) will sit in front of it behind the same Sink interface and move acceptance
// to "written to the ring".
//
// Threads: offer() from any intake thread (librdkafka's produce call is thread-safe);
// completions fire on the sink's poll thread, or, during stop(), on the thread calling
// stop(). start() and stop() from the main thread.
class KafkaSink final : public Sink {
 public:
  explicit KafkaSink(config::KafkaConfig config);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Creates the producer. Fails (kFailedPrecondition) on a property librdkafka refuses.
  // Does not wait for Kafka to be reachable: delivery reports tell.
  Status start();

  Offer offer(Event&& event, Completion done) override;

  // Waits up to drain_timeout for in-flight events, then fails what is left (their
  // completions fire with kUnavailable). Idempotent.
  void stop();

  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  void handle_delivery(const rd_kafka_message_t& message);
  void poll_loop();

  config::KafkaConfig config_;
  rd_kafka_t* producer_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_offers_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace tributary
