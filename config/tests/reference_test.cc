#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/config.h"
#include "config/options.h"

namespace tributary::config {
namespace {

TEST(ConfigReference, CommittedPageMatchesTheOptionTable) {
  const std::string path = std::string(TRIBUTARY_SOURCE_DIR) + "/docs/config-reference.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path;
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), config_reference_markdown())
      << "docs/config-reference.md is stale; regenerate it with:\n"
         "  build/dev/app/tributary config-reference > docs/config-reference.md";
}

TEST(ConfigReference, ListsEveryDeclaredOption) {
  const std::string page = config_reference_markdown();
  for (const SectionDef& section : all_sections()) {
    for (const OptionDef& option : section.options) {
      EXPECT_NE(page.find("| `" + std::string(option.key) + "` |"), std::string::npos)
          << option.key;
      EXPECT_FALSE(option.help.empty()) << option.key << " has no help text";
    }
  }
}

}  // namespace
}  // namespace tributary::config
