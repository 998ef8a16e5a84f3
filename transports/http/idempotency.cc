#include "transports/http/idempotency.h"

namespace tributary::transports::http {

IdempotencyCache::IdempotencyCache(std::chrono::milliseconds window, std::size_t max_keys)
    : window_(window), max_keys_(max_keys == 0 ? 1 : max_keys) {}

void IdempotencyCache::expire(Clock::time_point now) {
  while (!order_.empty()) {
    const auto it = entries_.find(order_.front());
    if (it != entries_.end()) {
      const bool over = entries_.size() > max_keys_;
      const bool old = it->second.expires <= now && it->second.done;
      if (!over && !old) return;
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

IdempotencyCache::Begin IdempotencyCache::begin(const std::string& key, const Digest& request, Answer* answer,
                                                std::uint64_t* ticket) {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  expire(now);
  if (const auto it = entries_.find(key); it != entries_.end()) {
    if (it->second.request != request) return Begin::kMismatch;
    if (!it->second.done) return Begin::kInProgress;
    *answer = it->second.answer;
    return Begin::kRepeat;
  }
  order_.push_back(key);
  *ticket = next_ticket_++;
  entries_.emplace(key, Entry{false, request, *ticket, {}, now + window_, std::prev(order_.end())});
  expire(now);  // over max_keys: the oldest goes
  return Begin::kNew;
}

void IdempotencyCache::finish(const std::string& key, std::uint64_t ticket, Answer answer) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(key);
  // Forgotten meanwhile (max_keys), or the key is in use again: a retry stores again.
  if (it == entries_.end() || it->second.ticket != ticket) return;
  it->second.done = true;
  it->second.answer = std::move(answer);
  it->second.expires = Clock::now() + window_;
}

void IdempotencyCache::abandon(const std::string& key, std::uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.ticket != ticket || it->second.done) return;
  order_.erase(it->second.order);
  entries_.erase(it);
}

std::size_t IdempotencyCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace tributary::transports::http
