#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace tributary::log {

enum class Level : std::uint8_t { kDebug, kInfo, kWarn, kError };

void set_level(Level level);
bool enabled(Level level);
bool parse_level(std::string_view text, Level* level);

// One structured log line, written to stderr as key=value pairs when it goes out of scope:
//   ts=2026-11-22T17:00:00.123Z level=info msg=listening source=api address=127.0.0.1:8080
// Any thread may log; whole lines never interleave.
class Line {
 public:
  Line(Level level, std::string_view msg);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  template <class T>
    requires std::is_arithmetic_v<T>
  Line& kv(std::string_view key, T value) {
    if (on_) out_ << ' ' << key << '=' << +value;
    return *this;
  }

 private:
  bool on_;
  std::ostringstream out_;
};

inline Line debug(std::string_view msg) { return Line(Level::kDebug, msg); }
inline Line info(std::string_view msg) { return Line(Level::kInfo, msg); }
inline Line warn(std::string_view msg) { return Line(Level::kWarn, msg); }
inline Line error(std::string_view msg) { return Line(Level::kError, msg); }

}  // namespace tributary::log
