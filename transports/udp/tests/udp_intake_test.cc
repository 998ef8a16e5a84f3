// UdpIntake in-process over a real loopback socket, with a sink that records what it is
// offered. Runs under TSan (no librdkafka threads).

#include "transports/udp/udp_intake.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "core/io_context_pool.h"
#include "tests/support/net_client.h"
#include "tests/support/test_env.h"

namespace tributary::transports::udp {
namespace {

class RecordingSink final : public Sink {
 public:
  Offer offer(Event&& event, Completion done) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (busy_) return Offer::kBusy;
    events_.push_back(std::move(event));
    done(Status::ok(), Delivery{});
    return Offer::kAccepted;
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
  std::vector<Event> events_;
};

config::SourceConfig source() {
  config::SourceConfig s;
  s.name = "meters";
  s.type = "udp";
  s.listen = config::HostPort{"127.0.0.1", 0};
  config::UdpSourceConfig udp;
  udp.topic = "t.meters";
  udp.max_datagram = 100;
  static constexpr std::array<std::string_view, 1> kVars = {"remote_ip"};
  std::string why;
  udp.key = *config::KeyTemplate::parse("{remote_ip}", kVars, &why);
  s.settings = udp;
  return s;
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
  UdpIntake intake_{config_, sink_, stamper_, pool_.at(0)};
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

}  // namespace
}  // namespace tributary::transports::udp
