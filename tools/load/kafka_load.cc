// Direct Kafka load: produces the generator's payloads straight to a topic with librdkafka
// (acks=all, idempotence on). The baseline without Tributary, and the way to fill a topic
// for the checker's own benchmark. A delivery report without error is the acknowledgement.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <vector>

#include "tools/load/generator.h"
#include "tools/load/obligations.h"
#include "tools/load/payload.h"

namespace tributary::tools {
namespace {

struct DeliveryLog {
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, bool>> outcomes;  // seq, ok
  LoadCounters* counters = nullptr;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* log = static_cast<DeliveryLog*>(opaque);
  const auto seq = reinterpret_cast<std::uintptr_t>(m->_private);  // relative to first_seq
  const bool ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (ok) log->counters->acknowledged.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(log->mu);
  log->outcomes.emplace_back(seq, ok);
}

}  // namespace

LoadResult run_kafka_load(const LoadOptions& options, LoadCounters& counters) {
  LoadResult result;
  DeliveryLog deliveries;
  deliveries.counters = &counters;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 256> err{};
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", options.target}, {"acks", "all"},
      {"enable.idempotence", "true"},        {"linger.ms", "20"},
      {"compression.type", "lz4"},           {"queue.buffering.max.messages", "1000000"},
      {"batch.num.messages", "10000"},       {"log_level", "3"}};
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      result.error = err.data();
      rd_kafka_conf_destroy(conf);
      return result;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &deliveries);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (rk == nullptr) {
    result.error = err.data();
    rd_kafka_conf_destroy(conf);
    return result;
  }
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, options.topic.c_str(), nullptr);
  Pacer pacer(options.rate);
  std::string body;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t seq = 0;
  for (; keep_going(options, seq, start); ++seq) {
    pacer.wait_for(seq);
    const std::string key = "k" + std::to_string(seq % std::max(1u, options.keys));
    encode_payload(Payload{options.run_id, options.first_seq + seq, now_ns(), key}, options.size, body);
    while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, body.data(),
                            body.size(), key.data(), key.size(),
                            reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq))) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        result.error = rd_kafka_err2str(rd_kafka_last_error());
        break;
      }
      rd_kafka_poll(rk, 10);
    }
    if (!result.error.empty()) break;
    counters.sent.store(seq + 1, std::memory_order_relaxed);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);
  result.sent = seq;

  // 0: no delivery report (flush timed out), 1: delivered, 2: failed.
  std::vector<std::uint8_t> state(seq, 0);
  for (const auto& [s, ok] : deliveries.outcomes) {
    if (s < seq) state[s] = ok ? 1 : 2;
  }
  ObligationWriter log;
  if (!options.obligation_log.empty() &&
      !log.open(options.obligation_log, options.run_id, options.topic)) {
    result.error = "cannot write " + options.obligation_log;
    return result;
  }
  for (std::uint64_t s = 0; s < seq; ++s) {
    if (state[s] == 1) {
      ++result.acknowledged;
      log.acknowledged(options.first_seq + s);
    } else {
      log.unacknowledged(options.first_seq + s, state[s] == 2 ? "kafka_error" : "kafka_no_report");
    }
  }
  return result;
}

}  // namespace tributary::tools
