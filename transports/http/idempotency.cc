#include "transports/http/idempotency.h"

namespace tributary::transports::http {

IdempotencyCache::IdempotencyCache(std::chrono::milliseconds window, std::size_t max_keys)
    : window_(window), max_keys_(max_keys == 0 ? 1 : max_keys) {}

void IdempotencyCache::expire(Clock::time_point now) {
  while (!order_.empty()) {
    const auto it = entries_.find(order_.front());
    if (it != entries_.end() && it->second.expires > now && entries_.size() <= max_keys_) return;
    if (it != entries_.end()) entries_.erase(it);
    order_.pop_front();
  }
}

IdempotencyCache::Begin IdempotencyCache::begin(const std::string& key, Answer* answer) {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  expire(now);
  if (const auto it = entries_.find(key); it != entries_.end()) {
    if (!it->second.done) return Begin::kInProgress;
    *answer = it->second.answer;
    return Begin::kRepeat;
  }
  order_.push_back(key);
  entries_.emplace(key, Entry{false, {}, now + window_, std::prev(order_.end())});
  expire(now);  // over max_keys: the oldest goes
  return Begin::kNew;
}

void IdempotencyCache::finish(const std::string& key, Answer answer) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;  // forgotten meanwhile (max_keys): a retry stores again
  it->second.done = true;
  it->second.answer = std::move(answer);
}

void IdempotencyCache::abandon(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.done) return;
  order_.erase(it->second.order);
  entries_.erase(it);
}

std::size_t IdempotencyCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace tributary::transports::http
