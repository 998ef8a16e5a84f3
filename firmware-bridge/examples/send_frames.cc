// Sends COUNT frames of typed readings over UDP, the way firmware would: one stack buffer,
// no heap, no exceptions. A starting point for a device port: replace the socket calls with
// the network stack at hand (lwIP's sendto has the same shape).
//
//   tributary-frame-send HOST PORT [COUNT] [DEVICE_ID] [BOOT_ID]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "frame_encoder.h"

namespace fw = tributary::firmware;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tributary-frame-send HOST PORT [COUNT] [DEVICE_ID] [BOOT_ID]\n");
    return 2;
  }
  const char* host = argv[1];
  const long port = std::strtol(argv[2], nullptr, 10);
  const long count = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 10;
  const char* device = argc > 4 ? argv[4] : "meter-1";
  // A real device keeps a boot counter in flash; here the caller picks one.
  const auto boot = static_cast<std::uint32_t>(argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 1);

  sockaddr_in6 to6{};
  sockaddr_in to4{};
  const sockaddr* to = nullptr;
  socklen_t to_len = 0;
  if (inet_pton(AF_INET, host, &to4.sin_addr) == 1) {
    to4.sin_family = AF_INET;
    to4.sin_port = htons(static_cast<std::uint16_t>(port));
    to = reinterpret_cast<const sockaddr*>(&to4);
    to_len = sizeof to4;
  } else if (inet_pton(AF_INET6, host, &to6.sin6_addr) == 1) {
    to6.sin6_family = AF_INET6;
    to6.sin6_port = htons(static_cast<std::uint16_t>(port));
    to = reinterpret_cast<const sockaddr*>(&to6);
    to_len = sizeof to6;
  } else {
    std::fprintf(stderr, "tributary-frame-send: '%s' is not an IP address\n", host);
    return 2;
  }
  const int fd = ::socket(to->sa_family, SOCK_DGRAM, 0);
  if (fd < 0) {
    std::perror("tributary-frame-send: socket");
    return 1;
  }

  alignas(8) static std::uint8_t buffer[1024];  // frame_bound() of three readings, with room
  for (long i = 0; i < count; ++i) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    fw::ReadingIn readings[3];
    readings[0].name = "temperature";
    readings[0].value = 20.0 + static_cast<double>(static_cast<int>(i % 50)) / 10.0;
    readings[0].unit = "C";
    readings[1].name = "energy";
    readings[1].kind = tributary::frame::ReadingKind::Integer;
    readings[1].integer = 1000 + i;
    readings[1].unit = "Wh";
    readings[2].name = "relay";
    readings[2].kind = tributary::frame::ReadingKind::Boolean;
    readings[2].value = i % 2 == 0 ? 0.0 : 1.0;
    fw::FrameIn frame;
    frame.device_id = device;
    frame.boot_id = boot;
    frame.sequence = static_cast<std::uint32_t>(i);
    frame.device_time_ms = static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
    frame.readings = readings;
    frame.reading_count = 3;
    const std::uint8_t* bytes = nullptr;
    const std::size_t size = fw::encode_frame(frame, buffer, sizeof buffer, &bytes);
    if (size == 0) {
      std::fprintf(stderr, "tributary-frame-send: frame does not fit in %zu bytes\n", sizeof buffer);
      return 1;
    }
    if (::sendto(fd, bytes, size, 0, to, to_len) < 0) {
      std::perror("tributary-frame-send: sendto");
      return 1;
    }
  }
  ::close(fd);
  std::printf("sent %ld frames from %s (boot %u) to %s:%ld\n", count, device, boot, host, port);
  return 0;
}
