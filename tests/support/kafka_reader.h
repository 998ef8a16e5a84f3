#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tributary::testing {

struct KafkaRecord {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::optional<std::string> key;
  std::string value;
  bool null_value = false;  // a Kafka null value (tombstone), not an empty one
  std::vector<std::pair<std::string, std::string>> headers;

  // The value of header NAME; nullopt when absent.
  std::optional<std::string> header(const std::string& name) const;
};

// Reads TOPIC from the beginning of every partition with a real librdkafka consumer until
// EXPECTED records arrived or DEADLINE passed, then keeps reading for SETTLE to catch
// records that should not be there. Records come in partition order, then offset order.
std::vector<KafkaRecord> read_topic(const std::string& bootstrap, const std::string& topic,
                                    std::size_t expected, std::chrono::milliseconds deadline,
                                    std::chrono::milliseconds settle = std::chrono::milliseconds(300));

// The high watermark (next offset) of each partition of TOPIC, by partition (-1 for a
// partition the broker did not answer for); empty when the topic cannot be found. For
// saying where records went when a read comes up short.
std::vector<std::int64_t> high_watermarks(const std::string& bootstrap, const std::string& topic);

// Deletes the records of TOPIC/PARTITION below BEFORE_OFFSET (Kafka's DeleteRecords), as
// a broken path would lose them. True when the broker confirmed.
bool delete_records(const std::string& bootstrap, const std::string& topic, std::int32_t partition,
                    std::int64_t before_offset);

// Creates TOPIC with PARTITIONS partitions (replication 1). True when the broker confirmed.
bool create_topic(const std::string& bootstrap, const std::string& topic, int partitions);

// Produces one record (used to create topics and to check the broker works).
bool produce_one(const std::string& bootstrap, const std::string& topic, const std::string& value);

}  // namespace tributary::testing
