// Writes seed frames for the frame decoder fuzz target into DIR: a payload frame, a frame of
// readings of every kind, a heartbeat and a frame of the most readings allowed.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "firmware-bridge/frame_encoder.h"

namespace fw = tributary::firmware;

namespace {

bool write(const std::string& path, const fw::FrameIn& in) {
  std::vector<std::uint8_t> buffer(fw::frame_bound(in) + 8);
  const std::uint8_t* bytes = nullptr;
  const std::size_t size = fw::encode_frame(in, buffer.data(), buffer.size(), &bytes);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  return size > 0 && out.good();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: frame_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string payload = "{\"t\":21.5}";
  fw::FrameIn a;
  a.device_id = "plc-1";
  a.boot_id = 3;
  a.sequence = 42;
  a.device_time_ms = 1795305600123;
  a.content_type = "application/json";
  a.payload = reinterpret_cast<const std::uint8_t*>(payload.data());
  a.payload_size = payload.size();
  fw::ReadingIn r[fw::kMaxReadings];
  r[0].name = "temperature";
  r[0].value = 21.5;
  r[0].unit = "C";
  r[1].name = "energy";
  r[1].kind = tributary::frame::ReadingKind::Integer;
  r[1].integer = 123456789;
  r[2].name = "relay";
  r[2].kind = tributary::frame::ReadingKind::Boolean;
  r[2].value = 1;
  for (std::size_t i = 3; i < fw::kMaxReadings; ++i) r[i].name = "x";
  fw::FrameIn b;
  b.device_id = "meter-7";
  b.sequence = 0xFFFFFFFFu;
  b.readings = r;
  b.reading_count = 3;
  fw::FrameIn c;
  c.device_id = "m";
  fw::FrameIn d = b;
  d.reading_count = fw::kMaxReadings;
  const bool ok = write(dir + "/payload", a) && write(dir + "/readings", b) && write(dir + "/heartbeat", c) &&
                  write(dir + "/many", d);
  return ok ? 0 : 1;
}
