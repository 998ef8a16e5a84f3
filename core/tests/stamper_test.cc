#include "core/stamper.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <thread>

namespace tributary {
namespace {

std::string header(const Event& e, const std::string& name) {
  for (const Header& h : e.headers) {
    if (h.name == name) return h.value;
  }
  return "<absent>";
}

Event sample() {
  Event e;
  e.origin = Origin{"http", "api", "orders", "10.1.2.3", 4567};
  e.ingest_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  return e;
}

TEST(Stamper, SetsCloudEventsHeaders) {
  Stamper s("gw-01");
  Event e = sample();
  e.content_type = "application/json";
  s.stamp(e);
  EXPECT_EQ(header(e, "ce_specversion"), "1.0");
  EXPECT_EQ(header(e, "ce_id"), "<absent>");  // added by the forwarder: node id + ring sequence
  EXPECT_TRUE(e.id.empty());
  EXPECT_EQ(header(e, "ce_source"), "/tributary/gw-01/http/api");
  EXPECT_EQ(header(e, "ce_type"), "io.tributary.http");
  EXPECT_EQ(header(e, "ce_time"), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(header(e, "content-type"), "application/json");
  EXPECT_EQ(header(e, "tributary_remote"), "10.1.2.3:4567");
  EXPECT_TRUE(Stamper::is_valid_traceparent(header(e, "traceparent")));
}

TEST(Stamper, EveryHeaderItSetsIsAStampedName) {
  Stamper s("gw-01");
  Event e = sample();
  e.content_type = "text/plain";
  s.stamp(e);
  for (const Header& h : e.headers) EXPECT_TRUE(is_stamped_header_name(h.name)) << h.name;
  for (const char* name : {"ce_id", "CE_ID", "Ce_Source", "Content-Type", "TRACEPARENT", "tributary_dlq_reason",
                           "mqtt_qos", "MQTT_Retained"}) {
    EXPECT_TRUE(is_stamped_header_name(name)) << name;
  }
  for (const char* name : {"", "ce", "x-firmware", "content-type2", "traceparent-x", "trace", "tributary",
                           "cex_id", "device_id"}) {
    EXPECT_FALSE(is_stamped_header_name(name)) << name;
  }
}

TEST(Stamper, OmitsContentTypeWhenUnknownAndBracketsIpv6) {
  Stamper s("n");
  Event e = sample();
  e.origin.remote_ip = "::1";
  s.stamp(e);
  EXPECT_EQ(header(e, "content-type"), "<absent>");
  EXPECT_EQ(header(e, "tributary_remote"), "[::1]:4567");
}

TEST(Stamper, TimesKeepMillisecondsAcrossSecondsAndTheEpoch) {
  using std::chrono::milliseconds;
  using TP = std::chrono::system_clock::time_point;
  EXPECT_EQ(Stamper::rfc3339(TP(milliseconds(1'700'000'000'005))), "2023-11-14T22:13:20.005Z");
  EXPECT_EQ(Stamper::rfc3339(TP(milliseconds(1'700'000'000'999))), "2023-11-14T22:13:20.999Z");
  EXPECT_EQ(Stamper::rfc3339(TP(milliseconds(1'700'000'001'000))), "2023-11-14T22:13:21.000Z");
  EXPECT_EQ(Stamper::rfc3339(TP(milliseconds(0))), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Stamper::rfc3339(TP(milliseconds(-1))), "1969-12-31T23:59:59.999Z");
}

TEST(Stamper, EventIdsAreTheNodeIdAndTheRingSequence) {
  EXPECT_EQ(event_id("gw-01", 0), "gw-01-0");
  EXPECT_EQ(event_id("gw-01", 18446744073709551615ull), "gw-01-18446744073709551615");
  // Written over a longer id, as the forwarder reuses one string for every record.
  std::string id = "gateway-in-hall-7-18446744073709551615";
  assign_event_id(id, "gw-01", 42);
  EXPECT_EQ(id, "gw-01-42");
}

TEST(Stamper, KeepsAValidClientTraceparent) {
  Stamper s("n");
  Event e = sample();
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  s.stamp(e);
  EXPECT_EQ(header(e, "traceparent"), e.traceparent);
}

TEST(Stamper, ReplacesAnInvalidClientTraceparent) {
  Stamper s("n");
  for (const char* bad : {"garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}) {
    Event e = sample();
    e.traceparent = bad;
    s.stamp(e);
    const std::string got = header(e, "traceparent");
    EXPECT_NE(got, bad);
    EXPECT_TRUE(Stamper::is_valid_traceparent(got)) << got;
  }
}

TEST(Stamper, GeneratedTraceparentsDiffer) {
  EXPECT_NE(Stamper::new_traceparent(), Stamper::new_traceparent());
}

TEST(Stamper, GeneratedTraceparentsAreUniqueAndUseEveryDigitEverywhere) {
  std::set<std::string> seen;
  std::array<std::array<int, 16>, 55> counts{};  // by position, by digit
  constexpr int kCount = 20000;
  for (int i = 0; i < kCount; ++i) {
    const std::string t = Stamper::new_traceparent();
    ASSERT_TRUE(Stamper::is_valid_traceparent(t)) << t;
    seen.insert(t.substr(3, 32));
    for (std::size_t p = 0; p < t.size(); ++p) {
      const char c = t[p];
      if (c >= '0' && c <= '9') ++counts[p][static_cast<std::size_t>(c - '0')];
      if (c >= 'a' && c <= 'f') ++counts[p][static_cast<std::size_t>(c - 'a' + 10)];
    }
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount)) << "a trace id repeated";
  // Each random position shows each digit about kCount / 16 = 1250 times.
  for (std::size_t p = 3; p < 52; ++p) {
    if (p == 35) continue;  // the dash between trace id and parent id
    for (int d = 0; d < 16; ++d) {
      EXPECT_GT(counts[p][static_cast<std::size_t>(d)], 1000) << "position " << p << " digit " << d;
      EXPECT_LT(counts[p][static_cast<std::size_t>(d)], 1500) << "position " << p << " digit " << d;
    }
  }
}

TEST(Stamper, EachThreadGeneratesItsOwnTraceIds) {
  std::string a, b;
  std::thread first([&] { a = Stamper::new_traceparent(); });
  std::thread second([&] { b = Stamper::new_traceparent(); });
  first.join();
  second.join();
  EXPECT_NE(a.substr(3, 32), b.substr(3, 32));
}

}  // namespace
}  // namespace tributary
