#include "core/formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tributary {
namespace {

using ::testing::StartsWith;

TEST(UdpFormats, RawIsTheWholeDatagramEvenEmpty) {
  Datagram d;
  std::string why;
  ASSERT_TRUE(parse_datagram(Format::kRaw, std::string_view("\0bin", 4), &d, &why));
  ASSERT_EQ(d.bodies.size(), 1u);
  EXPECT_EQ(d.bodies[0].size(), 4u);
  EXPECT_TRUE(d.docs.empty());
}

TEST(UdpFormats, JsonMustBeOneValidValue) {
  Datagram d;
  std::string why;
  EXPECT_TRUE(parse_datagram(Format::kJson, R"({"a":1})", &d, &why));
  EXPECT_FALSE(parse_datagram(Format::kJson, R"({"a":1} {"b":2})", &d, &why));
  EXPECT_FALSE(parse_datagram(Format::kJson, "", &d, &why));
  EXPECT_FALSE(parse_datagram(Format::kJson, "\"\xff\xfe\"", &d, &why));  // not UTF-8
  EXPECT_THAT(why, StartsWith("not valid JSON: line 1, column 2: "));
  EXPECT_FALSE(parse_datagram(Format::kJson, "{\"a\":\n  [1, 2,, 3]}", &d, &why));
  EXPECT_THAT(why, StartsWith("not valid JSON: line 2, column 9: syntax error"));
}

TEST(UdpFormats, AJsonErrorIsShortAndPlainWhateverTheInput) {
  // An unterminated string runs to the end of a large body: the reason must not repeat it.
  const std::string body = "{\"a\": \"" + std::string(100000, 'x') + "\xff";
  const std::string where = json_error_position(body);
  EXPECT_THAT(where, StartsWith("line 1, column "));
  EXPECT_LE(where.size(), 203u) << where.substr(0, 300);
  EXPECT_EQ(where.find("last read"), std::string::npos);
  for (const char c : where) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
  EXPECT_EQ(json_error_position(R"({"a": [1, 2]})"), "");
}

TEST(UdpFormats, NdjsonNamesTheBadLine) {
  Datagram d;
  std::string why;
  ASSERT_TRUE(parse_datagram(Format::kNdjson, "{\"a\":1}\r\n\n[2]\n3", &d, &why));
  EXPECT_EQ(d.bodies.size(), 3u);
  EXPECT_EQ(d.bodies[0], "{\"a\":1}");
  EXPECT_FALSE(parse_datagram(Format::kNdjson, "{}\n{\n", &d, &why));
  EXPECT_THAT(why, StartsWith("line 2 is not valid JSON: column 2: syntax error"));
  EXPECT_FALSE(parse_datagram(Format::kNdjson, "{}\n{\"a\": tru}\n", &d, &why));
  EXPECT_THAT(why, StartsWith("line 2 is not valid JSON: column 10: syntax error"));
  EXPECT_FALSE(parse_datagram(Format::kNdjson, "\n\r\n", &d, &why));
  EXPECT_EQ(why, "no JSON line in the datagram");
}

TEST(UdpFormats, HostileNestingIsRefusedWithoutCrashing) {
  // Deeper than kMaxJsonDepth: refused (writing such a value back out would recurse), the
  // same with or without a document built.
  for (const bool docs : {true, false}) {
    Datagram d;
    std::string why;
    const std::string deep = std::string(60000, '[') + std::string(60000, ']');
    EXPECT_FALSE(parse_datagram(Format::kJson, deep, &d, &why, docs));
    EXPECT_EQ(why, "JSON is nested deeper than 64 levels");
    EXPECT_FALSE(parse_datagram(Format::kJson, std::string(60000, '['), &d, &why, docs));
    const std::string fine = std::string(64, '[') + std::string(64, ']');
    EXPECT_TRUE(parse_datagram(Format::kJson, fine, &d, &why, docs)) << why;
    EXPECT_FALSE(parse_datagram(Format::kJson, "[" + fine + "]", &d, &why, docs));
  }
}

TEST(UdpFormats, JsonFieldsByDottedPath) {
  const auto doc = nlohmann::json::parse(R"({"id":"x","n":7,"m":{"d":"pump","z":null},"l":[1]})");
  EXPECT_EQ(json_field(doc, "id"), "x");
  EXPECT_EQ(json_field(doc, "n"), "7");
  EXPECT_EQ(json_field(doc, "m.d"), "pump");
  EXPECT_EQ(json_field(doc, "m.z"), "null");
  EXPECT_EQ(json_field(doc, "m.missing"), "");
  EXPECT_EQ(json_field(doc, "id.deeper"), "");
  EXPECT_EQ(json_field(doc, "l"), "[1]");
}

TEST(UdpFormats, ValidationWithoutDocumentsJudgesTheSame) {
  for (const std::string_view text :
       {std::string_view(R"({"a":[1,2,{"b":null}]})"), std::string_view("{\"a\":"), std::string_view("1 2"),
        std::string_view("\"\\ud800\""), std::string_view("[]"), std::string_view(""),
        // Where a fast validator might differ from nlohmann: numbers out of range, lone
        // surrogates, a byte-order mark, bad UTF-8, control characters, trailing commas.
        std::string_view("1e400"), std::string_view("-0"), std::string_view("123456789012345678901234567890"),
        std::string_view("\"\\udc00\""), std::string_view("\"\\ud800\\u0041\""), std::string_view("\xEF\xBB\xBF{}"),
        std::string_view("\"\xC3\x28\""), std::string_view("\"\xF5\x80\x80\x80\""), std::string_view("\"a\tb\""),
        std::string_view("[1,]"), std::string_view("{\"a\":1,}"), std::string_view("01"), std::string_view("NaN"),
        std::string_view(" \t\r\n{} \n"), std::string_view("{\"a\":1}{\"b\":2}"), std::string_view("\"\\u0000\"")}) {
    for (const Format format : {Format::kJson, Format::kNdjson}) {
      Datagram with, without;
      std::string why_with, why_without;
      const bool ok = parse_datagram(format, text, &with, &why_with, true);
      EXPECT_EQ(parse_datagram(format, text, &without, &why_without, false), ok) << text;
      EXPECT_EQ(why_with, why_without) << text;
      EXPECT_EQ(with.bodies, without.bodies);
      EXPECT_TRUE(without.docs.empty());
    }
  }
}

}  // namespace
}  // namespace tributary
