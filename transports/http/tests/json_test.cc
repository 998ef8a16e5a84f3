#include "transports/http/json.h"

#include <gtest/gtest.h>

namespace tributary::transports::http {
namespace {

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("l1\nl2\t\x01"), "\"l1\\nl2\\t\\u0001\"");
}

TEST(JsonError, BuildsTheErrorObject) {
  EXPECT_EQ(json_error("unknown_route", "no route 'x'", ",\"route\":\"x\""),
            "{\"error\":\"unknown_route\",\"message\":\"no route 'x'\",\"route\":\"x\"}\n");
}

}  // namespace
}  // namespace tributary::transports::http
