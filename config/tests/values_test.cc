#include "config/values.h"

#include <gtest/gtest.h>

namespace tributary::config {
namespace {

TEST(ParseSize, AcceptsBinaryDecimalAndPlainBytes) {
  std::string why;
  EXPECT_EQ(parse_size("1500", &why), 1500u);
  EXPECT_EQ(parse_size("64KiB", &why), 64u * 1024);
  EXPECT_EQ(parse_size("16 MiB", &why), 16u * 1024 * 1024);
  EXPECT_EQ(parse_size("2GiB", &why), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("1MB", &why), 1'000'000u);
  EXPECT_EQ(parse_size("10B", &why), 10u);
}

TEST(ParseSize, RefusesUnknownUnitsAndGarbageWithAReason) {
  std::string why;
  EXPECT_FALSE(parse_size("12parsecs", &why));
  EXPECT_NE(why.find("unknown size unit 'parsecs'"), std::string::npos) << why;
  EXPECT_FALSE(parse_size("lots", &why));
  EXPECT_NE(why.find("expected a size"), std::string::npos) << why;
  EXPECT_FALSE(parse_size("-1KiB", &why));
  EXPECT_FALSE(parse_size("99999999999999999999GiB", &why));
}

TEST(ParseDuration, AcceptsCommonUnits) {
  std::string why;
  EXPECT_EQ(parse_duration("100ms", &why), std::chrono::milliseconds(100));
  EXPECT_EQ(parse_duration("30s", &why), std::chrono::seconds(30));
  EXPECT_EQ(parse_duration("5m", &why), std::chrono::minutes(5));
  EXPECT_EQ(parse_duration("1h", &why), std::chrono::hours(1));
}

TEST(ParseDuration, RequiresAUnit) {
  std::string why;
  EXPECT_FALSE(parse_duration("100", &why));
  EXPECT_NE(why.find("needs a unit"), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("3 fortnights", &why));
  EXPECT_NE(why.find("unknown duration unit"), std::string::npos) << why;
}

TEST(ParseHostPort, HandlesIpv4Ipv6AndNames) {
  std::string why;
  auto a = parse_host_port("127.0.0.1:8080", &why);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_host_port("[::1]:0", &why);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  EXPECT_EQ(b->text(), "[::1]:0");
  EXPECT_TRUE(parse_host_port("localhost:9092", &why));
}

TEST(ParseHostPort, RefusesMalformedAddresses) {
  std::string why;
  EXPECT_FALSE(parse_host_port("127.0.0.1", &why));
  EXPECT_FALSE(parse_host_port("::1:80", &why));
  EXPECT_FALSE(parse_host_port(":80", &why));
  EXPECT_NE(why.find("missing host"), std::string::npos) << why;
  EXPECT_FALSE(parse_host_port("host:70000", &why));
  EXPECT_NE(why.find("0 to 65535"), std::string::npos) << why;
  EXPECT_FALSE(parse_host_port("[::1]80", &why));
}

TEST(TopicNames, FollowKafkaRules) {
  std::string why;
  EXPECT_TRUE(is_valid_topic("iot.site-1_raw", &why));
  EXPECT_FALSE(is_valid_topic("", &why));
  EXPECT_FALSE(is_valid_topic("..", &why));
  EXPECT_FALSE(is_valid_topic("has space", &why));
  EXPECT_FALSE(is_valid_topic(std::string(250, 'a'), &why));
  EXPECT_TRUE(is_valid_topic(std::string(249, 'a'), &why));
}

}  // namespace
}  // namespace tributary::config
