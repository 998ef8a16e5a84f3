#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tributary::transports::http {

// Remembers the answers to requests that carried an `Idempotency-Key`, so a client's retry
// of a request that was stored is answered again instead of being stored twice.
// Bounded: at most MAX_KEYS keys, each for WINDOW; the oldest go first (a key forgotten
// early only means a retry is stored again: at least once, never lost).
// Threads: any thread.
class IdempotencyCache {
 public:
  IdempotencyCache(std::chrono::milliseconds window, std::size_t max_keys);

  struct Answer {
    int status = 0;
    std::string body;
  };
  enum class Begin : std::uint8_t {
    kNew,         // not seen: the caller stores the request, then finish() or abandon()
    kRepeat,      // seen and stored: *answer is the first answer
    kInProgress,  // seen, still being stored
  };
  Begin begin(const std::string& key, Answer* answer);
  // The request under KEY was stored and answered with ANSWER.
  void finish(const std::string& key, Answer answer);
  // The request under KEY was not stored: a retry may store it.
  void abandon(const std::string& key);

  std::size_t size() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    bool done = false;
    Answer answer;
    Clock::time_point expires;
    std::list<std::string>::iterator order;
  };
  void expire(Clock::time_point now);

  const std::chrono::milliseconds window_;
  const std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // oldest first
};

}  // namespace tributary::transports::http
