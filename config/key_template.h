#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::config {

// A parsed template such as "{remote_ip}/{header:X-Device-Id}". Parsing happens once, at
// config load; rendering (core/) walks the parts. "{{" and "}}" are literal braces.
// Immutable after parse: safe to share across threads.
class KeyTemplate {
 public:
  struct Part {
    bool variable = false;
    std::string text;  // literal text, or the variable name ("remote_ip", "header:X-Id")
  };

  // allowed: variable names; an entry ending in ':' admits "prefix:ARG" with a non-empty ARG.
  static std::optional<KeyTemplate> parse(std::string_view text,
                                          std::span<const std::string_view> allowed,
                                          std::string* error);

  const std::vector<Part>& parts() const { return parts_; }
  const std::string& text() const { return text_; }
  bool empty() const { return parts_.empty(); }
  // Whether it reads a field of a JSON body ({json:a.b}): only then is a document built.
  bool reads_json() const {
    for (const Part& part : parts_) {
      if (part.variable && part.text.starts_with("json:")) return true;
    }
    return false;
  }

 private:
  std::string text_;
  std::vector<Part> parts_;
};

}  // namespace tributary::config
