#include "firmware-bridge/frame_decoder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <random>

#include "firmware-bridge/tests/frame_test_util.h"

namespace tributary::firmware {
namespace {

using testing::encode;

std::string readings_frame() {
  ReadingIn r[3];
  r[0].name = "temperature";
  r[0].value = 21.5;
  r[0].unit = "C";
  r[1].name = "energy";
  r[1].kind = frame::ReadingKind::Integer;
  r[1].integer = 9007199254740993;  // not representable as a double: must stay exact
  r[2].name = "relay";
  r[2].kind = frame::ReadingKind::Boolean;
  r[2].value = 1;
  FrameIn in;
  in.device_id = "meter-7";
  in.boot_id = 3;
  in.sequence = 42;
  in.device_time_ms = 1795305600123;  // 2026-11-22T00:00:00.123Z
  in.readings = r;
  in.reading_count = 3;
  return encode(in);
}

TEST(FrameDecoder, ReadsWhatTheDeviceEncoderWrote) {
  const std::string payload = "\x01\x02binary\x00tail";
  FrameIn in;
  in.device_id = "plc-3";
  in.boot_id = 0xFFFFFFFFu;
  in.sequence = 7;
  in.device_time_ms = -5;
  in.content_type = "application/octet-stream";
  in.payload = reinterpret_cast<const std::uint8_t*>(payload.data());
  in.payload_size = payload.size();
  const std::string bytes = encode(in);
  ASSERT_FALSE(bytes.empty());
  DecodedFrame f;
  std::string why;
  ASSERT_TRUE(decode_frame(bytes, &f, &why)) << why;
  EXPECT_EQ(f.device_id, "plc-3");
  EXPECT_EQ(f.boot_id, 0xFFFFFFFFu);
  EXPECT_EQ(f.sequence, 7u);
  EXPECT_EQ(f.device_time_ms, -5);
  EXPECT_EQ(f.content_type, "application/octet-stream");
  EXPECT_EQ(f.payload, payload);
  EXPECT_EQ(f.readings, nullptr);
}

TEST(FrameDecoder, ReadingsBecomeTypedJson) {
  const std::string bytes = readings_frame();
  DecodedFrame f;
  std::string why;
  ASSERT_TRUE(decode_frame(bytes, &f, &why)) << why;
  ASSERT_NE(f.readings, nullptr);
  const auto doc = nlohmann::json::parse(readings_json(f));
  EXPECT_EQ(doc["device_id"], "meter-7");
  EXPECT_EQ(doc["boot_id"], 3);
  EXPECT_EQ(doc["sequence"], 42);
  EXPECT_EQ(doc["device_time"], "2026-11-22T00:00:00.123Z");
  ASSERT_EQ(doc["readings"].size(), 3u);
  EXPECT_EQ(doc["readings"][0]["name"], "temperature");
  EXPECT_EQ(doc["readings"][0]["value"], 21.5);
  EXPECT_EQ(doc["readings"][0]["unit"], "C");
  EXPECT_EQ(doc["readings"][1]["value"].get<std::int64_t>(), 9007199254740993);
  EXPECT_FALSE(doc["readings"][1].contains("unit"));
  EXPECT_EQ(doc["readings"][2]["value"], true);
}

TEST(FrameDecoder, SmallOnTheWire) {
  // Device id, boot, sequence, time and three readings with units: what a meter sends.
  EXPECT_LE(readings_frame().size(), 240u);
  FrameIn heartbeat;
  heartbeat.device_id = "m-1";
  heartbeat.sequence = 1;
  EXPECT_LT(encode(heartbeat).size(), 48u);
}

TEST(FrameDecoder, RefusesWhatIsNotAFrame) {
  DecodedFrame f;
  std::string why;
  EXPECT_FALSE(decode_frame("", &f, &why));
  EXPECT_FALSE(decode_frame("{\"device\":\"x\"}", &f, &why));
  EXPECT_NE(why.find("TRF1"), std::string::npos) << why;
  std::string other = readings_frame();
  other[4] = 'X';  // another schema's identifier
  EXPECT_FALSE(decode_frame(other, &f, &why));
}

TEST(FrameDecoder, EveryTruncationIsRefused) {
  const std::string bytes = readings_frame();
  DecodedFrame f;
  std::string why;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_frame(bytes.substr(0, n), &f, &why)) << "accepted " << n << " of " << bytes.size();
  }
}

TEST(FrameDecoder, CorruptedBytesNeverCrashAndNeverYieldOutOfBoundsViews) {
  const std::string good = readings_frame();
  std::mt19937 rng(7);
  int refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    DecodedFrame f;
    std::string why;
    if (!decode_frame(bytes, &f, &why)) {
      ++refused;
      continue;
    }
    const char* begin = bytes.data();
    const char* end = begin + bytes.size();
    for (std::string_view v : {f.device_id, f.content_type, f.payload}) {
      if (!v.empty()) {
        EXPECT_TRUE(v.data() >= begin && v.data() + v.size() <= end);
      }
    }
    (void)readings_json(f);  // must not throw on whatever bytes the strings hold
  }
  EXPECT_GT(refused, 0);
}

TEST(FrameDecoder, RefusesFramesBreakingTheFrameRules) {
  DecodedFrame f;
  std::string why;
  {  // no device id (a required field), written by hand as a hostile sender would
    flatbuffers::FlatBufferBuilder b;
    const auto start = b.StartTable();
    b.AddElement<std::uint32_t>(frame::Frame::VT_SEQUENCE, 5, 0);
    const flatbuffers::Offset<frame::Frame> root(b.EndTable(start));
    b.Finish(root, frame::FrameIdentifier());
    const std::string bytes(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
    EXPECT_FALSE(decode_frame(bytes, &f, &why));
    EXPECT_NE(why.find("verification"), std::string::npos) << why;
  }
  {  // an empty device id
    flatbuffers::FlatBufferBuilder b;
    const auto root = frame::CreateFrameDirect(b, "", 1, 1);
    frame::FinishFrameBuffer(b, root);
    EXPECT_FALSE(decode_frame(std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()), &f, &why));
    EXPECT_NE(why.find("empty device_id"), std::string::npos) << why;
  }
  {  // both a payload and readings
    flatbuffers::FlatBufferBuilder b;
    std::vector<std::uint8_t> payload{1, 2, 3};
    std::vector<flatbuffers::Offset<frame::Reading>> readings{frame::CreateReadingDirect(b, "t")};
    const auto root = frame::CreateFrameDirect(b, "d", 1, 1, 0, nullptr, &payload, &readings);
    frame::FinishFrameBuffer(b, root);
    EXPECT_FALSE(decode_frame(std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()), &f, &why));
    EXPECT_NE(why.find("both"), std::string::npos) << why;
  }
  {  // a reading with an empty name, and one of an unknown kind
    for (int variant = 0; variant < 2; ++variant) {
      flatbuffers::FlatBufferBuilder b;
      std::vector<flatbuffers::Offset<frame::Reading>> readings{
          variant == 0 ? frame::CreateReadingDirect(b, "")
                       : frame::CreateReadingDirect(b, "t", static_cast<frame::ReadingKind>(9))};
      const auto root = frame::CreateFrameDirect(b, "d", 1, 1, 0, nullptr, nullptr, &readings);
      frame::FinishFrameBuffer(b, root);
      EXPECT_FALSE(decode_frame(std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()), &f, &why));
    }
  }
}

}  // namespace
}  // namespace tributary::firmware
