#include "transports/udp/udp_intake.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/dispatch.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <future>

#include "core/envelope.h"
#include "core/key_render.h"
#include "core/log.h"

namespace tributary::transports::udp {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr int kMaxBatchesPerWakeup = 16;  // then let the io_context serve others
constexpr std::size_t kGroMessage = 65536;  // the most a coalesced message holds

// The kernel's running count of datagrams socket FD dropped (its sk_drops, from SO_MEMINFO):
// asked once per wake-up rather than carried on every datagram read (SO_RXQ_OVFL), which
// costs a control message per datagram.
std::optional<std::uint32_t> socket_drops(int fd) {
  std::array<std::uint32_t, SK_MEMINFO_VARS> info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info.data(), &len) != 0 ||
      len < (SK_MEMINFO_DROPS + 1) * sizeof(std::uint32_t)) {
    return std::nullopt;
  }
  return info[SK_MEMINFO_DROPS];
}

// The segment size of a datagram the kernel coalesced (UDP_GRO): the message holds several
// datagrams of that size back to back, the last one possibly shorter. 0: one datagram. The
// CMSG macros are C.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
std::size_t gro_segment(msghdr& m) {
  if (m.msg_controllen == 0) return 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      return size > 0 ? static_cast<std::size_t>(size) : 0;
    }
  }
  return 0;
}
#pragma GCC diagnostic pop

// The sender as text and port; an IPv4-mapped IPv6 address is shown as IPv4.
void sender_of(const sockaddr_storage& from, std::string* ip, std::uint16_t* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (from.ss_family == AF_INET) {
    sockaddr_in a;
    std::memcpy(&a, &from, sizeof a);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    *port = ntohs(a.sin_port);
  } else {
    sockaddr_in6 a;
    std::memcpy(&a, &from, sizeof a);
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
      inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    }
    *port = ntohs(a.sin6_port);
  }
  *ip = text;
}

}  // namespace

struct UdpIntake::Socket {
  explicit Socket(asio::io_context& context) : io(context), socket(context) {}
  asio::io_context& io;
  asio::ip::udp::socket socket;
  std::size_t slot = 0;                  // bytes read per datagram: max_datagram + 1
  std::size_t stride = 0;                // slot rounded up to 16: each datagram starts aligned
  std::vector<char> data;                // batch x stride
  std::vector<mmsghdr> messages;
  std::vector<iovec> iovecs;
  std::vector<sockaddr_storage> senders;
  std::vector<std::array<char, 32>> controls;  // room for the UDP_GRO control message
  std::vector<std::size_t> segments;           // per message read: its UDP_GRO segment size, or 0
  bool gro = false;                      // the kernel may hand over coalesced datagrams
  std::vector<char> aligned;             // a frame copied to an aligned address
  std::uint32_t kernel_drops_seen = 0;  // the socket's drop count when last asked
  Datagram parsed;  // scratch, reused
  std::shared_ptr<const Route> route;  // taken per batch
  // The sender of the last datagram, as text: senders repeat, inet_ntop need not.
  sockaddr_storage last_sender{};
  Origin origin;
  // The key of the last sender's events when the key template reads no JSON (it then
  // depends on the sender alone), and the route it was made for.
  std::optional<std::string> sender_key;
  std::shared_ptr<const Route> sender_key_route;
  // The events of the datagrams read by one recvmmsg call, encoded as envelopes back to back
  // in ARENA and offered together: one trip to the ring's append point (and one wake-up of
  // its writer) per batch, not per datagram. Nothing here is allocated per event once the
  // buffers have grown.
  EnvelopeWriter writer;
  std::string arena;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // each envelope: offset, size
  std::vector<std::string_view> views;                      // scratch for the offer
  std::int64_t first_time_ms = 0;
  std::uint64_t datagrams = 0;  // that the envelopes came from
  std::uint64_t bytes = 0;      // of those datagrams
  // Format frame: the frames in the batch, forgotten by the tracker if it is not stored.
  struct FrameId {
    std::string device;
    std::uint32_t boot_id;
    std::uint32_t sequence;
  };
  std::vector<FrameId> frames;
};

UdpIntake::UdpIntake(const config::SourceConfig& source, Sink& sink, Stamper& stamper,
                     IoContextPool& pool)
    : name_(source.name),
      settings_(std::get<config::UdpSourceConfig>(source.settings)),
      listen_(source.listen),
      format_(format_from_name(settings_.format)),
      sink_(sink),
      stamper_(stamper) {
  route_.store(make_route(settings_));
  if (settings_.format == "frame") {
    tracker_ = std::make_unique<firmware::SequenceTracker>(settings_.dedup_window, settings_.max_devices);
  }
  const auto batch = static_cast<std::size_t>(std::max(settings_.batch, 1));
  for (int i = 0; i < std::max(settings_.threads, 1); ++i) {
    auto s = std::make_unique<Socket>(pool.next());
    s->origin.transport = "udp";
    s->origin.source = name_;
    s->slot = settings_.max_datagram + 1;  // one byte more: an oversized datagram is seen
    // Coalesced datagrams (UDP_GRO) arrive as one message of up to 64 KiB: each slot must
    // hold one whole, or its tail would be cut off.
    if (settings_.gro) s->slot = std::max<std::size_t>(s->slot, kGroMessage);
    // A frame's doubles and longs are read in place: they must be aligned in memory.
    s->stride = (s->slot + 15) / 16 * 16;
    s->data.resize(batch * s->stride);
    s->messages.resize(batch);
    s->iovecs.resize(batch);
    s->senders.resize(batch);
    s->controls.resize(batch);
    s->segments.resize(batch);
    sockets_.push_back(std::move(s));
  }
}

UdpIntake::~UdpIntake() { stop(); }

Status UdpIntake::start() {
  error_code ec;
  const auto address = asio::ip::make_address(listen_.host, ec);
  if (ec) {
    return Status(StatusCode::kFailedPrecondition,
                  "source '" + name_ + "': listen address '" + listen_.host +
                      "' is not an IP address: " + ec.message());
  }
  asio::ip::udp::endpoint endpoint(address, listen_.port);
  int granted = 0;
  for (auto& s : sockets_) {
    s->socket.open(endpoint.protocol(), ec);
    const int fd = s->socket.native_handle();
    const int one = 1;
    const int requested = static_cast<int>(std::min<std::uint64_t>(settings_.receive_buffer, INT32_MAX / 2));
    if (!ec && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec = error_code(errno, boost::system::system_category());
    }
    if (!ec) {
      // Past net.core.rmem_max only with CAP_NET_ADMIN; otherwise as much as allowed.
      if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &requested, sizeof requested) != 0) {
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &requested, sizeof requested);
      }
      socklen_t len = sizeof granted;
      ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len);
      granted /= 2;  // the kernel reports twice what it grants for data (bookkeeping)
      // Datagrams of one flow that arrive together may be handed over as one message
      // (fewer trips through the stack per datagram); kernels without it read them singly.
      s->gro = settings_.gro && ::setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
      if (settings_.gro && !s->gro) {
        log::warn("udp gro not available; datagrams are read one by one")
            .kv("source", name_)
            .kv("error", std::strerror(errno));
      }
      s->socket.non_blocking(true, ec);
    }
    if (!ec) s->socket.bind(endpoint, ec);
    if (ec) {
      for (auto& other : sockets_) {
        error_code ignored;
        other->socket.close(ignored);
      }
      return Status(StatusCode::kFailedPrecondition,
                    "source '" + name_ + "': cannot bind UDP " + listen_.text() + ": " + ec.message());
    }
    endpoint = s->socket.local_endpoint(ec);  // the next sockets share the port chosen here
    struct stat st {};
    if (::fstat(s->socket.native_handle(), &st) == 0) socket_inodes_.push_back(st.st_ino);
  }
  bound_port_ = endpoint.port();
  auto line = log::info("listening");
  line.kv("source", name_)
      .kv("transport", "udp")
      .kv("address", config::HostPort{endpoint.address().to_string(), endpoint.port()}.text())
      .kv("format", settings_.format)
      .kv("threads", sockets_.size())
      .kv("receive_buffer", granted);
  if (static_cast<std::uint64_t>(granted) < settings_.receive_buffer) {
    log::warn("udp receive buffer smaller than configured; raise net.core.rmem_max")
        .kv("source", name_)
        .kv("configured", settings_.receive_buffer)
        .kv("granted", granted);
  }
  started_ = true;
  for (auto& s : sockets_) {
    Socket* socket = s.get();
    asio::dispatch(socket->io, [this, socket] { wait_readable(*socket); });
  }
  return Status::ok();
}

void UdpIntake::stop() {
  if (!started_.exchange(false)) return;
  std::vector<std::future<void>> closed;
  for (auto& s : sockets_) {
    auto done = std::make_shared<std::promise<void>>();
    closed.push_back(done->get_future());
    Socket* socket = s.get();
    asio::dispatch(socket->io, [this, socket, done] {
      // What the kernel already queued for the socket is taken, not lost with it.
      read_batches(*socket);
      count_kernel_drops(*socket);  // up to the last moment
      error_code ignored;
      socket->socket.close(ignored);
      done->set_value();
    });
  }
  for (auto& f : closed) f.wait();
  const UdpCounters& c = counters_;
  log::info("udp source stopped")
      .kv("source", name_)
      .kv("received", c.received.load())
      .kv("coalesced_messages", c.coalesced.load())
      .kv("accepted", c.accepted.load())
      .kv("dropped_kernel", c.dropped_kernel.load())
      .kv("dropped_oversize", c.dropped_oversize.load())
      .kv("dropped_malformed", c.dropped_malformed.load())
      .kv("dead_lettered", c.dead_lettered.load())
      .kv("dropped_not_allowed", c.dropped_not_allowed.load())
      .kv("dropped_busy", c.dropped_busy.load())
      .kv("dropped_rejected", c.dropped_rejected.load())
      .kv("dropped_duplicate", c.dropped_duplicate.load());
  if (tracker_) {
    const firmware::SequenceCounters& q = tracker_->counters();
    log::info("udp frame sequences")
        .kv("source", name_)
        .kv("devices", q.devices.load())
        .kv("gaps", q.gaps.load())
        .kv("duplicates", q.duplicates.load())
        .kv("reordered", q.reordered.load())
        .kv("late", q.late.load())
        .kv("reboots", q.reboots.load())
        .kv("evicted", q.evicted.load());
  }
}

void UdpIntake::wait_readable(Socket& s) {
  s.socket.async_wait(asio::ip::udp::socket::wait_read, [this, &s](const error_code& ec) {
    if (ec == asio::error::operation_aborted || !s.socket.is_open()) return;
    if (ec) {
      log::warn("udp wait failed").kv("source", name_).kv("error", ec.message());
    } else {
      read_batches(s);
      count_kernel_drops(s);
    }
    wait_readable(s);
  });
}

void UdpIntake::read_batches(Socket& s) {
  const int fd = s.socket.native_handle();
  const auto batch = static_cast<unsigned>(s.messages.size());
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    for (unsigned i = 0; i < batch; ++i) {
      s.iovecs[i] = iovec{s.data.data() + i * s.stride, s.slot};
      msghdr& h = s.messages[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &s.senders[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &s.iovecs[i];
      h.msg_iovlen = 1;
      if (s.gro) {
        h.msg_control = s.controls[i].data();
        h.msg_controllen = s.controls[i].size();
      }
      s.messages[i].msg_len = 0;
    }
    const int n = ::recvmmsg(fd, s.messages.data(), batch, MSG_DONTWAIT, nullptr);
    s.route = route_.load();  // a reload applies from the next batch on
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        log::warn("udp receive failed").kv("source", name_).kv("error", std::strerror(errno));
      }
      return;
    }
    // Counted as received before any is handled (and perhaps counted as dropped), so that
    // the counters never show more taken or dropped than received.
    std::uint64_t datagrams = 0;
    std::uint64_t bytes = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      msghdr& h = s.messages[i].msg_hdr;
      const std::size_t length = s.messages[i].msg_len;
      const std::size_t segment = s.gro && (h.msg_flags & MSG_TRUNC) == 0 ? gro_segment(h) : 0;
      s.segments[i] = segment;
      datagrams += segment == 0 ? 1 : (length + segment - 1) / segment;
      bytes += length;
    }
    counters_.received.fetch_add(datagrams, std::memory_order_relaxed);
    counters_.received_bytes.fetch_add(bytes, std::memory_order_relaxed);
    // One time for the batch: its datagrams were read by one system call.
    const auto now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      const char* message = s.data.data() + i * s.stride;
      const std::size_t length = s.messages[i].msg_len;
      const std::size_t segment = s.segments[i];
      if (segment == 0) {
        on_datagram(s, i, std::string_view(message, length), (s.messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
                    now);
        continue;
      }
      counters_.coalesced.fetch_add(1, std::memory_order_relaxed);
      for (std::size_t at = 0; at < length; at += segment) {
        on_datagram(s, i, std::string_view(message + at, std::min(segment, length - at)), false, now);
      }
    }
    offer_batch(s);
    if (static_cast<unsigned>(n) < batch) return;  // the socket is empty for now
  }
}

void UdpIntake::count_kernel_drops(Socket& s) {
  const std::optional<std::uint32_t> drops = socket_drops(s.socket.native_handle());
  if (drops && *drops != s.kernel_drops_seen) {
    // Unsigned arithmetic: right across the counter's wrap as well.
    counters_.dropped_kernel.fetch_add(static_cast<std::uint32_t>(*drops - s.kernel_drops_seen),
                                       std::memory_order_relaxed);
    s.kernel_drops_seen = *drops;
  }
}

std::shared_ptr<const UdpIntake::Route> UdpIntake::make_route(const config::UdpSourceConfig& settings) {
  auto route = std::make_shared<Route>();
  route->topic = settings.topic;
  route->key = settings.key;
  route->allow = settings.allow;
  route->dead_letter_topic = settings.dead_letter_topic;
  route->key_uses_json = settings.key.reads_json();
  return route;
}

void UdpIntake::reconfigure(const config::SourceConfig& source) {
  route_.store(make_route(std::get<config::UdpSourceConfig>(source.settings)));
}

bool UdpIntake::allowed(const Route& route, const sockaddr_storage& from) const {
  if (route.allow.empty()) return true;
  const std::uint8_t* address = nullptr;
  bool v6 = false;
  sockaddr_in a4;
  sockaddr_in6 a6;
  if (from.ss_family == AF_INET) {
    std::memcpy(&a4, &from, sizeof a4);
    address = reinterpret_cast<const std::uint8_t*>(&a4.sin_addr);
  } else {
    std::memcpy(&a6, &from, sizeof a6);
    address = a6.sin6_addr.s6_addr;
    v6 = true;
  }
  for (const config::Network& n : route.allow) {
    if (n.contains(address, v6)) return true;
  }
  return false;
}

void UdpIntake::on_datagram(Socket& s, std::size_t index, std::string_view data, bool truncated,
                            std::chrono::system_clock::time_point now) {
  if (truncated || data.size() > settings_.max_datagram) {
    counters_.dropped_oversize.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const Route& route = *s.route;
  if (!allowed(route, s.senders[index])) {
    counters_.dropped_not_allowed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (tracker_ && reinterpret_cast<std::uintptr_t>(data.data()) % 8 != 0) {
    // A frame's doubles and longs are read in place, which not every CPU can do at any
    // address: a frame from inside a coalesced message is copied to an aligned place.
    s.aligned.assign(data.begin(), data.end());
    data = std::string_view(s.aligned.data(), s.aligned.size());
  }
  std::string why;
  firmware::DecodedFrame frame;
  const bool malformed = tracker_ ? !firmware::decode_frame(data, &frame, &why)
                                  : !parse_datagram(format_, data, &s.parsed, &why, route.key_uses_json);
  if (malformed && route.dead_letter_topic.empty()) {
    counters_.dropped_malformed.fetch_add(1, std::memory_order_relaxed);
    log::limited(log::Level::kWarn, "udp datagram dropped: malformed").kv("source", name_).kv("reason", why);
    return;
  }
  if (std::memcmp(&s.senders[index], &s.last_sender, sizeof(sockaddr_storage)) != 0) {
    s.last_sender = s.senders[index];
    sender_of(s.last_sender, &s.origin.remote_ip, &s.origin.remote_port);
    s.sender_key_route.reset();
  }
  if (malformed) {
    // To the dead-letter topic, as received, with the reason: never to the source's topic.
    const std::pair<std::string_view, std::string_view> reason[] = {
        {"tributary_dlq_reason", why}, {"tributary_dlq_topic", route.topic}};
    add_envelope(s, route.dead_letter_topic, std::nullopt, data, "", now, reason);
    ++s.datagrams;
    s.bytes += data.size();
    counters_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (tracker_) {
    on_frame(s, frame, data, now);
    return;
  }
  if (s.parsed.docs.empty() && s.sender_key_route != s.route) {
    s.sender_key = render_key(route.key, stamper_.node_id(), s.origin, nullptr);
    s.sender_key_route = s.route;
  }
  std::optional<std::string> json_key;
  for (std::size_t i = 0; i < s.parsed.bodies.size(); ++i) {
    if (!s.parsed.docs.empty()) {
      const nlohmann::json& doc = s.parsed.docs[i];
      const HeaderLookup json = [&doc](std::string_view name) { return json_variable(doc, name); };
      json_key = render_key(route.key, stamper_.node_id(), s.origin, nullptr, &json);
    }
    add_envelope(s, route.topic, s.parsed.docs.empty() ? s.sender_key : json_key, s.parsed.bodies[i],
                 format_ == Format::kRaw ? std::string_view() : std::string_view("application/json"), now, {});
  }
  ++s.datagrams;
  s.bytes += data.size();
}

// One verified device frame: dropped if the tracker has seen it, else one event keyed by the
// device id, with the frame's identity in headers.
void UdpIntake::on_frame(Socket& s, const firmware::DecodedFrame& frame, std::string_view data,
                         std::chrono::system_clock::time_point now) {
  if (!tracker_->observe(frame.device_id, frame.boot_id, frame.sequence)) {
    counters_.dropped_duplicate.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::optional<std::string> key;
  const Route& route = *s.route;
  if (route.key.empty()) {
    key = std::string(frame.device_id);
  } else {
    const HeaderLookup device = [&frame](std::string_view name) {
      return name == "device_id" ? std::string(frame.device_id) : std::string();
    };
    key = render_key(route.key, stamper_.node_id(), s.origin, nullptr, &device);
  }
  std::string json;
  std::string_view payload = frame.payload;
  std::string_view content_type = frame.content_type;
  if (frame.readings != nullptr && settings_.readings == "json") {
    json = firmware::readings_json(frame);
    payload = json;
    content_type = "application/json";
  } else if (frame.readings != nullptr) {
    payload = data;
    content_type = "application/x-tributary-frame";
  }
  const std::string boot = std::to_string(frame.boot_id);
  const std::string sequence = std::to_string(frame.sequence);
  const std::string time = frame.device_time_ms != 0 ? firmware::device_time_text(frame.device_time_ms) : "";
  std::vector<std::pair<std::string_view, std::string_view>> extra = {
      {"tributary_device_id", frame.device_id}, {"tributary_boot_id", boot}, {"tributary_sequence", sequence}};
  if (!time.empty()) extra.emplace_back("tributary_device_time", time);
  add_envelope(s, route.topic, key, payload, content_type, now, extra);
  s.frames.push_back({std::string(frame.device_id), frame.boot_id, frame.sequence});
  ++s.datagrams;
  s.bytes += data.size();
}

// Stamps and encodes one event straight into the batch's arena (the common headers are
// made from the envelope's facts when it is produced).
void UdpIntake::add_envelope(Socket& s, std::string_view topic, const std::optional<std::string>& key,
                             std::string_view payload, std::string_view content_type,
                             std::chrono::system_clock::time_point now,
                             std::span<const std::pair<std::string_view, std::string_view>> extra) {
  EnvelopeWriter& w = s.writer;
  for (const auto& [name, value] : extra) w.add_header(name, value);
  std::optional<std::string_view> key_view;
  if (key) key_view = *key;
  std::array<char, 55> trace;
  const EnvelopeStamp stamp{stamper_.node_id(), content_type, Stamper::traceparent({}, trace)};
  const std::string_view envelope = w.finish({}, topic, key_view, payload, now, s.origin, &stamp);
  if (s.spans.empty()) {
    s.first_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  }
  s.spans.emplace_back(s.arena.size(), envelope.size());
  s.arena.append(envelope);
}

// The kernel's drop count (sk_drops) of the sockets with INODES, from /proc/net/udp and
// udp6: current at any moment, while the intake asks the socket only when it wakes up.
static std::uint64_t kernel_drops_now(const std::vector<ino_t>& inodes) {
  std::uint64_t total = 0;
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string x; fields >> x;) f.push_back(x);
      if (f.size() < 13) continue;
      const auto inode = static_cast<ino_t>(std::strtoull(f[9].c_str(), nullptr, 10));
      if (std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) total += std::strtoull(f[12].c_str(), nullptr, 10);
    }
  }
  return total;
}

void UdpIntake::collect(metrics::Scrape& scrape) const {
  const UdpCounters& c = counters_;
  // Drops at the very end of a burst reach dropped_kernel only with a later datagram; the
  // kernel's own count is current (both count from the socket's creation).
  const double kernel = std::max(static_cast<double>(c.dropped_kernel.load(std::memory_order_relaxed)),
                                 static_cast<double>(kernel_drops_now(socket_inodes_)));
  const auto v = [](const std::atomic<std::uint64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };
  metrics::source_counts(scrape, name_, "udp", v(c.received), v(c.received_bytes),
                         v(c.accepted), v(c.accepted_bytes));
  metrics::source_dropped(scrape, name_, "udp", "kernel_overflow", kernel);
  for (const auto& [reason, counter] : {std::pair<std::string_view, const std::atomic<std::uint64_t>*>{
                                            "oversize", &c.dropped_oversize},
                                        {"malformed", &c.dropped_malformed},
                                        {"not_allowed", &c.dropped_not_allowed},
                                        {"ring_full", &c.dropped_busy},
                                        {"rejected", &c.dropped_rejected},
                                        {"duplicate", &c.dropped_duplicate},
                                        {"write_failed", &c.delivery_failed}}) {
    metrics::source_dropped(scrape, name_, "udp", reason, v(*counter));
  }
  scrape.counter("tributary_source_dead_lettered_events_total",
                 "Malformed events a source sent to its dead-letter topic.", {{"source", name_}, {"type", "udp"}},
                 v(c.dead_lettered));
  metrics::route_accepted(scrape, name_, name_, v(c.accepted));
  if (const firmware::SequenceCounters* seq = sequence_counters()) {
    const auto load = [](const auto& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };
    for (const auto& [kind, value] : {std::pair<std::string_view, double>{"gap", load(seq->gaps)},
                                      {"duplicate", load(seq->duplicates)},
                                      {"reorder", load(seq->reordered)},
                                      {"late", load(seq->late)},
                                      {"reboot", load(seq->reboots)},
                                      {"evicted", load(seq->evicted)}}) {
      scrape.counter("tributary_frame_sequence_events_total",
                     "Device frame sequence anomalies seen by a source (format frame), by kind.",
                     {{"source", name_}, {"kind", kind}}, value);
    }
  }
}

// Offers the events of one batch of datagrams as a unit: each datagram is whole in it, and
// when the ring has no room, every datagram of the batch is dropped and counted.
void UdpIntake::offer_batch(Socket& s) {
  if (s.spans.empty()) return;
  const std::uint64_t count = s.spans.size();
  const std::uint64_t datagrams = s.datagrams;
  const std::uint64_t bytes = s.bytes;
  UdpCounters* counters = &counters_;
  auto done = [counters, count](const Status& status, const Delivery&) {
    (status.is_ok() ? counters->delivered : counters->delivery_failed)
        .fetch_add(count, std::memory_order_relaxed);
  };
  s.views.clear();
  for (const auto& [offset, size] : s.spans) s.views.emplace_back(s.arena.data() + offset, size);
  const Offer offer = sink_.offer_encoded(s.first_time_ms, s.views, std::move(done), Waiting::kNo);
  s.spans.clear();
  s.arena.clear();
  s.datagrams = 0;
  s.bytes = 0;
  if (offer != Offer::kAccepted) {
    for (const Socket::FrameId& f : s.frames) tracker_->forget(f.device, f.boot_id, f.sequence);
  }
  s.frames.clear();
  switch (offer) {
    case Offer::kAccepted:
      counters_.accepted.fetch_add(count, std::memory_order_relaxed);
      counters_.accepted_bytes.fetch_add(bytes, std::memory_order_relaxed);
      break;
    case Offer::kBusy: counters_.dropped_busy.fetch_add(datagrams, std::memory_order_relaxed); break;
    case Offer::kRejected: counters_.dropped_rejected.fetch_add(datagrams, std::memory_order_relaxed); break;
  }
}

}  // namespace tributary::transports::udp
