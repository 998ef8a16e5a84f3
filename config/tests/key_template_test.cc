#include "config/key_template.h"

#include <gtest/gtest.h>

#include <array>

namespace tributary::config {
namespace {

constexpr std::array<std::string_view, 3> kVars = {"remote_ip", "source", "header:"};

TEST(KeyTemplate, SplitsLiteralsAndVariables) {
  std::string why;
  auto t = KeyTemplate::parse("dev-{remote_ip}/{header:X-Id}", kVars, &why);
  ASSERT_TRUE(t) << why;
  ASSERT_EQ(t->parts().size(), 4u);
  EXPECT_FALSE(t->parts()[0].variable);
  EXPECT_EQ(t->parts()[0].text, "dev-");
  EXPECT_TRUE(t->parts()[1].variable);
  EXPECT_EQ(t->parts()[1].text, "remote_ip");
  EXPECT_EQ(t->parts()[2].text, "/");
  EXPECT_EQ(t->parts()[3].text, "header:X-Id");
}

TEST(KeyTemplate, EmptyTextMeansNoKey) {
  std::string why;
  auto t = KeyTemplate::parse("", kVars, &why);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->empty());
}

TEST(KeyTemplate, DoubledBracesAreLiteral) {
  std::string why;
  auto t = KeyTemplate::parse("{{x}}", kVars, &why);
  ASSERT_TRUE(t) << why;
  ASSERT_EQ(t->parts().size(), 1u);
  EXPECT_EQ(t->parts()[0].text, "{x}");
}

TEST(KeyTemplate, RejectsUnknownVariablesNamingTheKnownOnes) {
  std::string why;
  EXPECT_FALSE(KeyTemplate::parse("{device}", kVars, &why));
  EXPECT_NE(why.find("unknown variable {device}"), std::string::npos) << why;
  EXPECT_NE(why.find("{remote_ip}"), std::string::npos) << why;
  EXPECT_NE(why.find("{header:NAME}"), std::string::npos) << why;
}

TEST(KeyTemplate, RejectsUnbalancedBracesAndEmptyPrefixArgument) {
  std::string why;
  EXPECT_FALSE(KeyTemplate::parse("{remote_ip", kVars, &why));
  EXPECT_NE(why.find("unclosed"), std::string::npos);
  EXPECT_FALSE(KeyTemplate::parse("a}b", kVars, &why));
  EXPECT_NE(why.find("unmatched"), std::string::npos);
  EXPECT_FALSE(KeyTemplate::parse("{header:}", kVars, &why));
}

}  // namespace
}  // namespace tributary::config
