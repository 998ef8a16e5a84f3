#include "tests/support/kafka_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>

#include <gtest/gtest.h>

namespace tributary::testing {
namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

KafkaHandle make(rd_kafka_type_t type, const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 256> err{};
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err.data(), err.size());
  rd_kafka_conf_set(conf, "log_level", "3", err.data(), err.size());
  if (type == RD_KAFKA_CONSUMER) {
    // The partitions are assigned by hand; the group id only names this reader.
    const std::string group = "tributary-test-reader-" + std::to_string(reinterpret_cast<std::uintptr_t>(conf));
    rd_kafka_conf_set(conf, "group.id", group.c_str(), err.data(), err.size());
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err.data(), err.size());
    rd_kafka_conf_set(conf, "enable.partition.eof", "false", err.data(), err.size());
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err.data(), err.size());
  if (rk == nullptr) rd_kafka_conf_destroy(conf);
  return KafkaHandle(rk);
}

// Partition count of TOPIC, waiting for it to exist; 0 if it never shows up.
int partitions_of(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  int count = 0;
  while (count == 0 && std::chrono::steady_clock::now() < end) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, handle, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) count = md->topics[i].partition_cnt;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (count == 0) rd_kafka_poll(rk, 100);
  }
  rd_kafka_topic_destroy(handle);
  return count;
}

KafkaRecord to_record(const rd_kafka_message_t& m) {
  KafkaRecord r;
  r.topic = rd_kafka_topic_name(m.rkt);
  r.partition = m.partition;
  r.offset = m.offset;
  if (m.key != nullptr) r.key = std::string(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) r.value = std::string(static_cast<const char*>(m.payload), m.len);
  r.null_value = m.payload == nullptr;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                            RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.emplace_back(name, value != nullptr
                                       ? std::string(static_cast<const char*>(value), size)
                                       : std::string());
    }
  }
  return r;
}

}  // namespace

std::optional<std::string> KafkaRecord::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::vector<KafkaRecord> read_topic(const std::string& bootstrap, const std::string& topic,
                                    std::size_t expected, std::chrono::milliseconds deadline,
                                    std::chrono::milliseconds settle) {
  std::vector<KafkaRecord> records;
  KafkaHandle rk = make(RD_KAFKA_CONSUMER, bootstrap);
  if (!rk) return records;
  const auto start = std::chrono::steady_clock::now();
  const int partitions = partitions_of(rk.get(), topic, deadline);
  if (partitions == 0) return records;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  auto end = start + deadline;
  bool settling = false;
  while (std::chrono::steady_clock::now() < end) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 50);
    if (m != nullptr) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        records.push_back(to_record(*m));
      } else {
        ADD_FAILURE() << "kafka consumer error: " << rd_kafka_message_errstr(m);
      }
      rd_kafka_message_destroy(m);
    }
    if (!settling && records.size() >= expected) {
      settling = true;
      end = std::chrono::steady_clock::now() + settle;
    }
  }
  rd_kafka_consumer_close(rk.get());
  std::stable_sort(records.begin(), records.end(), [](const KafkaRecord& a, const KafkaRecord& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return records;
}

std::vector<std::int64_t> high_watermarks(const std::string& bootstrap, const std::string& topic) {
  std::vector<std::int64_t> marks;
  KafkaHandle rk = make(RD_KAFKA_CONSUMER, bootstrap);
  if (!rk) return marks;
  const int partitions = partitions_of(rk.get(), topic, std::chrono::seconds(10));
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = -1;
    std::int64_t high = -1;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &low, &high, 5000);
    marks.push_back(err == RD_KAFKA_RESP_ERR_NO_ERROR ? high : -1);
  }
  return marks;
}

bool delete_records(const std::string& bootstrap, const std::string& topic, std::int32_t partition,
                    std::int64_t before_offset) {
  KafkaHandle rk = make(RD_KAFKA_PRODUCER, bootstrap);
  if (!rk) return false;
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, topic.c_str(), partition)->offset = before_offset;
  rd_kafka_DeleteRecords_t* request = rd_kafka_DeleteRecords_new(offsets);
  rd_kafka_topic_partition_list_destroy(offsets);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_DeleteRecords(rk.get(), &request, 1, nullptr, queue);
  rd_kafka_DeleteRecords_destroy(request);
  bool ok = false;
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  if (event != nullptr && rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const rd_kafka_DeleteRecords_result_t* result = rd_kafka_event_DeleteRecords_result(event);
    const rd_kafka_topic_partition_list_t* done =
        result != nullptr ? rd_kafka_DeleteRecords_result_offsets(result) : nullptr;
    ok = done != nullptr && done->cnt == 1 && done->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  return ok;
}

bool produce_one(const std::string& bootstrap, const std::string& topic, const std::string& value) {
  KafkaHandle rk = make(RD_KAFKA_PRODUCER, bootstrap);
  if (!rk) return false;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const int rc = rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                  const_cast<char*>(value.data()), value.size(), nullptr, 0,
                                  nullptr);
  rd_kafka_topic_destroy(t);
  return rc == 0 && rd_kafka_flush(rk.get(), 30000) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

bool create_topic(const std::string& bootstrap, const std::string& topic, int partitions) {
  KafkaHandle rk = make(RD_KAFKA_PRODUCER, bootstrap);
  if (!rk) return false;
  std::array<char, 256> err{};
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err.data(), err.size());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &nt, 1, nullptr, queue);
  bool ok = false;
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000);
  if (ev != nullptr) {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(ev);
    std::size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        result != nullptr ? rd_kafka_CreateTopics_result_topics(result, &count) : nullptr;
    ok = count == 1 && rd_kafka_topic_result_error(topics[0]) == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(nt);
  return ok && partitions_of(rk.get(), topic, std::chrono::seconds(30)) == partitions;
}

}  // namespace tributary::testing
