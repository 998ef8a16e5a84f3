// UDP load: sendmmsg batches from one socket, one datagram per event. UDP has no
// acknowledgement, so every datagram goes into the obligation log as unacknowledged.

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include <cerrno>
#include <cstring>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "tools/load/generator.h"
#include "tools/load/obligations.h"
#include "tools/load/payload.h"

namespace tributary::tools {
namespace {

// A resolved numeric address for the plain socket API.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

bool resolve(const std::string& host, std::uint16_t port, SocketAddress* out) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return false;
  if (address.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(&sin.sin_addr, bytes.data(), bytes.size());
    std::memcpy(&out->storage, &sin, sizeof sin);
    out->length = sizeof sin;
    out->family = AF_INET;
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    const auto bytes = address.to_v6().to_bytes();
    std::memcpy(&sin6.sin6_addr, bytes.data(), bytes.size());
    std::memcpy(&out->storage, &sin6, sizeof sin6);
    out->length = sizeof sin6;
    out->family = AF_INET6;
  }
  return true;
}

// Linux accepts up to 64 segments per GSO send on older kernels.
constexpr unsigned kMaxGsoSegments = 64;

// One sending thread: its own connected socket, its own keys, sequence numbers claimed in
// blocks from NEXT_SEQ so that all threads together cover 0..N-1 without gaps.
struct SenderShared {
  const LoadOptions* options = nullptr;
  SocketAddress to;
  std::atomic<std::uint64_t> next_seq{0};  // relative to options->first_seq
  std::atomic<std::uint64_t> sent{0};
  std::chrono::steady_clock::time_point start;
  std::mutex error_mutex;
  std::string error;
};

void fail(SenderShared& shared, const std::string& message) {
  std::lock_guard<std::mutex> lock(shared.error_mutex);
  if (shared.error.empty()) shared.error = message;
}

void send_loop(SenderShared& shared, unsigned thread, unsigned threads, LoadCounters& counters) {
  const LoadOptions& options = *shared.options;
  const int fd = ::socket(shared.to.family, SOCK_DGRAM, 0);
  if (fd < 0) return fail(shared, std::string("socket: ") + std::strerror(errno));
  const int sndbuf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  // A connected socket skips the route lookup for every datagram.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&shared.to.storage), shared.to.length) != 0) {
    ::close(fd);
    return fail(shared, std::string("connect: ") + std::strerror(errno));
  }
  // Every payload has the same length (padding absorbs the key's length), which lets the
  // kernel split one buffer into many datagrams (UDP GSO): far fewer trips through the
  // network stack per datagram. Without GSO, each message of a sendmmsg is one datagram.
  std::vector<std::string> keys;
  for (unsigned k = 0; k < std::max(1u, options.keys); ++k) {
    keys.push_back("t" + std::to_string(thread) + "k" + std::to_string(k));
  }
  std::string probe;
  encode_payload(Payload{options.run_id, 0, 0, keys.back()}, options.size, probe);
  const std::size_t quotes = options.json ? 2 : 0;  // --format json: "payload"
  const std::size_t datagram = probe.size() + quotes;
  const int segment = static_cast<int>(datagram);
  const bool gso = options.gso && datagram <= 1400 &&
                   ::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &segment, sizeof segment) == 0;
  const unsigned per_message =
      gso ? std::max(1u, std::min(kMaxGsoSegments, static_cast<unsigned>(60000 / datagram))) : 1;
  const unsigned messages = std::max(1u, options.batch / per_message);
  const std::size_t slot = datagram * per_message;
  std::vector<char> buffers(slot * messages);
  std::vector<iovec> iov(messages);
  std::vector<mmsghdr> msgs(messages);

  Pacer pacer(options.rate / threads);
  Payload p{options.run_id, 0, 0, ""};
  std::uint64_t mine = 0;  // datagrams this thread sent, for pacing
  while (keep_going(options, shared.next_seq.load(), shared.start)) {
    std::uint64_t want = static_cast<std::uint64_t>(messages) * per_message;
    if (options.rate > 0) {
      want = std::min<std::uint64_t>(want, std::max<std::uint64_t>(1, static_cast<std::uint64_t>(options.rate / threads / 1000)));
    }
    const std::uint64_t first = shared.next_seq.fetch_add(want);
    if (options.count > 0) {
      if (first >= options.count) break;
      want = std::min<std::uint64_t>(want, options.count - first);
    }
    pacer.wait_for(mine);
    p.send_ns = now_ns();
    unsigned n = 0;  // messages filled
    for (std::uint64_t i = 0; i < want; ++n) {
      char* buf = buffers.data() + slot * n;
      std::size_t len = 0;
      for (unsigned k = 0; k < per_message && i < want; ++k, ++i) {
        p.seq = options.first_seq + first + i;
        p.key = keys[(mine + i) % keys.size()];
        // Padded to the longest key's length, so every datagram has exactly the segment size.
        if (options.json) buf[len++] = '"';
        len += encode_payload(p, datagram - quotes, buf + len, datagram - quotes);
        if (options.json) buf[len++] = '"';
      }
      iov[n] = iovec{buf, len};
      msgs[n] = mmsghdr{};
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
    }
    unsigned done = 0;
    while (done < n) {
      const int sent = ::sendmmsg(fd, msgs.data() + done, n - done, 0);
      if (sent < 0) {
        if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;
        ::close(fd);
        return fail(shared, std::string("sendmmsg: ") + std::strerror(errno));
      }
      done += static_cast<unsigned>(sent);
    }
    mine += want;
    counters.sent.fetch_add(want, std::memory_order_relaxed);
    shared.sent.fetch_add(want, std::memory_order_relaxed);
  }
  ::close(fd);
}

}  // namespace

LoadResult run_udp_load(const LoadOptions& options, LoadCounters& counters) {
  LoadResult result;
  std::string host;
  std::uint16_t port = 0;
  SenderShared shared;
  shared.options = &options;
  if (!split_host_port(options.target, &host, &port) || !resolve(host, port, &shared.to)) {
    result.error = "udp target must be IP:PORT, got '" + options.target + "'";
    return result;
  }
  shared.start = std::chrono::steady_clock::now();
  const unsigned threads = std::max(1u, options.threads);
  std::vector<std::thread> senders;
  for (unsigned t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] { send_loop(shared, t, threads, counters); });
  }
  for (std::thread& t : senders) t.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - shared.start).count();
  result.error = shared.error;
  result.sent = shared.sent.load();
  // Blocks are claimed before they are sent, so on success the sent sequence numbers are
  // exactly 0..sent-1. After an error some claimed blocks were not sent: say so.
  ObligationWriter log;
  if (!options.obligation_log.empty()) {
    if (!log.open(options.obligation_log, options.run_id, options.topic)) {
      result.error = "cannot write " + options.obligation_log;
    } else if (result.sent > 0 && result.error.empty()) {
      log.add(options.first_seq, options.first_seq + result.sent - 1, false, "udp");
    } else if (!result.error.empty()) {
      // Which claimed blocks were sent is unknown after a send error: a log that promised
      // anything would be a guess. Leave it without ranges and fail the run (exit 1).
      result.error += " (the obligation log has no ranges)";
    }
  }
  return result;
}

}  // namespace tributary::tools
