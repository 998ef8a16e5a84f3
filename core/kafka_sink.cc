#include "core/kafka_sink.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"

namespace tributary {
namespace {

// What travels through librdkafka as the message opaque, and back in the delivery report.
struct Pending {
  Completion done;
  std::string event_id;
};

// Maps a delivery error to what the caller should do next.
StatusCode code_for(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
      return StatusCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
      return StatusCode::kFailedPrecondition;
    default:
      return StatusCode::kUnavailable;
  }
}

void log_from_librdkafka(const rd_kafka_t* /*rk*/, int level, const char* facility,
                         const char* message) {
  // syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug.
  const log::Level ours = level <= 3   ? log::Level::kError
                          : level == 4 ? log::Level::kWarn
                          : level <= 6 ? log::Level::kInfo
                                       : log::Level::kDebug;
  log::Line(ours, "librdkafka").kv("facility", facility).kv("detail", message);
}

void error_from_librdkafka(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
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

Status set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  std::array<char, 512> err{};
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err.data(), err.size()) !=
      RD_KAFKA_CONF_OK) {
    return Status(StatusCode::kFailedPrecondition,
                  "kafka property '" + key + "'='" + value + "': " + err.data());
  }
  return Status::ok();
}

}  // namespace

KafkaSink::KafkaSink(config::KafkaConfig config) : config_(std::move(config)) {}

KafkaSink::~KafkaSink() { stop(); }

Status KafkaSink::start() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::vector<std::pair<std::string, std::string>> ours = {
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
      {"message.max.bytes", std::to_string(65 * 1024 * 1024)},
  };
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
  rd_kafka_conf_set_error_cb(conf, &error_from_librdkafka);
  rd_kafka_conf_set_opaque(conf, this);
  std::array<char, 512> err{};
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (producer_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status(StatusCode::kFailedPrecondition,
                  std::string("cannot create the Kafka producer: ") + err.data());
  }
  poller_ = std::thread([this] { poll_loop(); });
  log::info("kafka producer started").kv("brokers", config_.brokers);
  return Status::ok();
}

Offer KafkaSink::offer(Event&& event, Completion done) {
  // stop() waits for active offers to leave before it destroys the producer, and every
  // offer that enters after stop() began sees stopping_ and never touches the producer.
  active_offers_.fetch_add(1);
  struct Leave {
    std::atomic<int>& count;
    ~Leave() { count.fetch_sub(1); }
  } leave{active_offers_};
  if (stopping_.load()) return Offer::kBusy;
  rd_kafka_headers_t* headers = rd_kafka_headers_new(event.headers.size());
  for (const Header& h : event.headers) {
    rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.value.data(), static_cast<ssize_t>(h.value.size()));
  }
  auto pending = std::make_unique<Pending>(Pending{std::move(done), event.id});
  std::vector<rd_kafka_vu_t> vus;
  vus.reserve(6);
  auto add = [&vus](rd_kafka_vtype_t type) -> rd_kafka_vu_t& {
    vus.push_back(rd_kafka_vu_t{});
    vus.back().vtype = type;
    return vus.back();
  };
  add(RD_KAFKA_VTYPE_TOPIC).u.cstr = event.topic.c_str();
  if (event.key) {
    rd_kafka_vu_t& key = add(RD_KAFKA_VTYPE_KEY);
    key.u.mem.ptr = event.key->data();
    key.u.mem.size = event.key->size();
  }
  rd_kafka_vu_t& value = add(RD_KAFKA_VTYPE_VALUE);
  value.u.mem.ptr = event.payload.data();
  value.u.mem.size = event.payload.size();
  add(RD_KAFKA_VTYPE_MSGFLAGS).u.i = RD_KAFKA_MSG_F_COPY;
  add(RD_KAFKA_VTYPE_HEADERS).u.headers = headers;
  add(RD_KAFKA_VTYPE_OPAQUE).u.ptr = pending.get();

  in_flight_.fetch_add(1, std::memory_order_relaxed);
  rd_kafka_error_t* error = rd_kafka_produceva(producer_, vus.data(), vus.size());
  if (error == nullptr) {
    pending.release();  // owned by librdkafka until the delivery report
    return Offer::kAccepted;
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  rd_kafka_headers_destroy(headers);  // not taken over on failure
  if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) return Offer::kBusy;
  log::warn("kafka produce refused").kv("topic", event.topic).kv("code", rd_kafka_err2name(code));
  return Offer::kRejected;
}

void KafkaSink::on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                            void* opaque) {
  static_cast<KafkaSink*>(opaque)->handle_delivery(*message);
}

void KafkaSink::handle_delivery(const rd_kafka_message_t& message) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(message._private));
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  Delivery delivery{pending->event_id, rd_kafka_topic_name(message.rkt), message.partition,
                    message.offset};
  Status status;
  if (message.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
    status = Status(code_for(message.err), std::string("kafka delivery failed: ") +
                                               rd_kafka_err2str(message.err));
    log::warn("kafka delivery failed")
        .kv("event_id", pending->event_id)
        .kv("topic", delivery.topic)
        .kv("code", rd_kafka_err2name(message.err));
  }
  if (pending->done) pending->done(status, delivery);
}

void KafkaSink::poll_loop() {
  while (!stopping_.load()) rd_kafka_poll(producer_, 100);
}

void KafkaSink::stop() {
  if (producer_ == nullptr) return;
  stopping_.store(true);
  while (active_offers_.load() != 0) std::this_thread::yield();
  if (poller_.joinable()) poller_.join();
  const rd_kafka_resp_err_t err =
      rd_kafka_flush(producer_, static_cast<int>(config_.drain_timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::warn("kafka drain timed out; failing undelivered events").kv("in_flight", in_flight());
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    // Serve the purged messages' delivery reports, so every waiting client gets an answer.
    for (int i = 0; i < 100 && in_flight() > 0; ++i) rd_kafka_poll(producer_, 50);
  }
  rd_kafka_destroy(producer_);
  producer_ = nullptr;
  log::info("kafka producer stopped").kv("delivered", delivered()).kv("failed", failed());
}

}  // namespace tributary
