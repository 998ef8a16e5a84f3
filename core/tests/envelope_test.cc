#include "core/envelope.h"

#include <gtest/gtest.h>

#include <array>

#include "core/stamper.h"

namespace tributary {
namespace {

TEST(Envelope, RoundTripsEveryField) {
  Event e;
  e.id = "gw-1-2";
  e.topic = "app.orders";
  e.key = std::string("k\0ey", 4);
  e.payload = std::string("pay\0load", 8);
  e.headers = {{"ce_id", "gw-1-2"}, {"traceparent", "00-abc"}};
  e.ingest_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  e.origin = Origin{"http", "api", "orders", "::1", 8080};
  Event d;
  ASSERT_TRUE(decode_envelope(encode_envelope(e), &d));
  EXPECT_EQ(d.id, e.id);
  EXPECT_EQ(d.topic, e.topic);
  EXPECT_EQ(d.key, e.key);
  EXPECT_EQ(d.payload, e.payload);
  ASSERT_EQ(d.headers.size(), 2u);
  EXPECT_EQ(d.headers[1].value, "00-abc");
  EXPECT_EQ(d.ingest_time, e.ingest_time);
  EXPECT_EQ(d.origin.route, "orders");
  EXPECT_EQ(d.origin.remote_port, 8080);
}

TEST(Envelope, NullKeyAndEmptyKeyDiffer) {
  Event e;
  e.topic = "t";
  Event d;
  ASSERT_TRUE(decode_envelope(encode_envelope(e), &d));
  EXPECT_FALSE(d.key.has_value());
  e.key = "";
  ASSERT_TRUE(decode_envelope(encode_envelope(e), &d));
  ASSERT_TRUE(d.key.has_value());
  EXPECT_TRUE(d.key->empty());
}

// A stamped envelope stores facts; the headers made from them at produce time are exactly
// the ones the stamper gives an Event with the same facts, in the same order, followed by
// what the transport added.
TEST(Envelope, AStampedEnvelopeGivesTheStampersHeadersThenTheTransportsOwn) {
  const Stamper stamper("gw-7");
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  for (const Origin& origin : {Origin{"udp", "meters", "", "192.0.2.1", 5000},
                               Origin{"http", "api", "orders", "::1", 8080}, Origin{"mqtt", "plant", "f", "", 0}}) {
    for (const std::string content_type : {"", "application/json"}) {
      Event expected;
      expected.origin = origin;
      expected.ingest_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
      expected.content_type = content_type;
      expected.traceparent = traceparent;
      stamper.stamp(expected);
      expected.headers.push_back({"mqtt_topic", "a/b"});

      EnvelopeWriter w;
      w.add_header("mqtt_topic", "a/b");
      const EnvelopeStamp stamp{stamper.node_id(), content_type, traceparent};
      const std::string_view bytes =
          w.finish({}, "t", std::nullopt, "payload", expected.ingest_time, origin, &stamp);
      Event d;
      ASSERT_TRUE(decode_envelope(bytes, &d));
      ASSERT_EQ(d.headers.size(), expected.headers.size()) << origin.transport << " " << content_type;
      for (std::size_t i = 0; i < d.headers.size(); ++i) {
        EXPECT_EQ(d.headers[i].name, expected.headers[i].name);
        EXPECT_EQ(d.headers[i].value, expected.headers[i].value) << d.headers[i].name;
      }
      EXPECT_EQ(d.content_type, content_type);
      EXPECT_EQ(d.traceparent, traceparent);
      EXPECT_EQ(d.payload, "payload");
    }
  }
}

// Envelopes written before the ring stored facts carry every header: they are given as they are.
TEST(Envelope, AnUnstampedEnvelopeGivesItsStoredHeadersOnly) {
  EnvelopeWriter w;
  w.add_header("ce_source", "/tributary/old/udp/meters");
  w.add_header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  const std::string_view bytes = w.finish({}, "t", std::nullopt, "p", std::chrono::system_clock::now(),
                                          Origin{"udp", "meters", "", "192.0.2.1", 5000});
  Event d;
  ASSERT_TRUE(decode_envelope(bytes, &d));
  ASSERT_EQ(d.headers.size(), 2u);
  EXPECT_EQ(d.headers[0].name, "ce_source");
  EXPECT_EQ(d.headers[0].value, "/tributary/old/udp/meters");
  EXPECT_EQ(d.headers[1].name, "traceparent");
}

// The point of storing facts: a small event's envelope is much smaller than with the
// header text stored.
TEST(Envelope, AStampedEnvelopeIsSmallerThanOneWithEveryHeaderStored) {
  const Stamper stamper("gw-7");
  Event e;
  e.topic = "meters.raw";
  e.payload = std::string(200, 'x');
  e.origin = Origin{"udp", "meters", "", "192.0.2.1", 5000};
  e.ingest_time = std::chrono::system_clock::now();
  stamper.stamp(e);
  const std::size_t stored = encode_envelope(e).size();
  EnvelopeWriter w;
  std::array<char, 55> trace;
  const EnvelopeStamp stamp{stamper.node_id(), "", Stamper::traceparent({}, trace)};
  const std::size_t stamped = w.finish({}, e.topic, std::nullopt, e.payload, e.ingest_time, e.origin, &stamp).size();
  EXPECT_LT(stamped * 10, stored * 8) << "stamped " << stamped << " bytes, stored " << stored << " bytes";
}

TEST(Envelope, GarbageIsRefusedByTheVerifier) {
  Event d;
  EXPECT_FALSE(decode_envelope("", &d));
  EXPECT_FALSE(decode_envelope("definitely not a flatbuffer", &d));
  Event e;
  e.topic = "t";
  std::string bytes = encode_envelope(e);
  bytes.resize(bytes.size() / 2);
  EXPECT_FALSE(decode_envelope(bytes, &d));
}

}  // namespace
}  // namespace tributary
