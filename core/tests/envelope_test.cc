#include "core/envelope.h"

#include <gtest/gtest.h>

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
