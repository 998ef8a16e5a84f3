#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "config/config.h"
#include "core/metrics.h"
#include "core/status.h"

namespace tributary {

using HeaderView = std::pair<std::string_view, std::string_view>;

// One record to produce, by reference. The value is handed to librdkafka without a copy,
// so its bytes must stay valid until the record's delivery report; librdkafka copies the
// topic, key and headers during produce().
struct OutRecord {
  const char* topic = nullptr;  // NUL-terminated
  std::optional<std::string_view> key;  // nullopt: Kafka null key
  std::string_view value;
  bool null_value = false;      // a Kafka null value (tombstone): VALUE is then ignored
  std::int32_t partition = -1;  // -1: by key (murmur2, as the Java client)
  std::span<const HeaderView> headers;
};

// What Kafka said about one record.
struct DeliveryReport {
  std::uint64_t tag = 0;  // as given to produce()
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  // Retrying cannot help: the record is too large, the topic invalid or not authorised.
  bool permanent = false;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  // The record as produced (topic, key, value, headers), valid during the call only.
  const rd_kafka_message_t* message = nullptr;
};
using DeliveryHandler = std::function<void(const DeliveryReport&)>;

// The Kafka producer (librdkafka: acks=all, idempotence on, murmur2 partitioning like the
// Java client). produce() queues a record; its delivery report goes to the one delivery
// handler, on the sink's poll thread. Nothing is acknowledged anywhere until that report.
//
// Threads: produce() from one producing thread (the forwarder; librdkafka itself is
// thread-safe); reports on the poll thread, or on the thread that took polling over
// (take_over_polling: the forwarder, so that librdkafka frees each record's memory on the
// thread that allocated it), or on the thread calling stop(). start() and stop() from the
// main thread.
class KafkaSink {
 public:
  // librdkafka's message.max.bytes as the sink sets it (see start()).
  static constexpr std::size_t kMessageMaxBytes = 65 * 1024 * 1024;

  explicit KafkaSink(config::KafkaConfig config);
  ~KafkaSink();
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Set before start().
  void set_delivery_handler(DeliveryHandler handler) { handler_ = std::move(handler); }

  // Creates the producer. Fails (kFailedPrecondition) on a property librdkafka refuses.
  // Does not wait for Kafka to be reachable: delivery reports tell.
  Status start();

  enum class Produce : std::uint8_t {
    kQueued,   // the delivery report will come, exactly once
    kFull,     // not now (queue full, producer failed, topic unknown yet): try again shortly
    kRefused,  // can never be produced (too large, invalid topic name); *why says why
  };
  Produce produce(const OutRecord& record, std::uint64_t tag, std::string* why = nullptr);

  // Waits up to drain_timeout (or until DEADLINE) for what is in flight; then purges the
  // rest, whose reports come with an error (the records stay in the ring). Idempotent.
  void stop();
  void stop(std::chrono::steady_clock::time_point deadline);

  // The producer's configuration as librdkafka holds it once started, by librdkafka's own
  // names (linger.ms is queue.buffering.max.ms): global properties, then the default
  // topic's. Secrets included: for tests and diagnostics, never logged.
  std::map<std::string, std::string> effective_config() const;

  // The calling thread serves reports from now on, with poll(); the poll thread stops.
  // READY is called (on a librdkafka thread; it must not call librdkafka) when something
  // arrives to be served while nothing was waiting, so the caller can wait for other things
  // too. Give polling back (the poll thread starts again) before that thread stops calling
  // poll(). Both after start(), before stop().
  void take_over_polling(std::function<void()> ready);
  void give_back_polling();
  // Serves what librdkafka has ready (delivery reports, statistics, errors), waiting up to
  // TIMEOUT for the first; only from the thread that took polling over.
  void poll(std::chrono::milliseconds timeout);

  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // Brokers whose connection is up, from librdkafka's statistics (every 5 s); -1 until the
  // first statistics arrive. 0 as soon as librdkafka reports all brokers down; at least 1
  // as soon as a delivery succeeds.
  int brokers_up() const { return brokers_up_.load(std::memory_order_relaxed); }
  int brokers_known() const { return brokers_known_.load(std::memory_order_relaxed); }
  // produce() to delivery report, successful deliveries only.
  const metrics::LatencyHistogram& delivery_latency() const { return delivery_latency_; }

 private:
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  void handle_delivery(const rd_kafka_message_t& message);
  void start_poller();
  static void on_queue_ready(rd_kafka_t* rk, void* opaque);
  void poll_loop();
  static int on_stats(rd_kafka_t* rk, char* json, std::size_t json_len, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void handle_stats(std::string_view json);

  config::KafkaConfig config_;
  DeliveryHandler handler_;
  rd_kafka_t* producer_ = nullptr;
  // Topics librdkafka refused as unknown, and since when (see produce()).
  bool topic_unknown_for_good(const char* topic);
  void topic_known(const char* topic);
  // "topic[partition]": an explicit partition's entry among the unknown topics.
  static std::string partition_name(const OutRecord& record);
  std::mutex unknown_topics_mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> unknown_topics_;
  std::atomic<std::size_t> unknown_topics_count_{0};  // its size, read without the mutex
  std::thread poller_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> poll_elsewhere_{false};  // the poll thread stops (take_over_polling)
  std::function<void()> ready_;              // take_over_polling's READY
  rd_kafka_queue_t* main_queue_ = nullptr;   // while polling is taken over
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<int> brokers_up_{-1};
  std::atomic<int> brokers_known_{0};
  metrics::LatencyHistogram delivery_latency_{metrics::LatencyHistogram::default_bounds()};
};

// Whether a delivery error can never succeed on retry.
bool is_permanent_delivery_error(rd_kafka_resp_err_t error);

}  // namespace tributary
