#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <string>
#include <mutex>

namespace tributary::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kKeyValue};
std::atomic<int> g_per_event_limit{10};
std::mutex g_write_mutex;

// limited(): lines written and suppressed in the current second, per message.
struct Window {
  std::int64_t second = 0;
  int written = 0;
  std::uint64_t suppressed = 0;
};
std::mutex g_limit_mutex;
std::map<std::string, Window, std::less<>> g_windows;

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms.count() % 1000));
  return std::string(buf, n) + frac;
}

void json_escape(std::ostringstream& out, std::string_view v) {
  out << '"';
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out << '\\' << c;
    } else if (c == '\n') {
      out << "\\n";
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out << buf;
    } else {
      out << c;  // UTF-8 passes through; invalid bytes are the caller's text, kept as-is
    }
  }
  out << '"';
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

}  // namespace

void set_level(Level level) { g_level.store(level, std::memory_order_relaxed); }
void set_format(Format format) { g_format.store(format, std::memory_order_relaxed); }
void set_per_event_limit(int lines_per_second) {
  g_per_event_limit.store(lines_per_second, std::memory_order_relaxed);
}

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level* level) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (level_name(l) == text) {
      *level = l;
      return true;
    }
  }
  return false;
}

Line::Line(Level level, std::string_view msg) : Line(level, msg, true) {}

Line::Line(Level level, std::string_view msg, bool on) : on_(on && enabled(level)) {
  if (!on_) return;
  json_ = g_format.load(std::memory_order_relaxed) == Format::kJson;
  if (json_) {
    out_ << "{\"ts\":\"" << timestamp() << "\",\"level\":\"" << level_name(level) << '"';
  } else {
    out_ << "ts=" << timestamp() << " level=" << level_name(level);
  }
  kv("msg", msg);
}

Line limited(Level level, std::string_view msg) {
  if (!enabled(level)) return Line(level, msg, false);
  const int limit = g_per_event_limit.load(std::memory_order_relaxed);
  if (limit <= 0) return Line(level, msg);
  const std::int64_t second = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::steady_clock::now().time_since_epoch())
                                  .count();
  std::uint64_t suppressed = 0;
  bool on = false;
  {
    std::lock_guard<std::mutex> lock(g_limit_mutex);
    auto it = g_windows.find(msg);
    if (it == g_windows.end()) it = g_windows.emplace(std::string(msg), Window{}).first;
    Window& w = it->second;
    if (w.second != second) {
      suppressed = w.suppressed;
      w = Window{second, 0, 0};
    }
    on = w.written < limit;
    if (on) {
      ++w.written;
    } else {
      ++w.suppressed;
    }
  }
  if (suppressed > 0) {
    Line(Level::kWarn, "log lines suppressed").kv("kind", msg).kv("suppressed", suppressed).kv("per_second", limit);
  }
  return Line(level, msg, on);
}

Line& Line::kv(std::string_view key, std::string_view value) {
  if (!on_) return *this;
  if (json_) {
    out_ << ',';
    json_escape(out_, key);
    out_ << ':';
    json_escape(out_, value);
    return *this;
  }
  out_ << ' ' << key << '=';
  if (!needs_quotes(value)) {
    out_ << value;
    return *this;
  }
  out_ << '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out_ << '\\' << c;
    } else if (c == '\n') {
      out_ << "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out_ << '?';
    } else {
      out_ << c;
    }
  }
  out_ << '"';
  return *this;
}

Line::~Line() {
  if (!on_) return;
  if (json_) out_ << '}';
  out_ << '\n';
  const std::string text = out_.str();
  std::lock_guard<std::mutex> lock(g_write_mutex);
  // One write per line so lines from several threads or processes never interleave.
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace tributary::log
