#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "buffer/ring.h"
#include "core/kafka_sink.h"
#include "core/stamper.h"

namespace tributary {

struct ForwarderOptions {
  std::string node_id;            // event ids are "<node>-<ring sequence>"
  std::string dead_letter_topic;  // empty: permanent rejections are logged and counted only
  // Records handed to Kafka, not yet reported; below librdkafka's queue (100,000 by default).
  std::size_t max_in_flight = 90'000;
  std::uint64_t max_bytes_per_second = 0;  // drain cap (values); 0: none
  std::chrono::milliseconds retry_backoff{500};
};

// Reads the disk ring from its ack cursor and produces each record to Kafka; only Kafka's
// delivery reports acknowledge records in the ring (ring.ack), which moves the cursor and
// lets old segments go.
//
// Zero copy: the value handed to librdkafka points into the reader's buffer, which is kept
// until the ack cursor has passed every record in it.
//
// A record whose delivery fails for a reason worth retrying (only with a finite
// kafka.delivery_timeout; by default librdkafka retries until delivery, in order) is sent
// again from the ring: the forwarder waits for what is in flight, backs off, and reads
// again from the first failed record (later ones may go twice: at least once; those Kafka
// confirmed meanwhile are skipped, so per-key order can break across such a retry). A record
// Kafka refuses for good (too large, invalid topic, not authorised, a topic the cluster has
// not had for kafka.unknown_topic_timeout), in a delivery report or when produced, goes to
// the dead-letter topic with headers naming the reason, or, without one, is logged and
// counted; either way it is acknowledged and never blocks the records behind it.
//
// Threads: one forwarder thread reads the ring, produces, and serves the delivery reports
// (it takes polling over from the Kafka sink while it runs; before start() and after stop()
// they run on the sink's poll thread). start()/stop() from the main thread, both between
// kafka.start() and kafka.stop(). The forwarder must outlive kafka.stop() (reports of purged
// records still arrive then).
class Forwarder {
 public:
  Forwarder(buffer::Ring& ring, KafkaSink& kafka, ForwarderOptions options);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Called on the Kafka sink's thread with the sequence number of every record Kafka
  // confirmed and the time from its produce call to this report as librdkafka measured it
  // (-1 when unknown), for measurements. Set before start().
  using DeliveryObserver = std::function<void(std::uint64_t sequence, std::int64_t produce_to_report_us)>;
  void set_delivery_observer(DeliveryObserver observer) { observer_ = std::move(observer); }

  void start();
  // Keeps forwarding until every record appended so far is acknowledged (or refused for
  // good), or until DEADLINE. Stop the intakes first, or the end keeps moving. True when
  // nothing is left; false when the time ran out (the rest stays in the ring) or the
  // forwarder is not running.
  bool drain(std::chrono::steady_clock::time_point deadline);
  // Stops reading; records already handed to Kafka still report. Idempotent.
  void stop();

  std::uint64_t forwarded() const { return forwarded_.load(); }
  std::uint64_t delivered() const { return delivered_.load(); }
  std::uint64_t retried() const { return retried_.load(); }
  std::uint64_t dead_lettered() const { return dead_lettered_.load(); }
  std::uint64_t rejected() const { return rejected_.load(); }  // refused for good, not dead-lettered
  std::uint64_t undecodable() const { return undecodable_.load(); }
  std::int64_t in_flight() const { return in_flight_.load(); }
  // Age of the oldest record not yet acknowledged by Kafka, from its ingestion time
  // (NOW_MS, Unix ms); 0 when nothing waits. Any thread.
  double oldest_unacked_age_seconds(std::int64_t now_ms) const;

 private:
  enum class Sent : std::uint8_t { kQueued, kFull, kDone };
  void loop();
  Sent send(const buffer::RecordView& record);
  void on_delivery(const DeliveryReport& report);
  void give_up(std::uint64_t sequence, const std::string& topic, const std::string& reason);
  // What dead_letter() did with a record Kafka refused for good.
  enum class DeadLetter : std::uint8_t { kQueued, kGaveUp, kLater };
  DeadLetter dead_letter(std::uint64_t sequence, const OutRecord& original, const std::string& error,
                         const std::string& reason);
  DeadLetter dead_letter(std::uint64_t sequence, const rd_kafka_message_t& original, const std::string& reason);
  bool retry_from(std::uint64_t sequence);
  void hold(const std::shared_ptr<const std::string>& owner, std::uint64_t sequence);
  void release_held();
  void throttle(std::size_t bytes);
  void finished_one();

  buffer::Ring& ring_;
  KafkaSink& kafka_;
  const ForwarderOptions options_;
  DeliveryObserver observer_;

  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> in_flight_bytes_{0};  // values handed to Kafka, not yet reported

  std::atomic<std::uint64_t> forwarded_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> retried_{0};
  std::atomic<std::uint64_t> dead_lettered_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> undecodable_{0};
  // The lowest sequence number whose delivery failed for a reason worth retrying; the
  // forwarder rewinds to it once nothing is in flight. UINT64_MAX: none.
  std::atomic<std::uint64_t> rewind_to_{UINT64_MAX};

  // (first sequence, its ingestion time) of each read from the ring, in sequence order:
  // the forwarder thread appends, oldest_unacked_age_seconds() trims.
  mutable std::mutex read_times_mutex_;
  mutable std::deque<std::pair<std::uint64_t, std::int64_t>> read_times_;

  // Forwarder thread only: the reader's buffers that hold values librdkafka points into,
  // each with the last sequence number taken from it; let go once the cursor passed it.
  struct Held {
    std::shared_ptr<const std::string> owner;
    std::uint64_t last = 0;
  };
  std::deque<Held> held_;
  std::uint64_t held_bytes_ = 0;  // their sizes
  static constexpr std::uint64_t kMaxHeldBytes = 256ull << 20;
  // Forwarder thread only: the furthest any read had come before a rewind; records below it
  // may be acknowledged out of order already, and are checked before being sent again.
  std::uint64_t reread_below_ = 0;
  std::vector<HeaderView> headers_;  // scratch for one record
  std::string id_;                   // scratch: this record's ce_id
  CommonHeaderText header_text_;     // scratch: the common headers' values of this record
  double tokens_ = 0;                // drain cap: bytes that may go now
  std::chrono::steady_clock::time_point tokens_at_{};
  std::mutex give_up_log_mutex_;  // the rate limit of give_up's log line
  std::chrono::steady_clock::time_point last_give_up_log_{};
  std::uint64_t give_up_not_logged_ = 0;
  std::thread thread_;
};

}  // namespace tributary
