#include "firmware-bridge/sequence_tracker.h"

#include <gtest/gtest.h>

#include <thread>

namespace tributary::firmware {
namespace {

TEST(SequenceTracker, InOrderFramesAreAllNewWithNothingCounted) {
  SequenceTracker t(64, 100);
  for (std::uint32_t s = 0; s < 1000; ++s) EXPECT_TRUE(t.observe("d", 1, s));
  const auto& c = t.counters();
  EXPECT_EQ(c.devices, 1u);
  EXPECT_EQ(c.gaps + c.duplicates + c.reordered + c.late + c.reboots, 0u);
}

TEST(SequenceTracker, CountsGapsAndDropsExactDuplicates) {
  SequenceTracker t(64, 100);
  EXPECT_TRUE(t.observe("d", 1, 10));
  EXPECT_TRUE(t.observe("d", 1, 11));
  EXPECT_FALSE(t.observe("d", 1, 11));  // the same frame again
  EXPECT_TRUE(t.observe("d", 1, 15));   // 12, 13, 14 missing
  EXPECT_FALSE(t.observe("d", 1, 10));  // an older duplicate, still in the window
  EXPECT_EQ(t.counters().gaps, 3u);
  EXPECT_EQ(t.counters().duplicates, 2u);
}

TEST(SequenceTracker, AReorderedFrameIsTakenOnceAndCounted) {
  SequenceTracker t(64, 100);
  EXPECT_TRUE(t.observe("d", 1, 1));
  EXPECT_TRUE(t.observe("d", 1, 3));
  EXPECT_TRUE(t.observe("d", 1, 2));   // late but new
  EXPECT_FALSE(t.observe("d", 1, 2));  // and then a duplicate of it
  EXPECT_EQ(t.counters().reordered, 1u);
  EXPECT_EQ(t.counters().duplicates, 1u);
  EXPECT_EQ(t.counters().gaps, 1u);
}

TEST(SequenceTracker, OlderThanTheWindowIsTakenAsLate) {
  SequenceTracker t(64, 100);
  EXPECT_TRUE(t.observe("d", 1, 0));
  EXPECT_TRUE(t.observe("d", 1, 100));
  EXPECT_TRUE(t.observe("d", 1, 0));  // 100 behind: cannot be told from a duplicate, taken
  EXPECT_EQ(t.counters().late, 1u);
  EXPECT_EQ(t.counters().duplicates, 0u);
}

TEST(SequenceTracker, ANewBootIdStartsOverAndLateFramesOfTheOldBootAreTaken) {
  SequenceTracker t(64, 100);
  for (std::uint32_t s = 0; s < 50; ++s) EXPECT_TRUE(t.observe("d", 7, s));
  EXPECT_TRUE(t.observe("d", 8, 0));  // rebooted: 0 again is not a duplicate
  EXPECT_TRUE(t.observe("d", 8, 1));
  EXPECT_EQ(t.counters().reboots, 1u);
  EXPECT_TRUE(t.observe("d", 7, 50));  // a straggler from before the reboot
  EXPECT_EQ(t.counters().late, 1u);
  EXPECT_EQ(t.counters().reboots, 1u);
  EXPECT_FALSE(t.observe("d", 8, 1));
}

TEST(SequenceTracker, WrappingAt2To32IsNotAGapOrAReboot) {
  SequenceTracker t(64, 100);
  EXPECT_TRUE(t.observe("d", 1, 0xFFFFFFFEu));
  EXPECT_TRUE(t.observe("d", 1, 0xFFFFFFFFu));
  EXPECT_TRUE(t.observe("d", 1, 0));
  EXPECT_TRUE(t.observe("d", 1, 1));
  EXPECT_FALSE(t.observe("d", 1, 0xFFFFFFFFu));
  const auto& c = t.counters();
  EXPECT_EQ(c.gaps + c.late + c.reboots + c.reordered, 0u);
  EXPECT_EQ(c.duplicates, 1u);
}

TEST(SequenceTracker, DevicesAreTrackedApart) {
  SequenceTracker t(64, 100);
  EXPECT_TRUE(t.observe("a", 1, 5));
  EXPECT_TRUE(t.observe("b", 1, 5));
  EXPECT_FALSE(t.observe("a", 1, 5));
  EXPECT_EQ(t.counters().devices, 2u);
}

TEST(SequenceTracker, StaysWithinMaxDevicesForgettingTheLeastRecentlyHeard) {
  SequenceTracker t(64, 16);  // one device per shard
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(t.observe("device-" + std::to_string(i), 1, 0));
  EXPECT_EQ(t.counters().devices, 1000u);
  EXPECT_GE(t.counters().evicted, 1000u - 16u);
}

TEST(SequenceTracker, ForgetLetsAFrameThatWasNotStoredComeAgain) {
  SequenceTracker t(64, 100);
  EXPECT_TRUE(t.observe("d", 1, 1));
  EXPECT_TRUE(t.observe("d", 1, 2));
  t.forget("d", 1, 2);  // the ring was full: frame 2 was dropped
  EXPECT_TRUE(t.observe("d", 1, 2));
  EXPECT_FALSE(t.observe("d", 1, 2));
}

TEST(SequenceTracker, ConcurrentObserversAgreeOnWhatIsNew) {
  SequenceTracker t(65536, 1000);  // wider than any lead one thread can take
  std::atomic<int> taken{0};
  auto run = [&] {
    for (std::uint32_t s = 0; s < 20000; ++s) {
      if (t.observe("dev-" + std::to_string(s % 8), 1, s / 8)) ++taken;
    }
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  EXPECT_EQ(taken.load(), 20000);  // each (device, sequence) once, the other copy dropped
  EXPECT_EQ(t.counters().duplicates, 20000u);
}

}  // namespace
}  // namespace tributary::firmware
