#include "tools/load/kafka_scan.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <random>

namespace tributary::tools {
namespace {

struct Partition {
  std::string topic;
  std::int32_t id = 0;
  std::int64_t next = 0;  // next offset to read
  std::int64_t high = 0;  // last known high watermark
};

rd_kafka_t* make_consumer(const std::string& brokers, std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 256> err{};
  const std::string group = "tributary-check-" + std::to_string(std::random_device{}());
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", brokers},
      {"group.id", group},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", "earliest"},
      {"queued.min.messages", "1000000"},
      {"fetch.max.bytes", "104857600"},
      {"max.partition.fetch.bytes", "10485760"},
      {"log_level", "3"},
  };
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      *error = std::string("consumer property ") + k + ": " + err.data();
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err.data(), err.size());
  if (rk == nullptr) {
    *error = err.data();
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

std::vector<Partition> partitions_of(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                     std::chrono::steady_clock::time_point deadline) {
  std::vector<Partition> out;
  for (const std::string& topic : topics) {
    // A missing topic must not use up the time the others need.
    const auto until = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(15));
    rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    int count = 0;
    while (count == 0 && std::chrono::steady_clock::now() < until) {
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(rk, 0, handle, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          count = md->topics[0].partition_cnt;
        }
        rd_kafka_metadata_destroy(md);
      }
      if (count == 0) rd_kafka_poll(rk, 200);
    }
    rd_kafka_topic_destroy(handle);
    for (int p = 0; p < count; ++p) out.push_back(Partition{topic, p, 0, 0});
  }
  return out;
}

bool caught_up(rd_kafka_t* rk, std::vector<Partition>& parts) {
  bool all = true;
  for (Partition& p : parts) {
    std::int64_t low = 0;
    if (rd_kafka_query_watermark_offsets(rk, p.topic.c_str(), p.id, &low, &p.high, 2000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
    // Records below the low watermark were deleted (retention, DeleteRecords): nothing
    // there to wait for.
    if (std::max(p.next, low) < p.high) all = false;
  }
  return all;
}

}  // namespace

ScanStats scan_topics(Checker& checker, const ScanOptions& options,
                      const std::function<void(const ScanStats&)>& progress) {
  using Clock = std::chrono::steady_clock;
  ScanStats stats;
  const auto start = Clock::now();
  const auto deadline = start + options.deadline;
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(make_consumer(options.brokers, &stats.error),
                                                        [](rd_kafka_t* k) {
                                                          if (k != nullptr) rd_kafka_destroy(k);
                                                        });
  if (!rk) return stats;
  std::vector<Partition> parts = partitions_of(rk.get(), options.topics, deadline);
  if (parts.empty()) {
    stats.error = "none of the topics exists";
    return stats;
  }
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
  for (const Partition& p : parts) {
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.id)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk.get());

  std::vector<rd_kafka_message_t*> batch(10000);
  const rd_kafka_topic_t* last_topic = nullptr;  // where the previous record came from
  Partition* last_partition = &parts.front();
  auto last_record = Clock::now();
  std::optional<Clock::time_point> first_record;
  auto last_check = Clock::now();
  auto last_progress = Clock::now();
  // Read up to the high watermarks even once every sent event was seen: duplicates,
  // phantoms and corrupt records at later offsets must not depend on read order.
  while (Clock::now() < deadline) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[static_cast<std::size_t>(i)];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        const std::int64_t ts = rd_kafka_message_timestamp(m, &type);
        checker.observe(ObservedRecord{
            m->partition, m->offset,
            std::string_view(static_cast<const char*>(m->payload), m->len),
            type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts,
            type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME});
        if (m->rkt != last_topic || m->partition != last_partition->id) {
          const std::string_view topic = rd_kafka_topic_name(m->rkt);
          for (Partition& p : parts) {
            if (p.id == m->partition && p.topic == topic) last_partition = &p;
          }
          last_topic = m->rkt;
        }
        last_partition->next = m->offset + 1;
        ++stats.records;
      }
      rd_kafka_message_destroy(m);
    }
    const auto now = Clock::now();
    if (n > 0) {
      last_record = now;
      if (!first_record) first_record = now;
    }
    if (progress && now - last_progress >= std::chrono::seconds(1)) {
      stats.seconds = std::chrono::duration<double>(now - start).count();
      progress(stats);
      last_progress = now;
    }
    if (n <= 0 && now - last_check >= std::chrono::milliseconds(200)) {
      last_check = now;
      const bool quiet = checker.complete() || now - last_record >= options.settle;
      if (quiet && caught_up(rk.get(), parts)) break;
    }
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk.get());
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (first_record) stats.reading_seconds = std::chrono::duration<double>(last_record - *first_record).count();
  return stats;
}

}  // namespace tributary::tools
