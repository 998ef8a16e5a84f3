#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace tributary::log {

enum class Level : std::uint8_t { kDebug, kInfo, kWarn, kError };
enum class Format : std::uint8_t { kKeyValue, kJson };

void set_level(Level level);
bool enabled(Level level);
bool parse_level(std::string_view text, Level* level);
void set_format(Format format);
// Lines per second allowed for each kind of per-event problem (see limited()); 0: no limit.
void set_per_event_limit(int lines_per_second);

// One structured log line, written to stderr when it goes out of scope, as key=value pairs
//   ts=2026-11-22T17:00:00.123Z level=info msg=listening source=api address=127.0.0.1:8080
// or, with Format::kJson, as one JSON object:
//   {"ts":"2026-11-22T17:00:00.123Z","level":"info","msg":"listening","source":"api",...}
// Any thread may log; whole lines never interleave.
class Line {
 public:
  Line(Level level, std::string_view msg);
  // A line that is written only if ON (and the level is enabled).
  Line(Level level, std::string_view msg, bool on);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  template <class T>
    requires std::is_arithmetic_v<T>
  Line& kv(std::string_view key, T value) {
    if (!on_) return *this;
    if (json_) {
      out_ << ",\"" << key << "\":";
      if constexpr (std::is_same_v<T, bool>) {
        out_ << (value ? "true" : "false");
      } else {
        out_ << +value;
      }
    } else {
      out_ << ' ' << key << '=' << +value;
    }
    return *this;
  }

 private:
  bool on_;
  bool json_ = false;
  std::ostringstream out_;
};

inline Line debug(std::string_view msg) { return Line(Level::kDebug, msg); }
inline Line info(std::string_view msg) { return Line(Level::kInfo, msg); }
inline Line warn(std::string_view msg) { return Line(Level::kWarn, msg); }
inline Line error(std::string_view msg) { return Line(Level::kError, msg); }

// For problems that can happen once per event (a malformed datagram, a refused record):
// at most the per-event limit of lines per second for each MSG; the lines over it are
// counted and reported once the second is over (msg="log lines suppressed").
Line limited(Level level, std::string_view msg);

}  // namespace tributary::log
