// UdpIntake in-process over a real loopback socket, with a sink that records what it is
// offered. Runs under TSan (no librdkafka threads).

#include "transports/udp/udp_intake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include <mutex>
#include <set>
#include <thread>
#include <future>
#include <vector>

#include "core/io_context_pool.h"
#include "firmware-bridge/tests/frame_test_util.h"
#include "tests/support/net_client.h"
#include "tests/support/test_env.h"

namespace tributary::transports::udp {
namespace {

class RecordingSink final : public Sink {
 public:
  Offer offer(Event&& event, Completion done) override {
    std::vector<Event> one;
    one.push_back(std::move(event));
    return offer_many(std::move(one), std::move(done));
  }
  Offer offer_many(std::vector<Event>&& events, Completion done) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (busy_) return Offer::kBusy;
    for (Event& e : events) events_.push_back(std::move(e));
    ++groups_;
    done(Status::ok(), Delivery{});
    return Offer::kAccepted;
  }
  int groups() {
    std::lock_guard<std::mutex> lock(mu_);
    return groups_;
  }
  std::vector<Event> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  void set_busy(bool busy) {
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = busy;
  }

 private:
  std::mutex mu_;
  bool busy_ = false;
  int groups_ = 0;
  std::vector<Event> events_;
};

config::SourceConfig source(const std::string& format = "raw", const std::string& key = "{remote_ip}",
                            int threads = 1, const std::string& allow = "",
                            const std::string& dead_letter_topic = "") {
  config::SourceConfig s;
  s.name = "meters";
  s.type = "udp";
  s.listen = config::HostPort{"127.0.0.1", 0};
  config::UdpSourceConfig udp;
  udp.topic = "t.meters";
  udp.max_datagram = format == "frame" ? 1024 : 100;
  udp.format = format;
  udp.threads = threads;
  udp.batch = 8;
  udp.receive_buffer = 64 * 1024;
  static constexpr std::array<std::string_view, 4> kVars = {"remote_ip", "remote_port", "json:", "device_id"};
  std::string why;
  udp.key = *config::KeyTemplate::parse(key, kVars, &why);
  udp.allow = *config::parse_networks(allow, &why);
  udp.dead_letter_topic = dead_letter_topic;
  s.settings = udp;
  return s;
}

// The intake hands the sink encoded envelopes; the recording sink sees them decoded, so the
// content type is the stamped header.
std::string header(const Event& e, std::string_view name) {
  for (const Header& h : e.headers) {
    if (h.name == name) return h.value;
  }
  return "<none>";
}

class UdpIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_.start();
    ASSERT_TRUE(intake_.start().is_ok());
    ASSERT_NE(intake_.local_port(), 0);
  }
  void TearDown() override {
    intake_.stop();
    pool_.shutdown();
  }
  void send(const std::vector<std::string>& payloads) {
    testing::send_datagrams("127.0.0.1", intake_.local_port(), payloads);
  }

  config::SourceConfig config_ = source();
  RecordingSink sink_;
  Stamper stamper_{"node"};
  IoContextPool pool_{1};
  UdpIntake intake_{config_, sink_, stamper_, pool_};
};

// An intake of its own config, started and stopped by the test.
class UdpFormatTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (intake_) intake_->stop();
    pool_.shutdown();
  }
  void start(const config::SourceConfig& config) {
    config_ = config;
    intake_ = std::make_unique<UdpIntake>(config_, sink_, stamper_, pool_);
    pool_.start();
    ASSERT_TRUE(intake_->start().is_ok());
  }
  // Holds every io thread while COUNT 90-byte datagrams are sent, so the small receive
  // buffer (64 KiB) overflows; the datagrams sent.
  std::vector<std::string> overflow(std::size_t count) {
    bool held = false;
    std::promise<void> release = hold_io_threads(&held);
    std::vector<std::string> burst(count, std::string(90, 'x'));
    if (held) testing::send_datagrams("127.0.0.1", intake_->local_port(), burst);
    release.set_value();
    EXPECT_TRUE(held) << "the io threads could not be held";
    return burst;
  }

  // Makes every io thread wait in a handler until the promise returned is set; *HELD says
  // whether all of them got there.
  std::promise<void> hold_io_threads(bool* held) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    // Shared, not on this stack: a handler may still run after this function returns.
    auto holding = std::make_shared<std::atomic<std::size_t>>(0);
    for (std::size_t i = 0; i < pool_.size(); ++i) {
      boost::asio::post(pool_.at(i), [released, holding] {
        holding->fetch_add(1);
        released.wait();
      });
    }
    *held = testing::eventually([&] { return holding->load() == pool_.size(); }, std::chrono::seconds(5));
    return release;
  }

  void send(const std::vector<std::string>& payloads) {
    testing::send_datagrams("127.0.0.1", intake_->local_port(), payloads);
  }
  // Every datagram sent is read or counted under a reason.
  bool all_accounted(std::uint64_t sent) {
    return testing::eventually([&] { return intake_->counters().received.load() == sent; },
                               std::chrono::seconds(10));
  }

  config::SourceConfig config_;
  RecordingSink sink_;
  Stamper stamper_{"node"};
  IoContextPool pool_{2};
  std::unique_ptr<UdpIntake> intake_;
};

TEST_F(UdpIntakeTest, EachDatagramIsOneStampedEvent) {
  send({"a", "bb", "ccc"});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 3; },
                                  std::chrono::seconds(10)));
  const auto events = sink_.events();
  EXPECT_EQ(events[0].payload, "a");
  EXPECT_EQ(events[2].payload, "ccc");
  EXPECT_EQ(events[0].key, "127.0.0.1");
  EXPECT_EQ(events[0].topic, "t.meters");
  EXPECT_TRUE(events[0].id.empty());  // the id comes with the ring's sequence number
  EXPECT_FALSE(events[0].headers.empty());
  EXPECT_EQ(intake_.counters().delivered.load(), 3u);
}

TEST_F(UdpIntakeTest, OversizedAndBusyDropsAreCountedByReason) {
  send({std::string(101, 'x'), std::string(100, 'y')});
  const UdpCounters& c = intake_.counters();
  ASSERT_TRUE(testing::eventually(
      [&] { return c.dropped_oversize.load() + c.accepted.load() == 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(intake_.counters().dropped_oversize.load(), 1u);
  EXPECT_EQ(sink_.events().size(), 1u);
  sink_.set_busy(true);
  send({"z"});
  ASSERT_TRUE(testing::eventually([&] { return intake_.counters().dropped_busy.load() == 1; },
                                  std::chrono::seconds(10)));
  EXPECT_EQ(sink_.events().size(), 1u);
}

TEST_F(UdpFormatTest, JsonDatagramsAreValidatedAndKeyedByAField) {
  start(source("json", "{json:meta.device}"));
  send({R"({"meta":{"device":"pump-7"},"t":21.5})", "{not json", R"({"meta":{"device":12}})"});
  ASSERT_TRUE(all_accounted(3));
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 2; }, std::chrono::seconds(10)));
  const auto events = sink_.events();
  EXPECT_EQ(events[0].key, "pump-7");
  EXPECT_EQ(events[1].key, "12");  // not a string: its JSON text
  EXPECT_EQ(header(events[0], "content-type"), "application/json");
  EXPECT_EQ(intake_->counters().dropped_malformed.load(), 1u);
}

TEST_F(UdpFormatTest, NdjsonIsOneEventPerLineTakenWholeOrNotAtAll) {
  start(source("ndjson", "{json:id}"));
  send({"{\"id\":\"a\"}\n{\"id\":\"b\"}\r\n\n{\"id\":\"c\"}\n"});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 3; }, std::chrono::seconds(10)));
  EXPECT_EQ(sink_.groups(), 1);  // one offer for the three: all or none
  // One bad line: the whole datagram is dropped, none of its lines taken.
  send({"{\"id\":\"d\"}\n{\"id\":\n{\"id\":\"f\"}"});
  ASSERT_TRUE(all_accounted(2));
  ASSERT_TRUE(testing::eventually([&] { return intake_->counters().dropped_malformed.load() == 1; },
                                  std::chrono::seconds(10)));
  // The ring full: the whole datagram is refused, counted once.
  sink_.set_busy(true);
  send({"{\"id\":\"g\"}\n{\"id\":\"h\"}"});
  ASSERT_TRUE(testing::eventually([&] { return intake_->counters().dropped_busy.load() == 1; },
                                  std::chrono::seconds(10)));
  const auto events = sink_.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].key, "c");
  EXPECT_EQ(intake_->counters().accepted.load(), 3u);
}

TEST_F(UdpFormatTest, EachSendersEventsHaveThatSendersKeyAndAReloadedTemplateApplies) {
  start(source("raw", "{remote_ip}:{remote_port}"));
  // Each call sends from a socket (and port) of its own: the key follows the sender.
  for (int i = 0; i < 3; ++i) send({"a" + std::to_string(i), "b" + std::to_string(i)});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 6; }, std::chrono::seconds(10)));
  std::set<std::string> keys;
  for (const Event& e : sink_.events()) {
    ASSERT_TRUE(e.key.has_value());
    EXPECT_EQ(*e.key, header(e, "tributary_remote")) << e.payload;
    keys.insert(*e.key);
  }
  EXPECT_EQ(keys.size(), 3u);
  intake_->reconfigure(source("raw", "r-{remote_ip}"));
  send({"after-reload"});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 7; }, std::chrono::seconds(10)));
  EXPECT_EQ(sink_.events().back().key, "r-127.0.0.1");
}

TEST_F(UdpFormatTest, SendersOutsideTheAllowListAreDroppedAndCounted) {
  start(source("raw", "{remote_ip}", 1, "10.0.0.0/8, ::1"));
  send({"from-loopback"});
  ASSERT_TRUE(all_accounted(1));
  ASSERT_TRUE(testing::eventually([&] { return intake_->counters().dropped_not_allowed.load() == 1; },
                                  std::chrono::seconds(10)));
  EXPECT_TRUE(sink_.events().empty());
}

TEST_F(UdpFormatTest, TwoSocketsShareThePortAndEveryDatagramIsTaken) {
  start(source("raw", "{remote_ip}", 2));
  // Many senders (a new source port each call), so the kernel spreads them over both sockets.
  for (int i = 0; i < 40; ++i) send({"d" + std::to_string(i)});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 40; }, std::chrono::seconds(10)));
  EXPECT_EQ(intake_->counters().received.load(), 40u);
}

TEST_F(UdpFormatTest, DatagramsTheKernelDroppedAreCountedSoNoneIsUnexplained) {
  start(source("raw", "{remote_ip}"));
  const std::vector<std::string> burst = overflow(3000);
  // The drop count rides on the next datagram read after the drops.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  send({"after"});
  const UdpCounters& c = intake_->counters();
  ASSERT_TRUE(testing::eventually(
      [&] { return c.received.load() + c.dropped_kernel.load() == burst.size() + 1; },
      std::chrono::seconds(10)))
      << "received " << c.received.load() << ", dropped by the kernel " << c.dropped_kernel.load();
  EXPECT_GT(c.dropped_kernel.load(), 0u) << "the burst did not overflow the buffer";
}

// The metrics read the kernel's drop count directly, so drops at the very end of a burst,
// with no datagram after them to carry the count, are still accounted for.
TEST_F(UdpFormatTest, KernelDropsAtTheEndOfABurstAreInTheMetricsWithoutALaterDatagram) {
  start(source("raw", "{remote_ip}"));
  const std::vector<std::string> burst = overflow(3000);
  const auto kernel_drops = [&] {
    metrics::Scrape scrape;
    intake_->collect(scrape);
    for (const auto& family : scrape.take()) {
      if (family.name != "tributary_source_dropped_events_total") continue;
      for (const auto& m : family.metric) {
        for (const auto& label : m.label) {
          if (label.name == "reason" && label.value == "kernel_overflow") return m.counter.value;
        }
      }
    }
    return -1.0;
  };
  const UdpCounters& c = intake_->counters();
  ASSERT_TRUE(testing::eventually(
      [&] { return static_cast<double>(c.received.load()) + kernel_drops() == static_cast<double>(burst.size()); },
      std::chrono::seconds(10)))
      << "received " << c.received.load() << ", dropped by the kernel (metrics) " << kernel_drops();
  EXPECT_GT(kernel_drops(), 0) << "the burst did not overflow the buffer";
}

TEST_F(UdpFormatTest, MalformedDatagramsGoToTheDeadLetterTopicWithTheReasonWhenOneIsSet) {
  start(source("json", "{json:id}", 1, "", "t.meters.dead"));
  send({"{\"id\":\"ok\"}", "{broken"});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 2; }, std::chrono::seconds(10)));
  const auto events = sink_.events();
  const Event& good = events[0].topic == "t.meters" ? events[0] : events[1];
  const Event& dead = events[0].topic == "t.meters" ? events[1] : events[0];
  EXPECT_EQ(good.key, "ok");
  EXPECT_EQ(dead.topic, "t.meters.dead");
  EXPECT_EQ(dead.payload, "{broken");
  EXPECT_FALSE(dead.key.has_value());
  std::string reason;
  for (const Header& h : dead.headers) {
    if (h.name == "tributary_dlq_reason") reason = h.value;
  }
  EXPECT_THAT(reason, ::testing::StartsWith("not valid JSON: line 1, column 2: syntax error"));
  EXPECT_EQ(intake_->counters().dead_lettered.load(), 1u);
  EXPECT_EQ(intake_->counters().dropped_malformed.load(), 0u);
}

// A device frame as firmware would send it.
std::string frame(const char* device, std::uint32_t boot, std::uint32_t sequence,
                  const std::string& payload = "p") {
  firmware::FrameIn in;
  in.device_id = device;
  in.boot_id = boot;
  in.sequence = sequence;
  in.device_time_ms = 1795305600123;
  in.content_type = "text/plain";
  in.payload = reinterpret_cast<const std::uint8_t*>(payload.data());
  in.payload_size = payload.size();
  return firmware::testing::encode(in);
}

TEST_F(UdpFormatTest, FramesAreKeyedByDeviceSequenceTrackedAndExactDuplicatesDropped) {
  start(source("frame", ""));
  send({frame("m-1", 1, 0, "a"), frame("m-1", 1, 1, "b"), frame("m-1", 1, 1, "b"),  // a duplicate
        frame("m-1", 1, 3, "d"),                                                   // 2 is missing
        frame("m-2", 1, 0, "x"), frame("m-1", 2, 0, "rebooted")});                 // a new boot id
  ASSERT_TRUE(all_accounted(6));
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 5; }, std::chrono::seconds(10)));
  const auto events = sink_.events();
  std::vector<std::string> payloads;
  for (const Event& e : events) payloads.push_back(e.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"a", "b", "d", "x", "rebooted"}));
  EXPECT_EQ(events[0].key, "m-1");
  EXPECT_EQ(events[3].key, "m-2");
  EXPECT_EQ(header(events[0], "content-type"), "text/plain");
  EXPECT_EQ(header(events[2], "tributary_sequence"), "3");
  EXPECT_EQ(header(events[4], "tributary_boot_id"), "2");
  EXPECT_EQ(header(events[0], "tributary_device_id"), "m-1");
  EXPECT_EQ(header(events[0], "tributary_device_time"), "2026-11-22T00:00:00.123Z");
  EXPECT_EQ(intake_->counters().dropped_duplicate.load(), 1u);
  const firmware::SequenceCounters* q = intake_->sequence_counters();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->devices.load(), 2u);
  EXPECT_EQ(q->gaps.load(), 1u);
  EXPECT_EQ(q->duplicates.load(), 1u);
  EXPECT_EQ(q->reboots.load(), 1u);
}

TEST_F(UdpFormatTest, FrameReadingsBecomeJsonOrStayTheFrameAsConfigured) {
  config::SourceConfig config = source("frame", "site-{device_id}");
  std::get<config::UdpSourceConfig>(config.settings).readings = "frame";
  start(config);
  firmware::ReadingIn r;
  r.name = "temperature";
  r.value = 21.5;
  firmware::FrameIn in;
  in.device_id = "m-9";
  in.readings = &r;
  in.reading_count = 1;
  const std::string bytes = firmware::testing::encode(in);
  send({bytes});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 1; }, std::chrono::seconds(10)));
  const Event e = sink_.events()[0];
  EXPECT_EQ(e.key, "site-m-9");
  EXPECT_EQ(e.payload, bytes);
  EXPECT_EQ(header(e, "content-type"), "application/x-tributary-frame");
}

TEST_F(UdpFormatTest, FrameReadingsAsJsonByDefault) {
  start(source("frame", ""));
  firmware::ReadingIn r;
  r.name = "temperature";
  r.value = 21.5;
  r.unit = "C";
  firmware::FrameIn in;
  in.device_id = "m-9";
  in.sequence = 4;
  in.readings = &r;
  in.reading_count = 1;
  send({firmware::testing::encode(in)});
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 1; }, std::chrono::seconds(10)));
  const Event e = sink_.events()[0];
  EXPECT_EQ(e.payload,
            R"({"device_id":"m-9","boot_id":0,"sequence":4,"readings":[{"name":"temperature","value":21.5,"unit":"C"}]})");
  EXPECT_EQ(header(e, "content-type"), "application/json");
  EXPECT_EQ(header(e, "tributary_device_time"), "<none>");  // the device sent no time
}

TEST_F(UdpFormatTest, TruncatedAndHostileFramesAreMalformedAndNeverTaken) {
  start(source("frame", "", 1, "", "t.meters.dead"));
  const std::string good = frame("m-1", 1, 0);
  std::string flipped = good;
  flipped[0] = static_cast<char>(0x7F);  // the root offset points outside the datagram
  send({good.substr(0, good.size() / 2), flipped, "{\"json\":1}", good});
  ASSERT_TRUE(all_accounted(4));
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 4; }, std::chrono::seconds(10)))
      << sink_.events().size() << " events, " << intake_->counters().dropped_malformed.load() << " malformed";
  const auto events = sink_.events();
  int dead = 0;
  for (const Event& e : events) {
    if (e.topic == "t.meters.dead") {
      ++dead;
      EXPECT_NE(header(e, "tributary_dlq_reason"), "<none>");
    }
  }
  EXPECT_EQ(dead, 3);
  EXPECT_EQ(intake_->counters().dead_lettered.load(), 3u);
  EXPECT_EQ(intake_->sequence_counters()->devices.load(), 1u);  // only the good frame was tracked
}

// Datagrams the kernel coalesced (UDP_GRO: here from one GSO send) are split again: each is
// one event, checked on its own, counted once.
TEST_F(UdpFormatTest, CoalescedDatagramsAreSplitIntoOneEventEachAndCheckedOnTheirOwn) {
  config::SourceConfig config = source("json", "{json:d}");
  std::get<config::UdpSourceConfig>(config.settings).gro = true;
  start(config);
  std::vector<std::string> datagrams;
  for (int i = 0; i < 10; ++i) datagrams.push_back("{\"d\":\"n" + std::to_string(i) + "\"}");
  datagrams[4] = "{\"d\":\"n4\"!";        // same length, not JSON
  datagrams.push_back("{\"d\":1}");         // the last one shorter
  ASSERT_TRUE(testing::send_coalesced("127.0.0.1", intake_->local_port(), datagrams));
  ASSERT_TRUE(all_accounted(11));
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 10; }, std::chrono::seconds(10)));
  const auto events = sink_.events();
  std::vector<std::string> expected = datagrams;
  expected.erase(expected.begin() + 4);
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].payload, expected[i]);
  EXPECT_EQ(events[0].key, "n0");
  EXPECT_EQ(events[9].key, "1");
  const UdpCounters& c = intake_->counters();
  EXPECT_EQ(c.dropped_malformed.load(), 1u);
  // Counted once the sink has taken them: a moment after the sink saw them.
  EXPECT_TRUE(testing::eventually([&] { return c.accepted.load() == 10u; }, std::chrono::seconds(10)))
      << c.accepted.load();
  EXPECT_GE(c.coalesced.load(), 1u) << "the kernel handed the datagrams over one by one";
}

TEST_F(UdpFormatTest, CoalescedFramesAtUnalignedOffsetsAreDecoded) {
  config::SourceConfig config = source("frame", "");
  std::get<config::UdpSourceConfig>(config.settings).gro = true;
  start(config);
  // The encoder pads a frame to a multiple of 8 bytes; four bytes more after it (ignored by
  // the decoder) make every other frame of the coalesced message start at an address that
  // is not a multiple of 8 (the intake copies such a frame to an aligned place first: x86
  // reads its 64-bit fields anywhere, not every CPU a gateway may have does).
  std::vector<std::string> frames;
  for (std::uint32_t i = 0; i < 6; ++i) frames.push_back(frame("m-1", 1, i) + std::string(4, '\0'));
  ASSERT_EQ(frames[0].size() % 8, 4u);
  ASSERT_TRUE(testing::send_coalesced("127.0.0.1", intake_->local_port(), frames));
  ASSERT_TRUE(all_accounted(6));
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 6; }, std::chrono::seconds(10)))
      << "malformed: " << intake_->counters().dropped_malformed.load();
  EXPECT_EQ(header(sink_.events()[5], "tributary_sequence"), "5");
  EXPECT_GE(intake_->counters().coalesced.load(), 1u);
}

TEST_F(UdpFormatTest, ByDefaultCoalescedSendsArriveOneByOne) {
  start(source("raw"));
  const std::vector<std::string> datagrams = {"aaaa", "bbbb", "cccc", "dd"};
  ASSERT_TRUE(testing::send_coalesced("127.0.0.1", intake_->local_port(), datagrams));
  ASSERT_TRUE(all_accounted(4));
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 4; }, std::chrono::seconds(10)));
  EXPECT_EQ(sink_.events()[3].payload, "dd");
  EXPECT_EQ(intake_->counters().coalesced.load(), 0u);
}

// Datagrams the kernel queued for the socket before the intake stops are read and taken,
// not lost with the socket: the io thread is held while they arrive and while stop() is
// asked, so the stop runs before the read the socket's readiness would have started.
TEST_F(UdpFormatTest, DatagramsQueuedWhenTheIntakeStopsAreTakenNotLost) {
  start(source("raw"));
  bool held = false;
  std::promise<void> release = hold_io_threads(&held);
  if (!held) release.set_value();
  ASSERT_TRUE(held) << "the io threads could not be held";
  std::vector<std::string> queued;
  for (int i = 0; i < 50; ++i) queued.push_back("q" + std::to_string(i));
  testing::send_datagrams("127.0.0.1", intake_->local_port(), queued);
  std::thread stopper([this] { intake_->stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the stop is asked for
  release.set_value();
  stopper.join();
  const UdpCounters& c = intake_->counters();
  EXPECT_EQ(c.received.load() + c.dropped_kernel.load(), 50u);
  EXPECT_EQ(c.accepted.load(), c.received.load());
  EXPECT_EQ(sink_.events().size(), c.accepted.load());
  EXPECT_EQ(c.received.load(), 50u) << "the queued datagrams were dropped with the socket";
}

TEST_F(UdpFormatTest, AFrameDroppedWhileTheRingIsFullIsTakenWhenSentAgain) {
  start(source("frame", ""));
  sink_.set_busy(true);
  send({frame("m-1", 1, 7)});
  ASSERT_TRUE(testing::eventually([&] { return intake_->counters().dropped_busy.load() == 1; },
                                  std::chrono::seconds(10)));
  sink_.set_busy(false);
  send({frame("m-1", 1, 7)});  // not a duplicate: the first copy was never stored
  ASSERT_TRUE(testing::eventually([&] { return sink_.events().size() == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(intake_->counters().dropped_duplicate.load(), 0u);
}

}  // namespace
}  // namespace tributary::transports::udp
