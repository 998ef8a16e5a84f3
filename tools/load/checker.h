#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tools/load/obligations.h"

namespace tributary::tools {

// One record as read from Kafka.
struct ObservedRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string_view value;
  std::int64_t timestamp_ms = -1;  // -1: none
  bool log_append_time = false;    // broker time (LogAppendTime) rather than producer time
};

struct LatencySummary {
  std::uint64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  std::string clock;  // "log_append_time", "create_time" or "none"
};

// What the checker found. passed() is the verdict tests and CI rely on.
struct Report {
  std::string run_id;
  std::vector<std::string> topics;
  std::uint64_t sent = 0;
  std::uint64_t acknowledged = 0;
  std::map<std::string, std::uint64_t> unacknowledged_by_reason;
  std::uint64_t records_read = 0;       // every record read from the topics
  std::uint64_t foreign = 0;            // records of other runs or other producers
  std::uint64_t delivered = 0;          // distinct sequence numbers of this run seen
  std::uint64_t lost_acknowledged = 0;  // acknowledged, never delivered: a broken promise
  std::vector<std::uint64_t> lost_acknowledged_sample;  // the first few, to look them up
  std::uint64_t lost_unacknowledged = 0;  // sent without acknowledgement, never delivered
  std::uint64_t duplicates = 0;           // deliveries beyond the first of a sequence number
  std::uint64_t corrupt = 0;              // ours by run id, but damaged
  std::uint64_t phantoms = 0;             // ours, but never sent
  std::uint64_t order_violations = 0;     // a key's events delivered out of send order
  LatencySummary latency;
  // Set by the caller of a fault test: faults that really happened, and how many were needed.
  std::optional<std::uint64_t> faults_landed;
  std::uint64_t faults_required = 0;
  // Tributary's own count of the events it did not store, by reason, for the sources the
  // run used (its /metrics, `check --metrics`). Unacknowledged loss beyond it is loss that
  // nobody counted: a failure.
  std::optional<std::map<std::string, std::uint64_t>> tributary_dropped;
  std::uint64_t uncounted_loss() const;

  bool replay_observed() const { return duplicates > 0; }
  std::vector<std::string> failures() const;
  bool passed() const { return failures().empty(); }
  std::string to_json() const;
  std::string summary_line() const;
};

// From a Prometheus text page of Tributary's: tributary_source_dropped_events_total by reason,
// summed over SOURCES (all sources when empty). Empty when the page has none.
std::map<std::string, std::uint64_t> dropped_by_reason(std::string_view metrics_page,
                                                       const std::vector<std::string>& sources);

// Compares what Kafka holds with what the generators were promised. Pure logic: records
// are fed in by the caller (a Kafka consumer, or a test with a crafted history).
// Memory: two bytes per sequence number sent, plus a fixed latency histogram.
// Owned by one thread.
class Checker {
 public:
  explicit Checker(const Obligations& obligations);

  void observe(const ObservedRecord& record);

  // True once every sequence number that was sent has been seen at least once.
  bool complete() const { return delivered_ == sent_; }
  bool all_acknowledged_seen() const { return acknowledged_seen_ == acknowledged_; }
  std::uint64_t records_read() const { return records_read_; }

  Report report() const;

 private:
  enum Expect : std::uint8_t { kNotSent = 0, kAcked = 1, kUnacked = 2 };
  // Latency histogram: 0.1 ms buckets up to 60 s, then one overflow bucket.
  static constexpr std::size_t kBuckets = 600'001;

  Obligations obligations_;
  std::vector<std::uint8_t> expect_;  // by sequence number
  std::vector<std::uint8_t> seen_;    // delivery count by sequence number, saturating
  // Heterogeneous lookup: a record's key is looked up as a string_view, without a copy.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  std::unordered_map<std::string, std::uint64_t, KeyHash, std::equal_to<>> last_seq_by_key_;
  std::vector<std::uint64_t> latency_buckets_;
  std::uint64_t latency_count_ = 0;
  double latency_max_ms_ = 0;
  bool any_log_append_ = false;
  bool any_create_time_ = false;
  std::uint64_t sent_ = 0;
  std::uint64_t acknowledged_ = 0;
  std::uint64_t acknowledged_seen_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t records_read_ = 0;
  std::uint64_t foreign_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t corrupt_ = 0;
  std::uint64_t phantoms_ = 0;
  std::uint64_t order_violations_ = 0;
};

}  // namespace tributary::tools
