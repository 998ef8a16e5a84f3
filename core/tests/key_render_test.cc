#include "core/key_render.h"

#include <gtest/gtest.h>

#include <array>

namespace tributary {
namespace {

constexpr std::array<std::string_view, 7> kVars = {
    "node_id", "source", "route", "remote_ip", "remote_port", "remote_addr", "header:"};

config::KeyTemplate parse(std::string_view text) {
  std::string why;
  auto t = config::KeyTemplate::parse(text, kVars, &why);
  EXPECT_TRUE(t) << why;
  return t.value_or(config::KeyTemplate{});
}

TEST(RenderKey, EmptyTemplateMeansNoKey) {
  EXPECT_FALSE(render_key(parse(""), "n", Origin{}, nullptr));
}

TEST(RenderKey, SubstitutesOriginVariables) {
  const Origin o{"udp", "meters", "", "192.0.2.7", 5000};
  EXPECT_EQ(render_key(parse("{node_id}/{source}/{remote_ip}:{remote_port}"), "gw", o, nullptr),
            "gw/meters/192.0.2.7:5000");
  EXPECT_EQ(render_key(parse("{remote_addr}"), "gw", Origin{"udp", "m", "", "::1", 9}, nullptr),
            "[::1]:9");
}

TEST(RenderKey, LooksUpHeadersAndRendersMissingOnesEmpty) {
  const HeaderLookup lookup = [](std::string_view name) {
    return name == "X-Device" ? std::string("dev-42") : std::string();
  };
  const Origin o{"http", "api", "orders", "127.0.0.1", 1};
  EXPECT_EQ(render_key(parse("{route}:{header:X-Device}"), "gw", o, &lookup), "orders:dev-42");
  EXPECT_EQ(render_key(parse("k-{header:X-Missing}"), "gw", o, &lookup), "k-");
}

}  // namespace
}  // namespace tributary
