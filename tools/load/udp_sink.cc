// A UDP sink that only counts: what the UDP sender is measured against, so the figure is
// the sender's, not the system under test's.

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tools/load/generator.h"

namespace tributary::tools {

SinkResult run_udp_sink(const std::string& listen, std::chrono::milliseconds duration, bool gro) {
  SinkResult result;
  std::string host;
  std::uint16_t port = 0;
  boost::system::error_code ec;
  if (!split_host_port(listen, &host, &port)) {
    result.error = "listen address must be IP:PORT";
    return result;
  }
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec || !address.is_v4()) {
    result.error = "the sink listens on an IPv4 address";
    return result;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int rcvbuf = 16 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  const auto bytes = address.to_v4().to_bytes();
  std::memcpy(&sin.sin_addr, bytes.data(), bytes.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    result.error = std::string("bind: ") + std::strerror(errno);
    ::close(fd);
    return result;
  }
  timeval tv{0, 100'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // The kernel's count of datagrams dropped because this socket's buffer was full arrives
  // with each read (SO_RXQ_OVFL): received + dropped = what reached the socket.
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
  // With GRO the kernel hands over coalesced datagrams of one size; the segment size comes
  // in a control message and the sink counts the segments.
  if (gro) ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
  constexpr unsigned kBatch = 256;
  const std::size_t slot = gro ? 65536 : 2048;
  constexpr std::size_t kControl = 64;
  std::vector<char> buffers(kBatch * slot);
  std::vector<char> control(kBatch * kControl);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  std::chrono::steady_clock::time_point first{};
  std::chrono::steady_clock::time_point last{};
  const auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) {
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i] = iovec{buffers.data() + i * slot, slot};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control.data() + i * kControl;
      msgs[i].msg_hdr.msg_controllen = kControl;
    }
    const int n = ::recvmmsg(fd, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    last = std::chrono::steady_clock::now();
    if (result.datagrams == 0) first = last;
    for (int i = 0; i < n; ++i) {
      msghdr& h = msgs[static_cast<std::size_t>(i)].msg_hdr;
      const std::size_t len = msgs[static_cast<std::size_t>(i)].msg_len;
      std::size_t segments = 1;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          std::uint32_t dropped = 0;
          std::memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
          result.dropped = dropped;  // a running total kept by the kernel
        } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
          int segment = 0;
          std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
          if (segment > 0) segments = (len + static_cast<std::size_t>(segment) - 1) / static_cast<std::size_t>(segment);
        }
      }
      result.datagrams += segments;
      result.bytes += len;
    }
  }
  ::close(fd);
  result.seconds = std::chrono::duration<double>(last - first).count();
  return result;
}

}  // namespace tributary::tools
