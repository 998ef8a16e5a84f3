// The forwarder against librdkafka's mock cluster (rdkafka_mock.h), for the faults a real
// broker cannot script: a broker down and up again, request errors injected into Produce
// (retriable ones retried without loss, permanent ones to the dead-letter topic with the
// reason, or logged and counted), delivery timeouts retried from the ring, the drain cap.
// The mock brokers listen on loopback.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <pthread.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "buffer/ring.h"
#include "buffer/tests/test_dir.h"
#include "core/envelope.h"
#include "core/forwarder.h"
#include "core/kafka_sink.h"
#include "core/stamper.h"
#include "tests/support/kafka_reader.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using namespace std::chrono_literals;
constexpr std::int16_t kProduce = 0;  // the Kafka protocol's ApiKey of ProduceRequest

// A one-broker mock cluster with TOPIC (4 partitions) and DEAD (1 partition).
class MockCluster {
 public:
  MockCluster() {
    std::array<char, 256> err{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err.data(), err.size());
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
    cluster_ = rd_kafka_mock_cluster_new(handle_, 1);
    rd_kafka_mock_topic_create(cluster_, "events", 4, 1);
    rd_kafka_mock_topic_create(cluster_, "dead", 1, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  rd_kafka_mock_cluster_t* get() const { return cluster_; }

  // Errors still waiting on broker 1's stack for ProduceRequest.
  std::size_t produce_errors_left() const {
    std::size_t count = 0;
    rd_kafka_mock_broker_error_stack_cnt(cluster_, 1, kProduce, &count);
    return count;
  }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

class ForwarderMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    buffer::RingOptions o;
    o.dir = dir_.path();
    o.fsync = buffer::FsyncPolicy::kInterval;
    o.fsync_interval = 10ms;
    o.checkpoint_interval = 10ms;
    std::string error;
    ring_ = buffer::Ring::open(io_, o, nullptr, &error);
    ASSERT_TRUE(ring_) << error;
  }

  void TearDown() override {
    if (forwarder_) forwarder_->stop();
    if (kafka_) kafka_->stop();
    forwarder_.reset();
    kafka_.reset();
  }

  void start(config::KafkaConfig k, ForwarderOptions options = {}) {
    k.brokers = cluster_.bootstrap();
    k.client_id = "forwarder-mock-test";
    k.compression = "none";
    if (k.drain_timeout.count() == 0) k.drain_timeout = 2s;
    kafka_ = std::make_unique<KafkaSink>(k);
    options.node_id = "mock-node";
    if (options.retry_backoff.count() == 0) options.retry_backoff = 100ms;
    forwarder_ = std::make_unique<Forwarder>(*ring_, *kafka_, options);
    ASSERT_TRUE(kafka_->start().is_ok());
    forwarder_->start();
  }

  // Appends events "NAME-0".. with keys "k<i % 7>" to TOPIC; returns the first sequence
  // number.
  std::uint64_t append(const std::string& name, int count, std::size_t pad = 0,
                       const std::string& topic = "events") {
    const std::uint64_t first = ring_->stats().next_seq;
    for (int i = 0; i < count; ++i) {
      Event e;
      e.topic = topic;
      e.key = "k" + std::to_string(i % 7);
      e.payload = name + "-" + std::to_string(i) + std::string(pad, '.');
      e.origin = Origin{"udp", "mock", "", "127.0.0.1", 1};
      e.ingest_time = std::chrono::system_clock::now();
      stamper_.stamp(e);
      EXPECT_EQ(ring_->append(0, encode_envelope(e), {}), buffer::Ring::Append::kQueued);
    }
    return first;
  }

  // The cluster answers every metadata request for TOPIC with "unknown topic" (as a broker
  // with auto-creation off does); librdkafka believes it after 200 ms instead of 30 s, and
  // re-asks every 200 ms. Returns the Kafka settings for that, with TIMEOUT as
  // unknown_topic_timeout.
  config::KafkaConfig with_unknown_topic(const char* topic, std::chrono::milliseconds timeout) {
    rd_kafka_mock_topic_set_error(cluster_.get(), topic, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    config::KafkaConfig k;
    k.properties = {{"topic.metadata.propagation.max.ms", "200"}, {"topic.metadata.refresh.interval.ms", "200"}};
    k.unknown_topic_timeout = timeout;
    return k;
  }

  bool cursor_reaches(std::uint64_t seq, std::chrono::milliseconds deadline = 30s) {
    return eventually([&] { return ring_->cursor() >= seq; }, deadline);
  }

  MockCluster cluster_;
  buffer::testing::TestDir dir_;
  buffer::PosixFileIo io_;
  std::unique_ptr<buffer::Ring> ring_;
  Stamper stamper_{"mock-node"};
  std::unique_ptr<KafkaSink> kafka_;
  std::unique_ptr<Forwarder> forwarder_;
};

TEST_F(ForwarderMockTest, RetriableProduceErrorsAreRetriedWithoutLossOrReorder) {
  // Each ProduceRequest in turn fails with one of these, then the broker behaves.
  rd_kafka_mock_broker_push_request_error_rtts(
      cluster_.get(), 1, kProduce, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, 0,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 0, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0,
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, 0, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 0,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, 0);
  start({});
  append("retry", 300);
  ASSERT_TRUE(cursor_reaches(300));
  EXPECT_EQ(cluster_.produce_errors_left(), 0u) << "the injected errors did not all happen";
  EXPECT_EQ(forwarder_->rejected(), 0u);
  EXPECT_EQ(forwarder_->dead_lettered(), 0u);
  const auto records = read_topic(cluster_.bootstrap(), "events", 300, 20s, 500ms);
  if (records.size() != 300u) {  // say where the difference is
    std::map<std::string, int> seen;
    std::map<std::int32_t, std::size_t> per_partition;
    for (const auto& r : records) {
      ++seen[r.value];
      ++per_partition[r.partition];
    }
    std::string missing;
    for (int i = 0; i < 300; ++i) {
      if (seen.count("retry-" + std::to_string(i)) == 0) missing += " " + std::to_string(i);
    }
    std::string partitions;
    const auto marks = high_watermarks(cluster_.bootstrap(), "events");
    for (std::size_t p = 0; p < marks.size(); ++p) {
      partitions += " p" + std::to_string(p) + " read " + std::to_string(per_partition[static_cast<std::int32_t>(p)]) +
                    " of high watermark " + std::to_string(marks[p]) + ";";
    }
    ADD_FAILURE() << "missing:" << missing << "\npartitions:" << partitions
                  << "\nforwarder: delivered " << forwarder_->delivered() << ", retried "
                  << forwarder_->retried();
  }
  ASSERT_EQ(records.size(), 300u);  // nothing lost, nothing twice (idempotent producer)
  // Per key, in order.
  std::map<std::string, int> last;
  for (const auto& r : records) {
    const int n = std::stoi(r.value.substr(6));
    auto [it, fresh] = last.emplace(*r.key, n);
    if (!fresh) {
      EXPECT_GT(n, it->second) << "key " << *r.key << " out of order";
      it->second = n;
    }
    EXPECT_EQ(r.header("ce_id").value_or("").rfind("mock-node-", 0), 0u);
  }
}

// While the forwarder runs, its own thread serves the delivery reports (librdkafka frees a
// record on the thread that allocated it); before it starts and after it stops, the sink's
// poll thread does, so a record produced then is still reported.
TEST_F(ForwarderMockTest, TheForwarderServesDeliveryReportsWhileItRuns) {
  std::mutex mutex;
  std::set<std::string> ring_threads;    // names of the threads that reported ring records
  std::set<std::string> direct_threads;  // ... and records produced directly
  config::KafkaConfig k;
  k.brokers = cluster_.bootstrap();
  k.client_id = "forwarder-mock-test";
  k.compression = "none";
  k.drain_timeout = 2s;
  kafka_ = std::make_unique<KafkaSink>(k);
  ForwarderOptions options;
  options.node_id = "mock-node";
  forwarder_ = std::make_unique<Forwarder>(*ring_, *kafka_, options);
  forwarder_->set_delivery_observer([&](std::uint64_t seq, std::int64_t) {
    std::array<char, 16> name{};
    pthread_getname_np(pthread_self(), name.data(), name.size());
    std::lock_guard<std::mutex> lock(mutex);
    (seq < 100 ? ring_threads : direct_threads).insert(name.data());
  });
  ASSERT_TRUE(kafka_->start().is_ok());
  const auto produce_directly = [&](std::uint64_t tag) {
    static const std::string value = "direct";
    OutRecord r;
    r.topic = "events";
    r.value = value;
    const std::uint64_t before = kafka_->delivered();
    ASSERT_EQ(kafka_->produce(r, tag), KafkaSink::Produce::kQueued);
    EXPECT_TRUE(eventually([&] { return kafka_->delivered() > before; }, 20s)) << "no report for tag " << tag;
  };
  produce_directly(1ull << 62);  // before the forwarder runs
  forwarder_->start();
  append("served", 100);
  ASSERT_TRUE(cursor_reaches(100));
  forwarder_->stop();
  produce_directly((1ull << 62) + 1);  // after it stopped
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(ring_threads, (std::set<std::string>{"forwarder"}));
  EXPECT_EQ(direct_threads, (std::set<std::string>{"kafka-poll"}));
}

TEST_F(ForwarderMockTest, ABrokerDownAndUpAgainLosesNothing) {
  start({});
  append("before", 50);
  ASSERT_TRUE(cursor_reaches(50));
  rd_kafka_mock_broker_set_down(cluster_.get(), 1);
  append("while-down", 200);
  std::this_thread::sleep_for(1500ms);
  EXPECT_LT(ring_->cursor(), 250u) << "delivered while the only broker was down?";
  rd_kafka_mock_broker_set_up(cluster_.get(), 1);
  ASSERT_TRUE(cursor_reaches(250));
  const auto records = read_topic(cluster_.bootstrap(), "events", 250, 20s, 500ms);
  EXPECT_GE(records.size(), 250u);  // at least once
  std::set<std::string> values;
  for (const auto& r : records) values.insert(r.value);
  EXPECT_EQ(values.size(), 250u);
}

// While librdkafka reports every broker down, the forwarder hands it at most 1,000 records:
// the rest wait in the ring, not in librdkafka's memory, and the first delivery once a
// broker is back opens the window again.
TEST_F(ForwarderMockTest, WhileEveryBrokerIsDownLittleIsHandedToLibrdkafka) {
  config::KafkaConfig k;
  // No statistics during the test: "down" must come from the error callback, "up" again from
  // the first delivery.
  k.properties = {{"statistics.interval.ms", "600000"}};
  start(k);
  append("before", 50);
  ASSERT_TRUE(cursor_reaches(50));
  EXPECT_GE(kafka_->brokers_up(), 1);
  rd_kafka_mock_broker_set_down(cluster_.get(), 1);
  ASSERT_TRUE(eventually([&] { return kafka_->brokers_up() == 0; }, 5s)) << "no 'all brokers down'";
  append("while-down", 3000);
  std::this_thread::sleep_for(1s);
  EXPECT_GT(kafka_->in_flight(), 0);
  EXPECT_LE(kafka_->in_flight(), 1000);
  EXPECT_EQ(ring_->cursor(), 50u);
  rd_kafka_mock_broker_set_up(cluster_.get(), 1);
  ASSERT_TRUE(cursor_reaches(3050));
  const auto records = read_topic(cluster_.bootstrap(), "events", 3050, 20s, 500ms);
  std::set<std::string> values;
  for (const auto& r : records) values.insert(r.value);
  EXPECT_EQ(values.size(), 3050u);
}

TEST_F(ForwarderMockTest, TimedOutDeliveriesAreProducedAgainFromTheRing) {
  config::KafkaConfig k;
  k.delivery_timeout = 1000ms;  // librdkafka gives up after a second...
  k.linger = 5ms;
  start(k);
  rd_kafka_mock_broker_set_down(cluster_.get(), 1);
  append("timeout", 100);
  ASSERT_TRUE(eventually([&] { return forwarder_->retried() > 0; }, 20s))
      << "no delivery timed out";
  EXPECT_EQ(ring_->cursor(), 0u);  // ...and nothing was acknowledged
  rd_kafka_mock_broker_set_up(cluster_.get(), 1);
  ASSERT_TRUE(cursor_reaches(100));  // ...the ring sends them again
  const auto records = read_topic(cluster_.bootstrap(), "events", 100, 20s, 500ms);
  std::set<std::string> values;
  for (const auto& r : records) values.insert(r.value);
  EXPECT_EQ(values.size(), 100u);
  EXPECT_EQ(forwarder_->rejected(), 0u);
}

TEST_F(ForwarderMockTest, APermanentRejectionGoesToTheDeadLetterTopicWithTheReason) {
  ForwarderOptions options;
  options.dead_letter_topic = "dead";
  start({}, options);
  append("first", 1);
  ASSERT_TRUE(cursor_reaches(1));
  // Each permanent error in turn: the record refused with it goes to the dead-letter topic
  // and blocks nothing behind it. Topic authorization is last and its record has a topic of
  // its own: librdkafka then holds that topic unauthorised (and refuses what follows for it)
  // until its next metadata refresh, as a real ACL would keep refusing it.
  const std::array<rd_kafka_resp_err_t, 3> errors = {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                                                     RD_KAFKA_RESP_ERR_INVALID_RECORD,
                                                     RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED};
  std::uint64_t end = 1;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    rd_kafka_mock_broker_push_request_error_rtts(cluster_.get(), 1, kProduce, 1, errors[i], 0);
    append("refused" + std::to_string(i), 1, 0, i + 1 < errors.size() ? "events" : "secret");
    ASSERT_TRUE(cursor_reaches(end + 1)) << rd_kafka_err2name(errors[i]);
    append("after" + std::to_string(i), 5);
    end += 6;
    ASSERT_TRUE(cursor_reaches(end)) << rd_kafka_err2name(errors[i]);
  }
  EXPECT_EQ(forwarder_->dead_lettered(), errors.size());
  const auto dead = read_topic(cluster_.bootstrap(), "dead", errors.size(), 20s, 500ms);
  ASSERT_EQ(dead.size(), errors.size());
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(dead[i].value, "refused" + std::to_string(i) + "-0");
    EXPECT_EQ(dead[i].key, "k0");
    EXPECT_EQ(dead[i].header("tributary_dlq_error"), rd_kafka_err2name(errors[i]));
    EXPECT_EQ(dead[i].header("tributary_dlq_topic"), i + 1 < errors.size() ? "events" : "secret");
    EXPECT_FALSE(dead[i].header("tributary_dlq_reason").value_or("").empty());
    EXPECT_TRUE(dead[i].header("ce_id").has_value());  // the original headers come along
  }
  const auto events = read_topic(cluster_.bootstrap(), "events", 16, 20s, 500ms);
  EXPECT_EQ(events.size(), 16u);
}

TEST_F(ForwarderMockTest, ValuesOfEverySizeArriveWholeFromTheReadBuffersTheyPointInto) {
  // librdkafka is handed each value without a copy: it points into the ring's read buffer,
  // which must outlive the record's delivery report, also when the record is refused in that
  // report and goes to the dead-letter topic from there. A buffer let go too early is reused
  // by later reads (the values come out overwritten) or freed (ASan: use after free).
  ForwarderOptions options;
  options.dead_letter_topic = "dead";
  start({}, options);
  constexpr std::size_t kKiB = 1024;
  const std::array<std::size_t, 7> sizes = {1, 100, kKiB - 1, kKiB, kKiB + 1, 4 * kKiB, 60'000};
  // Each value names its index and is filled with a letter of its own: a value taken from
  // the wrong record, or from a buffer reused meanwhile, does not match.
  const auto value = [](std::size_t i, std::size_t size) {
    std::string v = std::to_string(i) + ":";
    v.resize(std::max(size, v.size()), static_cast<char>('a' + i % 26));
    return v;
  };
  const auto append_value = [&](std::size_t i, std::size_t size) {
    Event e;
    e.topic = "events";
    e.key = "k" + std::to_string(i % 3);
    e.payload = value(i, size);
    e.origin = Origin{"udp", "mock", "", "127.0.0.1", 1};
    e.ingest_time = std::chrono::system_clock::now();
    stamper_.stamp(e);
    ASSERT_EQ(ring_->append(0, encode_envelope(e), {}), buffer::Ring::Append::kQueued);
  };
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < 140; ++i) {
    append_value(i, sizes[i % sizes.size()]);
    expected.push_back(value(i, sizes[i % sizes.size()]));
  }
  ASSERT_TRUE(cursor_reaches(expected.size()));
  const auto events = read_topic(cluster_.bootstrap(), "events", expected.size(), 20s, 500ms);
  ASSERT_EQ(events.size(), expected.size());
  std::map<std::size_t, std::string> by_index;  // the topic's partitions come back one after another
  for (const auto& event : events) {
    std::size_t index = 0;
    const char* end = event.value.data() + event.value.size();
    const auto parsed = std::from_chars(event.value.data(), end, index);
    if (parsed.ec != std::errc() || parsed.ptr == end || *parsed.ptr != ':') {
      ADD_FAILURE() << "a value that names no record (overwritten?): " << event.value.substr(0, 40);
      continue;
    }
    by_index[index] = event.value;
  }
  ASSERT_EQ(by_index.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(by_index[i].size(), expected[i].size()) << "record " << i;
    EXPECT_TRUE(by_index[i] == expected[i]) << "record " << i << " differs";
  }
  // Refused in the delivery report, a small value and a large one, each alone in its produce
  // request.
  std::uint64_t end = expected.size();
  for (const std::size_t size : {std::size_t{200}, 8 * kKiB}) {
    rd_kafka_mock_broker_push_request_error_rtts(cluster_.get(), 1, kProduce, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 0);
    append_value(end, size);
    ASSERT_TRUE(cursor_reaches(++end)) << size;
  }
  const auto dead = read_topic(cluster_.bootstrap(), "dead", 2, 20s, 500ms);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_TRUE(dead[0].value == value(expected.size(), 200));
  EXPECT_TRUE(dead[1].value == value(expected.size() + 1, 8 * kKiB));
  EXPECT_EQ(forwarder_->dead_lettered(), 2u);
}

TEST_F(ForwarderMockTest, ADeadLetterDeliveryThatFailsForNowIsTriedAgainFromTheRing) {
  // The dead-letter topic has no leader for a while, so the dead-letter copy of a refused
  // record times out (a retriable failure). The record must not be acknowledged or given
  // up: it comes round again from the ring, is refused again by its own topic, and reaches
  // the dead-letter topic once that has a leader.
  rd_kafka_mock_topic_set_error(cluster_.get(), "dead", RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  config::KafkaConfig k;
  k.delivery_timeout = 1000ms;
  ForwarderOptions options;
  options.dead_letter_topic = "dead";
  options.retry_backoff = 1s;
  start(k, options);
  append("first", 1);
  ASSERT_TRUE(cursor_reaches(1));
  // The refused record's two trips to its own topic are refused; its dead-letter copies
  // make the only other produce requests, and the first of them never leaves (no leader).
  rd_kafka_mock_broker_push_request_error_rtts(cluster_.get(), 1, kProduce, 2,
                                               RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 0,
                                               RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 0);
  append("refused", 1);
  ASSERT_TRUE(eventually([&] { return forwarder_->retried() > 0; }, 20s)) << "the dead-letter copy never failed";
  EXPECT_EQ(ring_->cursor(), 1u);  // not acknowledged while its dead-letter copy is not in Kafka
  EXPECT_EQ(forwarder_->rejected(), 0u);
  EXPECT_EQ(forwarder_->dead_lettered(), 0u);
  rd_kafka_mock_topic_set_error(cluster_.get(), "dead", RD_KAFKA_RESP_ERR_NO_ERROR);  // before the back-off ends
  ASSERT_TRUE(cursor_reaches(2, 30s));
  EXPECT_EQ(cluster_.produce_errors_left(), 0u);  // it did go to its own topic twice
  EXPECT_EQ(forwarder_->dead_lettered(), 1u);
  EXPECT_EQ(forwarder_->rejected(), 0u);
  // Read for a second after the expected record: a second copy would show up.
  const auto dead = read_topic(cluster_.bootstrap(), "dead", 1, 20s, 1s);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "refused-0");
  EXPECT_EQ(dead[0].header("tributary_dlq_error"), "MSG_SIZE_TOO_LARGE");
  EXPECT_EQ(dead[0].header("tributary_dlq_topic"), "events");
  const auto events = read_topic(cluster_.bootstrap(), "events", 1, 20s, 1s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].value, "first-0");
}

TEST_F(ForwarderMockTest, WithoutADeadLetterTopicARejectionIsCountedAndDoesNotBlock) {
  rd_kafka_mock_topic_create(cluster_.get(), "other", 1, 1);
  start({});
  append("first", 1);
  ASSERT_TRUE(cursor_reaches(1));
  // The broker refuses the next ProduceRequest: not authorised for the topic. (librdkafka
  // then refuses that topic at once until its next metadata refresh, so the records behind
  // go to another topic.)
  rd_kafka_mock_broker_push_request_error_rtts(cluster_.get(), 1, kProduce, 1,
                                               RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0);
  append("refused", 1);
  append("after", 5, 0, "other");
  ASSERT_TRUE(cursor_reaches(7));
  EXPECT_EQ(forwarder_->rejected(), 1u);
  EXPECT_EQ(forwarder_->delivered(), 6u);
  EXPECT_EQ(read_topic(cluster_.bootstrap(), "other", 5, 20s, 500ms).size(), 5u);
}

TEST_F(ForwarderMockTest, ARecordRefusedBeforeItLeavesGoesToTheDeadLetterTopicToo) {
  // A topic the cluster does not have (a broker with auto-creation off answers every
  // metadata request for it with "unknown topic"): librdkafka refuses such a record when it
  // is produced, once the topic's propagation time has passed (30 s by default, 200 ms here),
  // so the record never gets a delivery report. Once that has lasted unknown_topic_timeout
  // (1 s here), it must take the dead-letter way too.
  config::KafkaConfig k = with_unknown_topic("missing", 1s);
  ForwarderOptions options;
  options.dead_letter_topic = "dead";
  start(k, options);
  append("first", 1);
  ASSERT_TRUE(cursor_reaches(1));
  append("lost", 2, 0, "missing");
  append("after", 3);
  ASSERT_TRUE(cursor_reaches(6, 20s));
  EXPECT_EQ(forwarder_->dead_lettered(), 2u);
  EXPECT_EQ(forwarder_->rejected(), 0u);
  EXPECT_EQ(forwarder_->delivered(), 4u);
  const auto dead = read_topic(cluster_.bootstrap(), "dead", 2, 20s, 500ms);
  ASSERT_EQ(dead.size(), 2u);
  std::set<std::string> values;
  for (const auto& r : dead) {
    values.insert(r.value);
    EXPECT_EQ(r.header("tributary_dlq_topic"), "missing");
    EXPECT_EQ(r.header("tributary_dlq_error"), "_UNKNOWN_TOPIC");
    EXPECT_FALSE(r.header("tributary_dlq_reason").value_or("").empty());
    EXPECT_TRUE(r.header("ce_id").has_value());  // the original headers come along
  }
  EXPECT_EQ(values, (std::set<std::string>{"lost-0", "lost-1"}));
  EXPECT_EQ(read_topic(cluster_.bootstrap(), "events", 4, 20s, 500ms).size(), 4u);
}

TEST_F(ForwarderMockTest, ATopicKafkaDoesNotHaveIsRefusedAndBlocksNothingBehindIt) {
  // Without a dead-letter topic: once unknown_topic_timeout has passed, the record is
  // refused, counted, and holds nothing behind it.
  config::KafkaConfig k = with_unknown_topic("missing", 1s);
  start(k);
  append("lost", 1, 0, "missing");
  append("after", 5);
  ASSERT_TRUE(cursor_reaches(6, 20s));
  EXPECT_EQ(forwarder_->rejected(), 1u);
  EXPECT_EQ(forwarder_->delivered(), 5u);
  EXPECT_EQ(read_topic(cluster_.bootstrap(), "events", 5, 20s, 500ms).size(), 5u);
}

// The REST Proxy API's placements: a partition the client names, a null value. A partition
// the topic does not have is waited for like an unknown topic, then dead-lettered (with its
// reason), and holds nothing behind it; the dead-letter copy is partitioned as usual.
TEST_F(ForwarderMockTest, ExplicitPartitionsAndTombstonesAreProducedAsAskedAndAMissingPartitionIsDeadLettered) {
  rd_kafka_mock_topic_create(cluster_.get(), "parts", 2, 1);
  config::KafkaConfig k;
  k.unknown_topic_timeout = 1s;
  ForwarderOptions options;
  options.dead_letter_topic = "dead";
  start(k, options);
  EnvelopeWriter writer;
  const auto put = [&](std::string_view value, KafkaPlacement placement) {
    const std::string envelope(writer.finish({}, "parts", std::string_view("k"), value, std::chrono::system_clock::now(),
                                             Origin{"http", "mock", "", "127.0.0.1", 1}, nullptr, placement));
    EXPECT_EQ(ring_->append(0, envelope, {}), buffer::Ring::Append::kQueued);
  };
  put("to-1", {1, false});
  put("", {0, true});          // a tombstone for "k" in partition 0
  put("to-9", {9, false});     // no partition 9
  put("by-key", {-1, false});
  ASSERT_TRUE(cursor_reaches(4, 20s));
  EXPECT_EQ(forwarder_->delivered(), 3u);  // the dead-letter copy counts as dead_lettered
  EXPECT_EQ(forwarder_->dead_lettered(), 1u);
  const auto parts = read_topic(cluster_.bootstrap(), "parts", 3, 20s, 500ms);
  ASSERT_EQ(parts.size(), 3u);
  std::map<std::string, const KafkaRecord*> by_value;
  for (const auto& r : parts) by_value[r.null_value ? "<null>" : r.value] = &r;
  ASSERT_EQ(by_value.count("to-1") + by_value.count("<null>") + by_value.count("by-key"), 3u);
  EXPECT_EQ(by_value["to-1"]->partition, 1);
  EXPECT_EQ(by_value["<null>"]->partition, 0);
  EXPECT_EQ(by_value["<null>"]->key, "k");
  const auto dead = read_topic(cluster_.bootstrap(), "dead", 1, 20s, 500ms);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "to-9");
  EXPECT_EQ(dead[0].header("tributary_dlq_error"), "_UNKNOWN_PARTITION");
  EXPECT_EQ(dead[0].header("tributary_dlq_topic"), "parts");
}

TEST_F(ForwarderMockTest, ATopicUnknownForAMomentIsWaitedFor) {
  // A broker that says "unknown topic" for a while (restarted, stale metadata, the topic
  // being created) must not cost the record: it waits, and goes once the topic is there.
  config::KafkaConfig k = with_unknown_topic("late", 30s);
  ForwarderOptions options;
  options.dead_letter_topic = "dead";
  start(k, options);
  append("early", 1, 0, "late");
  std::this_thread::sleep_for(1500ms);  // refused as unknown for more than a second by now
  EXPECT_EQ(ring_->cursor(), 0u);
  rd_kafka_mock_topic_set_error(cluster_.get(), "late", RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_mock_topic_create(cluster_.get(), "late", 1, 1);
  ASSERT_TRUE(cursor_reaches(1, 20s));
  EXPECT_EQ(forwarder_->delivered(), 1u);
  EXPECT_EQ(forwarder_->dead_lettered(), 0u);
  EXPECT_EQ(forwarder_->rejected(), 0u);
  const auto late = read_topic(cluster_.bootstrap(), "late", 1, 20s, 500ms);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].value, "early-0");
}

TEST_F(ForwarderMockTest, DrainingIsCappedInBytesPerSecond) {
  append("capped", 100, 1000);  // about 100 KB of values
  ForwarderOptions options;
  options.max_bytes_per_second = 40'000;
  const auto started = std::chrono::steady_clock::now();
  start({}, options);
  ASSERT_TRUE(cursor_reaches(100, 30s));
  const auto took = std::chrono::steady_clock::now() - started;
  // 100 KB at 40 KB/s, starting with an empty bucket: about 2.5 s; uncapped it is
  // milliseconds.
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 15s);
}

}  // namespace
}  // namespace tributary::testing
