#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

namespace tributary::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::mutex g_write_mutex;

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

Line::Line(Level level, std::string_view msg) : on_(enabled(level)) {
  if (!on_) return;
  out_ << "ts=" << timestamp() << " level=" << level_name(level);
  kv("msg", msg);
}

Line& Line::kv(std::string_view key, std::string_view value) {
  if (!on_) return *this;
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
