#include "core/kafka_sink.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/values.h"
#include "core/log.h"

namespace tributary {
namespace {

void log_from_librdkafka(const rd_kafka_t* /*rk*/, int level, const char* facility,
                         const char* message) {
  // syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug.
  const log::Level ours = level <= 3   ? log::Level::kError
                          : level == 4 ? log::Level::kWarn
                          : level <= 6 ? log::Level::kInfo
                                       : log::Level::kDebug;
  log::Line(ours, "librdkafka").kv("facility", facility).kv("detail", message);
}

Status set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  std::array<char, 512> err{};
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err.data(), err.size()) !=
      RD_KAFKA_CONF_OK) {
    return Status(StatusCode::kFailedPrecondition, "kafka property '" + key + "'='" +
                                                       (config::is_secret_key(key) ? "***" : value) +
                                                       "': " + err.data());
  }
  return Status::ok();
}

}  // namespace

bool is_permanent_delivery_error(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

KafkaSink::KafkaSink(config::KafkaConfig config) : config_(std::move(config)) {}

KafkaSink::~KafkaSink() { stop(); }

Status KafkaSink::start() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> ours = {
      {"bootstrap.servers", config_.brokers},
      {"client.id", config_.client_id},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"compression.type", config_.compression},
      {"linger.ms", std::to_string(config_.linger.count())},
      {"message.timeout.ms", std::to_string(config_.delivery_timeout.count())},
      // Same partition for a key as the Java client's default partitioner.
      {"partitioner", "murmur2_random"},
      // The largest event an intake accepts (max_body is at most 64 MiB) must not be refused
      // by the client before it reaches the broker; batches stay bounded by batch.size. A
      // record larger than the broker's limit fails in its delivery report instead
      // (MSG_SIZE_TOO_LARGE, a permanent error for the client).
      {"message.max.bytes", std::to_string(kMessageMaxBytes)},
      // Broker connection states for the metrics and /readyz (on_stats); overridable.
      {"statistics.interval.ms", "5000"},
  };
  ours.insert(ours.end(), config_.security.begin(), config_.security.end());
  if (config_.batch_size > 0) ours.emplace_back("batch.size", std::to_string(config_.batch_size));
  for (const auto& list : {ours, config_.properties}) {
    for (const auto& [key, value] : list) {
      Status s = set(conf, key, value);
      if (!s.is_ok()) {
        rd_kafka_conf_destroy(conf);
        return s;
      }
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::on_delivery);
  rd_kafka_conf_set_log_cb(conf, &log_from_librdkafka);
  rd_kafka_conf_set_error_cb(conf, &KafkaSink::on_error);
  rd_kafka_conf_set_stats_cb(conf, &KafkaSink::on_stats);
  rd_kafka_conf_set_opaque(conf, this);
  std::array<char, 512> err{};
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (producer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status(StatusCode::kFailedPrecondition,
                  std::string("cannot create the Kafka producer: ") + err.data());
  }
  start_poller();
  log::info("kafka producer started").kv("brokers", config_.brokers);
  return Status::ok();
}

KafkaSink::Produce KafkaSink::produce(const OutRecord& record, std::uint64_t tag, std::string* why) {
  if (stopping_.load(std::memory_order_relaxed)) return Produce::kFull;
  rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
  for (const auto& [name, value] : record.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  std::array<rd_kafka_vu_t, 7> vus{};
  std::size_t n = 0;
  vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[n++].u.cstr = record.topic;
  if (record.partition >= 0) {
    vus[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[n++].u.i32 = record.partition;
  }
  if (record.key) {
    vus[n].vtype = RD_KAFKA_VTYPE_KEY;
    vus[n].u.mem.ptr = const_cast<char*>(record.key->data());
    vus[n++].u.mem.size = record.key->size();
  }
  vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[n].u.mem.ptr = record.null_value ? nullptr : const_cast<char*>(record.value.data());
  vus[n++].u.mem.size = record.null_value ? 0 : record.value.size();
  vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[n++].u.i = 0;  // no copy: the caller keeps the value until the delivery report
  vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
  vus[n++].u.headers = headers;
  vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[n++].u.ptr = reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag));
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  rd_kafka_error_t* error = rd_kafka_produceva(producer_, vus.data(), n);
  if (error == nullptr) {
    if (unknown_topics_count_.load(std::memory_order_relaxed) > 0) {
      topic_known(record.topic);
      if (record.partition >= 0) topic_known(partition_name(record).c_str());
    }
    return Produce::kQueued;
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  if (why != nullptr) *why = std::string(rd_kafka_err2name(code)) + ": " + rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  rd_kafka_headers_destroy(headers);  // not taken over on failure
  if (code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
    // librdkafka's metadata says the topic does not exist. That may be a moment's view (a
    // broker that restarted, a topic being created): retried until it has lasted
    // unknown_topic_timeout; after that, holding every record behind this one for as long
    // as nobody creates the topic would be worse than refusing it.
    return topic_unknown_for_good(record.topic) ? Produce::kRefused : Produce::kFull;
  }
  if (code == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
    // A partition the client chose that the topic does not have (yet: partitions may be
    // being added): waited for like an unknown topic, then refused.
    return topic_unknown_for_good(partition_name(record).c_str()) ? Produce::kRefused : Produce::kFull;
  }
  // Refused for good only when no retry can help (too large, an invalid argument such as a
  // malformed topic name, a topic Kafka refuses); anything else (a full queue, a producer
  // that failed fatally) is tried again later: the record stays in the ring.
  return is_permanent_delivery_error(code) ? Produce::kRefused : Produce::kFull;
}

std::string KafkaSink::partition_name(const OutRecord& record) {
  return std::string(record.topic) + "[" + std::to_string(record.partition) + "]";
}

bool KafkaSink::topic_unknown_for_good(const char* topic) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(unknown_topics_mutex_);
  const auto [it, added] = unknown_topics_.try_emplace(topic, now);
  if (added) unknown_topics_count_.store(unknown_topics_.size(), std::memory_order_relaxed);
  return now - it->second >= config_.unknown_topic_timeout;
}

void KafkaSink::topic_known(const char* topic) {
  std::lock_guard<std::mutex> lock(unknown_topics_mutex_);
  const auto it = unknown_topics_.find(std::string_view(topic));
  if (it == unknown_topics_.end()) return;
  unknown_topics_.erase(it);
  unknown_topics_count_.store(unknown_topics_.size(), std::memory_order_relaxed);
}

void KafkaSink::on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                            void* opaque) {
  static_cast<KafkaSink*>(opaque)->handle_delivery(*message);
}

void KafkaSink::handle_delivery(const rd_kafka_message_t& message) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  DeliveryReport report;
  report.tag = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(message._private));
  report.error = message.err;
  report.permanent = is_permanent_delivery_error(message.err);
  report.partition = message.partition;
  report.offset = message.offset;
  report.message = &message;
  if (message.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    // A broker took it, so one is up (the next statistics give the count).
    if (brokers_up_.load(std::memory_order_relaxed) <= 0) brokers_up_.store(1, std::memory_order_relaxed);
    // Time from produce() to this report, measured by librdkafka itself.
    const std::int64_t latency_us = rd_kafka_message_latency(&message);
    if (latency_us >= 0) delivery_latency_.observe(static_cast<double>(latency_us) / 1e6);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
  if (handler_) handler_(report);
}

void KafkaSink::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && opaque != nullptr) {
    // Known at once, not only from the next statistics (every 5 s): the forwarder keeps
    // little in flight while nobody can take it.
    static_cast<KafkaSink*>(opaque)->brokers_up_.store(0, std::memory_order_relaxed);
  }
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    // The idempotent producer cannot go on (e.g. its epoch was fenced): every further
    // produce fails, and clients are told so (503). Say what happened, loudly.
    std::array<char, 512> detail{};
    const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, detail.data(), detail.size());
    log::error("kafka producer failed fatally; restart tributary")
        .kv("code", rd_kafka_err2name(cause))
        .kv("reason", detail.data());
    return;
  }
  log::warn("kafka error")
      .kv("code", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)))
      .kv("reason", reason);
}

int KafkaSink::on_stats(rd_kafka_t* /*rk*/, char* json, std::size_t json_len, void* opaque) {
  static_cast<KafkaSink*>(opaque)->handle_stats(std::string_view(json, json_len));
  return 0;  // librdkafka frees JSON
}

void KafkaSink::handle_stats(std::string_view json) {
  const auto stats = nlohmann::json::parse(json, nullptr, false);
  if (stats.is_discarded() || !stats.contains("brokers") || !stats["brokers"].is_object()) return;
  int up = 0;
  int known = 0;
  for (const auto& [name, broker] : stats["brokers"].items()) {
    // Brokers learned from metadata have a node id; the bootstrap entries (-1) count only
    // while no real broker is known.
    if (!broker.is_object() || broker.value("nodeid", -1) < 0) continue;
    ++known;
    if (broker.value("state", "") == "UP") ++up;
  }
  if (known == 0) {
    for (const auto& [name, broker] : stats["brokers"].items()) {
      if (broker.is_object() && broker.value("state", "") == "UP") ++up;
    }
  }
  brokers_known_.store(known, std::memory_order_relaxed);
  brokers_up_.store(up, std::memory_order_relaxed);
}

void KafkaSink::start_poller() {
  poller_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "kafka-poll");
    poll_loop();
  });
}

// Runs only while no forwarder serves the reports (at start-up and shut-down), so its short
// wait costs nothing in between; it bounds how long take_over_polling() waits for it.
void KafkaSink::poll_loop() {
  while (!stopping_.load() && !poll_elsewhere_.load()) rd_kafka_poll(producer_, 10);
}

void KafkaSink::on_queue_ready(rd_kafka_t* /*rk*/, void* opaque) {
  static_cast<KafkaSink*>(opaque)->ready_();
}

void KafkaSink::take_over_polling(std::function<void()> ready) {
  if (producer_ == nullptr || poll_elsewhere_.exchange(true)) return;
  if (poller_.joinable()) poller_.join();  // within one rd_kafka_poll wait (10 ms)
  ready_ = std::move(ready);
  main_queue_ = rd_kafka_queue_get_main(producer_);
  rd_kafka_queue_cb_event_enable(main_queue_, &KafkaSink::on_queue_ready, this);
  if (ready_) ready_();  // what queued up meanwhile
}

void KafkaSink::give_back_polling() {
  if (producer_ == nullptr || !poll_elsewhere_.exchange(false)) return;
  rd_kafka_queue_cb_event_enable(main_queue_, nullptr, nullptr);
  rd_kafka_queue_destroy(main_queue_);
  main_queue_ = nullptr;  // ready_ stays: replaced only while no callback can run
  if (!stopping_.load()) start_poller();
}

void KafkaSink::poll(std::chrono::milliseconds timeout) {
  if (producer_ != nullptr) rd_kafka_poll(producer_, static_cast<int>(timeout.count()));
}

std::map<std::string, std::string> KafkaSink::effective_config() const {
  std::map<std::string, std::string> out;
  if (producer_ == nullptr) return out;
  const rd_kafka_conf_t* conf = rd_kafka_conf(producer_);
  // A topic property also set globally (compression.codec) says "inherit" at topic level:
  // the global value is the one in force.
  const auto add = [&out](const char** pairs, std::size_t count) {
    for (std::size_t i = 0; i + 1 < count; i += 2) out.emplace(pairs[i], pairs[i + 1]);
  };
  std::size_t count = 0;
  // rd_kafka_conf_dump takes a non-const conf but only reads it.
  rd_kafka_conf_t* readable = const_cast<rd_kafka_conf_t*>(conf);
  const char** global = rd_kafka_conf_dump(readable, &count);
  add(global, count);
  rd_kafka_conf_dump_free(global, count);
  if (const rd_kafka_topic_conf_t* topic = rd_kafka_conf_get_default_topic_conf(readable)) {
    const char** pairs = rd_kafka_topic_conf_dump(const_cast<rd_kafka_topic_conf_t*>(topic), &count);
    add(pairs, count);
    rd_kafka_conf_dump_free(pairs, count);
  }
  return out;
}

void KafkaSink::stop() { stop(std::chrono::steady_clock::now() + config_.drain_timeout); }

void KafkaSink::stop(std::chrono::steady_clock::time_point deadline) {
  if (producer_ == nullptr) return;
  stopping_.store(true);
  if (poller_.joinable()) poller_.join();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  const rd_kafka_resp_err_t err =
      rd_kafka_flush(producer_, static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::warn("kafka drain timed out; what is undelivered stays in the ring").kv("in_flight", in_flight());
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    // Serve the purged records' delivery reports, so the forwarder hears of each one.
    for (int i = 0; i < 100 && in_flight() > 0; ++i) rd_kafka_poll(producer_, 50);
  }
  rd_kafka_destroy(producer_);
  producer_ = nullptr;
  log::info("kafka producer stopped").kv("delivered", delivered()).kv("failed", failed());
}

}  // namespace tributary
