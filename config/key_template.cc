#include "config/key_template.h"

namespace tributary::config {
namespace {

bool is_allowed(std::string_view name, std::span<const std::string_view> allowed) {
  for (std::string_view a : allowed) {
    if (!a.empty() && a.back() == ':') {
      if (name.size() > a.size() && name.substr(0, a.size()) == a) return true;
    } else if (name == a) {
      return true;
    }
  }
  return false;
}

std::string list(std::span<const std::string_view> allowed) {
  std::string out;
  for (std::string_view a : allowed) {
    if (!out.empty()) out += ", ";
    out += "{" + std::string(a) + (a.back() == ':' ? "NAME}" : "}");
  }
  return out;
}

}  // namespace

std::optional<KeyTemplate> KeyTemplate::parse(std::string_view text,
                                               std::span<const std::string_view> allowed,
                                               std::string* error) {
  KeyTemplate out;
  out.text_ = std::string(text);
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal += c;
      ++i;
      continue;
    }
    if (c == '}') {
      *error = "unmatched '}' at offset " + std::to_string(i) + " (write '}}' for a literal brace)";
      return std::nullopt;
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) {
      *error = "unclosed '{' at offset " + std::to_string(i);
      return std::nullopt;
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    if (!is_allowed(name, allowed)) {
      *error = "unknown variable {" + std::string(name) + "}; known here: " + list(allowed);
      return std::nullopt;
    }
    if (!literal.empty()) out.parts_.push_back(Part{false, std::move(literal)});
    literal.clear();
    out.parts_.push_back(Part{true, std::string(name)});
    i = close;
  }
  if (!literal.empty()) out.parts_.push_back(Part{false, std::move(literal)});
  return out;
}

}  // namespace tributary::config
