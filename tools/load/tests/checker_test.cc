// The checker on crafted histories: each kind of delivery defect must be detected, and a
// clean history must pass. If the checker could not fail, no loss test would mean anything.

#include "tools/load/checker.h"

#include <gtest/gtest.h>

#include "tools/load/payload.h"

namespace tributary::tools {
namespace {

constexpr const char* kRun = "abcdef012345";

Obligations obligations(std::uint64_t acked, std::uint64_t unacked = 0) {
  Obligations o;
  o.run_id = kRun;
  o.topics = {"t"};
  if (acked > 0) o.ranges.push_back({0, acked - 1, true, ""});
  if (unacked > 0) o.ranges.push_back({acked, acked + unacked - 1, false, "udp"});
  return o;
}

std::string payload(std::uint64_t seq, const std::string& key = "k0", std::int64_t send_ns = 1'000'000'000) {
  std::string out;
  encode_payload(Payload{kRun, seq, send_ns, key}, 64, out);
  return out;
}

void feed(Checker& c, const std::vector<std::string>& values) {
  std::int64_t offset = 0;
  for (const std::string& v : values) c.observe(ObservedRecord{0, offset++, v, 1005, true});
}

TEST(Payload, RoundTripsAndPadsToSize) {
  std::string out;
  encode_payload(Payload{kRun, 42, 1234567890123456789, "dev-7"}, 200, out);
  EXPECT_EQ(out.size(), 200u);
  Payload p;
  ASSERT_EQ(parse_payload(out, kRun, &p), ParseOutcome::kOk);
  EXPECT_EQ(p.seq, 42u);
  EXPECT_EQ(p.send_ns, 1234567890123456789);
  EXPECT_EQ(p.key, "dev-7");
  EXPECT_EQ(parse_payload(out, "000000000000", &p), ParseOutcome::kForeign);
  EXPECT_EQ(parse_payload("something else", kRun, &p), ParseOutcome::kForeign);
}

TEST(Payload, TheJsonStringFormIsTheSamePayload) {
  std::string out;
  encode_payload(Payload{kRun, 7, 99, "k"}, 100, out);
  Payload p;
  ASSERT_EQ(parse_payload("\"" + out + "\"", kRun, &p), ParseOutcome::kOk);
  EXPECT_EQ(p.seq, 7u);
  std::string damaged = "\"" + out + "\"";
  const std::size_t at = damaged.size() - 20;  // in the padding, under the checksum
  damaged[at] = damaged[at] == 'x' ? 'y' : 'x';
  EXPECT_EQ(parse_payload(damaged, kRun, &p), ParseOutcome::kCorrupt);
}

TEST(Checker, CleanHistoryPasses) {
  Checker c(obligations(5));
  feed(c, {payload(0), payload(1), payload(2), payload(3), payload(4)});
  const Report r = c.report();
  EXPECT_TRUE(r.passed()) << r.to_json();
  EXPECT_EQ(r.delivered, 5u);
  EXPECT_TRUE(c.complete());
  EXPECT_EQ(r.latency.count, 5u);
  EXPECT_EQ(r.latency.clock, "log_append_time");
  EXPECT_NEAR(r.latency.p50_ms, 5.0, 0.11);
}

TEST(Checker, DetectsALostAcknowledgedEvent) {
  Checker c(obligations(4));
  feed(c, {payload(0), payload(1), payload(3)});
  const Report r = c.report();
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.lost_acknowledged, 1u);
  ASSERT_EQ(r.lost_acknowledged_sample.size(), 1u);
  EXPECT_EQ(r.lost_acknowledged_sample[0], 2u);
  EXPECT_NE(r.summary_line().find("FAIL"), std::string::npos);
}

TEST(Checker, UnacknowledgedLossIsReportedButDoesNotFail) {
  Checker c(obligations(2, 3));
  feed(c, {payload(0), payload(1), payload(2)});
  const Report r = c.report();
  EXPECT_TRUE(r.passed()) << r.to_json();
  EXPECT_EQ(r.lost_unacknowledged, 2u);
  EXPECT_EQ(r.unacknowledged_by_reason.at("udp"), 3u);
}

TEST(Checker, UnacknowledgedLossNoDropCounterExplainsFails) {
  Checker c(obligations(0, 10));
  feed(c, {payload(0), payload(1), payload(2), payload(3), payload(4), payload(5), payload(6)});
  Report r = c.report();
  ASSERT_EQ(r.lost_unacknowledged, 3u);
  r.tributary_dropped = std::map<std::string, std::uint64_t>{{"ring_full", 2}, {"malformed", 0}};
  EXPECT_EQ(r.uncounted_loss(), 1u);
  EXPECT_FALSE(r.passed());
  EXPECT_NE(r.to_json().find("\"uncounted_loss\": 1"), std::string::npos);
  r.tributary_dropped = std::map<std::string, std::uint64_t>{{"ring_full", 2}, {"kernel_overflow", 1}};
  EXPECT_EQ(r.uncounted_loss(), 0u);
  EXPECT_TRUE(r.passed()) << r.to_json();
}

TEST(Checker, DropCountersAreReadFromTributarysMetricsPage) {
  const std::string page =
      "# HELP tributary_source_dropped_events_total Events a source received but did not store, by reason.\n"
      "# TYPE tributary_source_dropped_events_total counter\n"
      "tributary_source_dropped_events_total{source=\"meters\",type=\"udp\",reason=\"kernel_overflow\"} 12\n"
      "tributary_source_dropped_events_total{source=\"meters\",type=\"udp\",reason=\"ring_full\"} 3\n"
      "tributary_source_dropped_events_total{source=\"other\",type=\"udp\",reason=\"ring_full\"} 100\n"
      "tributary_source_accepted_events_total{source=\"meters\",type=\"udp\"} 5000\n";
  const auto meters = dropped_by_reason(page, {"meters"});
  EXPECT_EQ(meters, (std::map<std::string, std::uint64_t>{{"kernel_overflow", 12}, {"ring_full", 3}}));
  const auto all = dropped_by_reason(page, {});
  EXPECT_EQ(all.at("ring_full"), 103u);
  EXPECT_TRUE(dropped_by_reason("", {"meters"}).empty());
}

TEST(Checker, DetectsDuplicatesAsReplay) {
  Checker c(obligations(2));
  feed(c, {payload(0), payload(1), payload(1)});
  const Report r = c.report();
  EXPECT_TRUE(r.passed());  // at-least-once allows replays; they are counted
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_TRUE(r.replay_observed());
}

TEST(Checker, DetectsAPhantom) {
  Checker c(obligations(2));
  feed(c, {payload(0), payload(1), payload(7)});
  const Report r = c.report();
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.phantoms, 1u);
}

TEST(Checker, DetectsAPerKeyOrderViolation) {
  Checker c(obligations(4));
  feed(c, {payload(0, "a"), payload(2, "a"), payload(1, "a"), payload(3, "b")});
  const Report r = c.report();
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.order_violations, 1u);
}

TEST(Checker, InterleavedKeysAreNotAnOrderViolation) {
  Checker c(obligations(4));
  feed(c, {payload(1, "b"), payload(0, "a"), payload(3, "b"), payload(2, "a")});
  EXPECT_EQ(c.report().order_violations, 0u);
}

TEST(Checker, DetectsACorruptPayload) {
  Checker c(obligations(2));
  std::string bad = payload(1);
  bad[40] = bad[40] == 'x' ? 'y' : 'x';  // one flipped byte
  feed(c, {payload(0), bad, "T1 " + std::string(kRun) + " truncated"});
  const Report r = c.report();
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.corrupt, 2u);
  EXPECT_EQ(r.lost_acknowledged, 1u);
}

TEST(Checker, ForeignRecordsAreIgnored) {
  Checker c(obligations(1));
  feed(c, {"hello", payload(0)});
  const Report r = c.report();
  EXPECT_TRUE(r.passed());
  EXPECT_EQ(r.foreign, 1u);
}

TEST(Checker, AFaultRunWhoseFaultsDidNotHappenFails) {
  Checker c(obligations(1));
  feed(c, {payload(0)});
  Report r = c.report();
  r.faults_required = 2;
  r.faults_landed = 1;
  EXPECT_FALSE(r.passed());
  r.faults_landed = 2;
  EXPECT_TRUE(r.passed());
}

TEST(Checker, EmptyRunFails) {
  Obligations o;
  o.run_id = kRun;
  Checker c(o);
  EXPECT_FALSE(c.report().passed());
}

TEST(Obligations, WriterMergesRangesAndReaderReadsThemBack) {
  const std::string path = ::testing::TempDir() + "/obligations.log";
  {
    ObligationWriter w;
    ASSERT_TRUE(w.open(path, kRun, "t"));
    for (std::uint64_t s = 0; s < 100; ++s) w.acknowledged(s);
    w.unacknowledged(100, "http_503");
    w.unacknowledged(101, "http_503");
    w.acknowledged(102);
  }
  Obligations o;
  std::string error;
  ASSERT_TRUE(read_obligations({path}, &o, &error)) << error;
  EXPECT_EQ(o.run_id, kRun);
  ASSERT_EQ(o.ranges.size(), 3u);
  EXPECT_EQ(o.sent(), 103u);
  EXPECT_EQ(o.acknowledged(), 101u);
  EXPECT_EQ(o.unacknowledged_by_reason().at("http_503"), 2u);
}

}  // namespace
}  // namespace tributary::tools

namespace tributary::tools {
namespace {

TEST(Obligations, OverlappingLogsOfOneRunAreRefused) {
  const std::string a = ::testing::TempDir() + "/a.log";
  const std::string b = ::testing::TempDir() + "/b.log";
  {
    ObligationWriter w;
    ASSERT_TRUE(w.open(a, kRun, "t1"));
    w.add(0, 99, true, "");
  }
  {
    ObligationWriter w;
    ASSERT_TRUE(w.open(b, kRun, "t2"));
    w.add(50, 149, false, "udp");
  }
  Obligations o;
  std::string error;
  EXPECT_FALSE(read_obligations({a, b}, &o, &error));
  EXPECT_NE(error.find("--first-seq"), std::string::npos) << error;
  {
    ObligationWriter w;
    ASSERT_TRUE(w.open(b, kRun, "t2"));
    w.add(100, 199, false, "udp");
  }
  ASSERT_TRUE(read_obligations({a, b}, &o, &error)) << error;
  EXPECT_EQ(o.sent(), 200u);
  EXPECT_EQ(o.topics.size(), 2u);
}

TEST(Payload, EncodesExactlyTheRequestedSizeForEveryKeyLength) {
  // UDP GSO needs every datagram of a run to have one length, whatever the key.
  std::string shortest;
  std::string longest;
  encode_payload(Payload{kRun, 1, 1, "t0k1"}, 90, shortest);
  encode_payload(Payload{kRun, 1, 1, "t0k10"}, 90, longest);
  EXPECT_EQ(shortest.size(), longest.size());
  EXPECT_EQ(shortest.size(), 90u);
}

}  // namespace
}  // namespace tributary::tools
