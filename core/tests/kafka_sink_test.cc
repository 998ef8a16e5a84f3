// The producer's settings as librdkafka holds them: the delivery contract's defaults, the
// configured ones, and pass-through properties. No broker is needed (none is reachable).

#include <gtest/gtest.h>

#include "config/config.h"
#include "core/kafka_sink.h"

namespace tributary {
namespace {

config::KafkaConfig load(const std::string& kafka_section) {
  const config::LoadResult r = config::load_config_text("node_id: t\n"
                                                        "buffer: {dir: /tmp/unused}\n"
                                                        "kafka:\n"
                                                        "  brokers: 127.0.0.1:1\n" +
                                                            kafka_section +
                                                            "sources:\n"
                                                            "  - {name: u, type: udp, listen: 127.0.0.1:0, topic: t}\n",
                                                        "kafka.yaml");
  EXPECT_TRUE(r.config.has_value()) << r.diagnostics.format();
  return r.config ? r.config->kafka : config::KafkaConfig{};
}

TEST(KafkaSinkConfig, DefaultsAreAcksAllIdempotentLz4AndJavaCompatiblePartitioning) {
  KafkaSink sink(load(""));
  ASSERT_TRUE(sink.start().is_ok());
  const auto c = sink.effective_config();
  EXPECT_EQ(c.at("enable.idempotence"), "true");
  EXPECT_EQ(c.at("request.required.acks"), "-1");  // acks=all
  EXPECT_EQ(c.at("compression.codec"), "lz4");
  EXPECT_EQ(c.at("queue.buffering.max.ms"), "5");  // linger.ms
  EXPECT_EQ(c.at("partitioner"), "murmur2_random");
  EXPECT_EQ(c.at("metadata.broker.list"), "127.0.0.1:1");  // bootstrap.servers
  EXPECT_LE(std::stoi(c.at("max.in.flight.requests.per.connection")), 5);
}

TEST(KafkaSinkConfig, ConfiguredCompressionLingerBatchAndPassedThroughPropertiesApply) {
  KafkaSink sink(load("  compression: zstd\n"
                      "  linger: 20ms\n"
                      "  batch_size: 262144\n"
                      "  properties:\n"
                      "    queue.buffering.max.kbytes: \"2048\"\n"));
  ASSERT_TRUE(sink.start().is_ok());
  const auto c = sink.effective_config();
  EXPECT_EQ(c.at("compression.codec"), "zstd");
  EXPECT_EQ(c.at("queue.buffering.max.ms"), "20");
  EXPECT_EQ(c.at("batch.size"), "262144");
  EXPECT_EQ(c.at("queue.buffering.max.kbytes"), "2048");
  EXPECT_EQ(c.at("enable.idempotence"), "true");  // whatever else is configured
  EXPECT_EQ(c.at("request.required.acks"), "-1");
}

}  // namespace
}  // namespace tributary
