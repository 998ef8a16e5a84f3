#include "transports/http/rest_proxy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tributary::transports::http {
namespace {

TEST(RestProxy, ContentTypesNameTheEmbeddedFormat) {
  EXPECT_EQ(rest_proxy_format("application/vnd.kafka.json.v2+json"), EmbeddedFormat::kJson);
  EXPECT_EQ(rest_proxy_format("Application/VND.kafka.binary.v2+json; charset=utf-8"), EmbeddedFormat::kBinary);
  EXPECT_FALSE(rest_proxy_format("application/json"));
  EXPECT_FALSE(rest_proxy_format("application/vnd.kafka.avro.v2+json"));
}

TEST(RestProxy, JsonRecordsKeepTheirJsonText) {
  std::vector<RestRecord> records;
  RestError error;
  ASSERT_TRUE(parse_rest_records(R"({"records":[{"key":"k1","value":{"a":[1,2]}},{"value":3},{"key":null,"value":"s"}]})",
                                 EmbeddedFormat::kJson, &records, &error))
      << error.message;
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key, "\"k1\"");  // a JSON string, as the REST Proxy serialises it
  EXPECT_EQ(records[0].value, R"({"a":[1,2]})");
  EXPECT_FALSE(records[1].key);
  EXPECT_EQ(records[1].value, "3");
  EXPECT_FALSE(records[2].key);
  EXPECT_EQ(records[2].value, "\"s\"");
}

TEST(RestProxy, BinaryRecordsAreBase64Decoded) {
  std::vector<RestRecord> records;
  RestError error;
  ASSERT_TRUE(parse_rest_records(R"({"records":[{"key":"a2V5","value":"AAEC/w=="},{"value":""}]})",
                                 EmbeddedFormat::kBinary, &records, &error))
      << error.message;
  EXPECT_EQ(records[0].key, "key");
  EXPECT_EQ(records[0].value, std::string("\x00\x01\x02\xff", 4));
  EXPECT_EQ(records[1].value, "");
  EXPECT_FALSE(parse_rest_records(R"({"records":[{"value":"not base64!"}]})", EmbeddedFormat::kBinary, &records, &error));
  EXPECT_EQ(error.error_code, 42205);
  EXPECT_FALSE(parse_rest_records(R"({"records":[{"value":"QQ="}]})", EmbeddedFormat::kBinary, &records, &error));
  EXPECT_FALSE(parse_rest_records(R"({"records":[{"value":"AA=A"}]})", EmbeddedFormat::kBinary, &records, &error));
  EXPECT_FALSE(parse_rest_records(R"({"records":[{"value":"===="}]})", EmbeddedFormat::kBinary, &records, &error));
  EXPECT_FALSE(parse_rest_records(R"({"records":[{"value":12}]})", EmbeddedFormat::kBinary, &records, &error));
  EXPECT_EQ(error.status, 422);
}

// As the REST Proxy: an explicit partition is kept, a null value is a tombstone (a Kafka
// null value, not the text "null" nor an empty value), in both embedded formats.
TEST(RestProxy, ExplicitPartitionsAndNullValuesAreKept) {
  std::vector<RestRecord> records;
  RestError error;
  ASSERT_TRUE(parse_rest_records(R"({"records":[{"key":"k","value":null,"partition":2},{"value":1,"partition":null},)"
                                 R"({"value":2,"partition":2147483647}]})",
                                 EmbeddedFormat::kJson, &records, &error))
      << error.message;
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(records[0].null_value);
  EXPECT_EQ(records[0].value, "");
  EXPECT_EQ(records[0].partition, 2);
  EXPECT_EQ(records[0].key, "\"k\"");
  EXPECT_FALSE(records[1].null_value);
  EXPECT_EQ(records[1].partition, -1);
  EXPECT_EQ(records[2].partition, 2147483647);
  ASSERT_TRUE(parse_rest_records(R"({"records":[{"key":"a2V5","value":null},{"value":""}]})", EmbeddedFormat::kBinary,
                                 &records, &error))
      << error.message;
  EXPECT_TRUE(records[0].null_value);
  EXPECT_EQ(records[0].key, "key");
  EXPECT_FALSE(records[1].null_value);  // an empty value is not a tombstone
}

TEST(RestProxy, BadRequestsAreRefusedWholeWithTheRestProxysCodes) {
  std::vector<RestRecord> records;
  RestError error;
  EXPECT_FALSE(parse_rest_records("{\"records\":[", EmbeddedFormat::kJson, &records, &error));
  EXPECT_EQ(error.status, 400);
  EXPECT_FALSE(parse_rest_records("{\"records\": [\n  {\"value\": 1,}\n]}", EmbeddedFormat::kJson, &records, &error));
  EXPECT_EQ(error.status, 400);
  EXPECT_NE(error.message.find("(line 2, column 15: syntax error"), std::string::npos) << error.message;
  EXPECT_FALSE(parse_rest_records(R"({"records":[]})", EmbeddedFormat::kJson, &records, &error));
  EXPECT_EQ(error.error_code, 42201);
  EXPECT_FALSE(parse_rest_records(R"({"value_schema":"x"})", EmbeddedFormat::kJson, &records, &error));
  EXPECT_FALSE(parse_rest_records(R"({"records":[{"value":1},{"key":"k"}]})", EmbeddedFormat::kJson, &records, &error));
  EXPECT_NE(error.message.find("record 1"), std::string::npos) << error.message;
  EXPECT_TRUE(records.empty());  // nothing of a refused request
  for (const char* partition : {"-1", "1.5", "\"2\"", "2147483648", "true"}) {
    EXPECT_FALSE(parse_rest_records(std::string(R"({"records":[{"value":1,"partition":)") + partition + "}]}",
                                    EmbeddedFormat::kJson, &records, &error))
        << partition;
    EXPECT_EQ(error.error_code, 42201);
    EXPECT_NE(error.message.find("partition number"), std::string::npos) << error.message;
  }
  // Nested 200,000 deep: refused, not written back out recursively (a stack overflow).
  const std::string deep = R"({"records":[{"value":)" + std::string(200000, '[') + std::string(200000, ']') + "}]}";
  EXPECT_FALSE(parse_rest_records(deep, EmbeddedFormat::kJson, &records, &error));
  EXPECT_EQ(error.status, 422);
  EXPECT_NE(error.message.find("nested deeper"), std::string::npos) << error.message;
}

TEST(RestProxy, ResponsesHaveTheRestProxyShapeAndInventNoOffsets) {
  const auto stored = nlohmann::json::parse(rest_produce_response(2, -1, -1));
  EXPECT_TRUE(stored["key_schema_id"].is_null());
  ASSERT_EQ(stored["offsets"].size(), 2u);
  EXPECT_TRUE(stored["offsets"][1]["partition"].is_null());
  EXPECT_TRUE(stored["offsets"][1]["offset"].is_null());
  EXPECT_TRUE(stored["offsets"][1]["error_code"].is_null());
  const auto known = nlohmann::json::parse(rest_produce_response(1, 3, 42));
  EXPECT_EQ(known["offsets"][0]["partition"], 3);
  EXPECT_EQ(known["offsets"][0]["offset"], 42);
  const auto err = nlohmann::json::parse(rest_error_body(40401, "topic \"x\" not found"));
  EXPECT_EQ(err["error_code"], 40401);
  EXPECT_EQ(err["message"], "topic \"x\" not found");
}

TEST(RestProxy, TopicPatternsAreNamesOrPrefixes) {
  const std::vector<std::string> patterns = {"orders", "telemetry.*"};
  EXPECT_TRUE(rest_topic_allowed("orders", patterns));
  EXPECT_FALSE(rest_topic_allowed("orders2", patterns));
  EXPECT_TRUE(rest_topic_allowed("telemetry.site1", patterns));
  EXPECT_FALSE(rest_topic_allowed("telemetry", patterns));
}

}  // namespace
}  // namespace tributary::transports::http
