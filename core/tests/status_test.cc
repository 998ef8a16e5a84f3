#include "core/status.h"

#include <gtest/gtest.h>

namespace tributary {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(Status, CarriesCodeAndMessage) {
  Status s(StatusCode::kUnavailable, "kafka down");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.to_string(), "unavailable: kafka down");
}

TEST(Result, HoldsAValueOrAStatus) {
  Result<int> good(7);
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ(good.value(), 7);
  EXPECT_TRUE(good.status().is_ok());
  Result<int> bad(Status(StatusCode::kNotFound, "no route"));
  EXPECT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tributary
