#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tributary::transports::http {

// Remembers the answers to requests that carried an `Idempotency-Key`, so a client's retry
// of a request that was stored is answered again instead of being stored twice.
// A key is remembered with a digest of its request's body: the same key with another body
// is a client error, not a retry.
// Bounded: at most MAX_KEYS keys, each for WINDOW; the oldest finished ones go first (a key
// forgotten early only means a retry is stored again: at least once, never lost). A key
// still being stored is never forgotten for its age.
// Threads: any thread.
class IdempotencyCache {
 public:
  using Digest = std::array<unsigned char, 32>;

  IdempotencyCache(std::chrono::milliseconds window, std::size_t max_keys);

  struct Answer {
    int status = 0;
    std::string body;
  };
  enum class Begin : std::uint8_t {
    kNew,         // not seen: the caller stores the request, then finish() or abandon()
    kRepeat,      // seen and stored: *answer is the first answer
    kInProgress,  // seen, still being stored
    kMismatch,    // seen with another request body
  };
  // REQUEST: a digest of the request's body. With kNew, *TICKET identifies this use of
  // the key for finish() and abandon().
  Begin begin(const std::string& key, const Digest& request, Answer* answer, std::uint64_t* ticket);
  // The request under KEY (TICKET) was stored and answered with ANSWER.
  void finish(const std::string& key, std::uint64_t ticket, Answer answer);
  // The request under KEY (TICKET) was not stored: a retry may store it.
  void abandon(const std::string& key, std::uint64_t ticket);

  std::size_t size() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    bool done = false;
    Digest request{};
    std::uint64_t ticket = 0;
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
  std::uint64_t next_ticket_ = 1;
};

}  // namespace tributary::transports::http
