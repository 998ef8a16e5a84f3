// The Idempotency-Key cache on its own: the window, the max_keys bound, keys still being
// stored, and a key reused with another body. (Over real sockets: HttpIdempotency in
// http_intake_test.cc.)

#include "transports/http/idempotency.h"

#include <gtest/gtest.h>

#include <thread>

namespace tributary::transports::http {
namespace {

using namespace std::chrono_literals;
using Begin = IdempotencyCache::Begin;

IdempotencyCache::Digest digest(unsigned char b) {
  IdempotencyCache::Digest d{};
  d.fill(b);
  return d;
}

// Begins KEY with body digest B and, when it is new, finishes it with STATUS.
Begin use(IdempotencyCache& cache, const std::string& key, unsigned char b, int status = 202) {
  IdempotencyCache::Answer answer;
  std::uint64_t ticket = 0;
  const Begin begun = cache.begin(key, digest(b), &answer, &ticket);
  if (begun == Begin::kNew) cache.finish(key, ticket, {status, "first answer of " + key});
  return begun;
}

TEST(IdempotencyCache, ARepeatWithinTheWindowGetsTheFirstAnswerAndIsForgottenAfterIt) {
  IdempotencyCache cache(100ms, 100);
  EXPECT_EQ(use(cache, "k", 1), Begin::kNew);
  IdempotencyCache::Answer answer;
  std::uint64_t ticket = 0;
  EXPECT_EQ(cache.begin("k", digest(1), &answer, &ticket), Begin::kRepeat);
  EXPECT_EQ(answer.status, 202);
  EXPECT_EQ(answer.body, "first answer of k");
  EXPECT_EQ(cache.begin("k", digest(2), &answer, &ticket), Begin::kMismatch);  // another body
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(use(cache, "k", 1), Begin::kNew);  // the window is over: stored again
}

TEST(IdempotencyCache, AtMostMaxKeysAreKeptTheOldestGoFirst) {
  IdempotencyCache cache(1h, 2);
  EXPECT_EQ(use(cache, "a", 1), Begin::kNew);
  EXPECT_EQ(use(cache, "b", 1), Begin::kNew);
  EXPECT_EQ(use(cache, "c", 1), Begin::kNew);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(use(cache, "c", 1), Begin::kRepeat);
  EXPECT_EQ(use(cache, "b", 1), Begin::kRepeat);
  EXPECT_EQ(use(cache, "a", 1), Begin::kNew);  // forgotten for room: a retry is stored again
}

TEST(IdempotencyCache, AKeyStillBeingStoredIsNotForgottenForItsAgeAndAnAbandonedOneIsFree) {
  IdempotencyCache cache(20ms, 100);
  IdempotencyCache::Answer answer;
  std::uint64_t ticket = 0;
  ASSERT_EQ(cache.begin("slow", digest(1), &answer, &ticket), Begin::kNew);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(use(cache, "other", 1), Begin::kNew);  // runs the expiry
  std::uint64_t second = 0;
  EXPECT_EQ(cache.begin("slow", digest(1), &answer, &second), Begin::kInProgress);
  cache.abandon("slow", ticket);  // not stored (503): a retry may store it
  EXPECT_EQ(use(cache, "slow", 1), Begin::kNew);
}

}  // namespace
}  // namespace tributary::transports::http
