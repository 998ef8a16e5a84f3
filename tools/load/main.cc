// tributary-load: load generator and delivery checker. See tools/README.md.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "config/values.h"
#include "tools/load/checker.h"
#include "tools/load/generator.h"
#include "tools/load/kafka_scan.h"
#include "tools/load/payload.h"

namespace tributary::tools {
namespace {

constexpr const char* kUsage = R"(usage: tributary-load <command> [--option value ...]

generators (each writes an obligation log: what was acknowledged, what was not):
  udp    --target IP:PORT --topic T --log FILE [--count N | --duration 10s] [--rate N]
         [--size 128] [--keys 16] [--batch 1024] [--gso on|off]
         [--threads 1] [--format raw|json] [--run-id ID]
         (json: each payload as a JSON string, for listeners with format json)
  http   --target HOST:PORT --route R --topic T --log FILE [--connections 4]
         [--count N | --duration 10s] [--rate N] [--size 128] [--keys 16] [--ndjson N]
         [--run-id ID]      (--ndjson N: N events per request as an NDJSON body)
  mqtt   --target HOST:PORT --mqtt-topic 'sensors/{key}/data' --topic T --log FILE
         [--qos 0|1|2] [--connections 4] [--count N | --duration 10s] [--rate N] [--size 128]
         [--keys 16] [--run-id ID]       (through the broker; {key} is the event's key)
  kafka  --brokers HOST:PORT --topic T --log FILE [--count N | --duration 10s] [--rate N]
         [--size 128] [--keys 16] [--run-id ID]      (straight to Kafka: the baseline)

checker:
  check  --brokers HOST:PORT --log FILE [--log FILE ...] [--topics T1,T2] [--json OUT]
         [--deadline 120s] [--settle 3s] [--faults-landed N] [--faults-required N]
         [--metrics HOST:PORT --sources NAME1,NAME2]
         Exit 0 when nothing acknowledged was lost (and no corrupt, phantom or
         out-of-order event was found), 1 otherwise, 2 on usage errors.
         --metrics reads Tributary's /metrics (its admin listener) after the scan and
         reconciles unacknowledged loss with its drop counters of the named sources:
         loss that no counter explains fails the run.

benchmark helper:
  udp-sink --listen IP:PORT [--duration 10s] [--gro off|on]
         counts datagrams read, and those the kernel dropped at the socket; prints rates

--rate 0 (the default) sends as fast as possible. Generators that share a --run-id (to be
checked together) need distinct --first-seq ranges. Progress goes to stderr once a second.
)";

struct Args {
  std::string command;
  std::multimap<std::string, std::string> values;

  bool has(const std::string& k) const { return values.count(k) > 0; }
  std::string get(const std::string& k, const std::string& fallback = "") const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
  std::vector<std::string> all(const std::string& k) const {
    std::vector<std::string> out;
    for (auto [it, end] = values.equal_range(k); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "tributary-load: " << message << "\n\n" << kUsage;
  std::exit(2);
}

Args parse(int argc, char** argv, const std::map<std::string, std::set<std::string>>& known) {
  if (argc < 2) usage_error("no command given");
  Args a;
  a.command = argv[1];
  if (a.command == "-h" || a.command == "--help") {
    std::cout << kUsage;
    std::exit(0);
  }
  const auto options = known.find(a.command);
  if (options == known.end()) usage_error("unknown command '" + a.command + "'");
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || options->second.count(flag.substr(2)) == 0) {
      usage_error("unknown option '" + flag + "' for " + a.command);
    }
    if (i + 1 >= argc) usage_error("option " + flag + " needs a value");
    a.values.emplace(flag.substr(2), argv[++i]);
  }
  return a;
}

std::uint64_t number(const Args& a, const std::string& k, std::uint64_t fallback) {
  if (!a.has(k)) return fallback;
  try {
    return std::stoull(a.get(k));
  } catch (const std::exception&) {
    usage_error("--" + k + " takes a whole number");
  }
}

std::chrono::milliseconds duration(const Args& a, const std::string& k, const std::string& fallback) {
  std::string why;
  const auto d = config::parse_duration(a.get(k, fallback), &why);
  if (!d) usage_error("--" + k + ": " + why);
  return *d;
}

void require(const Args& a, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (!a.has(k)) usage_error(a.command + " needs --" + k);
  }
}

// Prints progress once a second until stopped: a rewritten line on a terminal, plain
// lines otherwise.
class Progress {
 public:
  Progress(const LoadCounters& counters, const LoadOptions& options)
      : counters_(counters), options_(options), tty_(isatty(STDERR_FILENO) != 0) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Progress() {
    stop_ = true;
    thread_.join();
    if (tty_) std::fputc('\n', stderr);
  }

 private:
  void loop() {
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t last_sent = 0;
    while (!stop_) {
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stop_) break;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const std::uint64_t sent = counters_.sent.load();
      const double rate = static_cast<double>(sent - last_sent);
      last_sent = sent;
      double eta = 0;
      if (options_.count > 0 && rate > 0) eta = static_cast<double>(options_.count - std::min(sent, options_.count)) / rate;
      if (options_.count == 0) eta = std::max(0.0, std::chrono::duration<double>(options_.duration).count() - elapsed);
      std::fprintf(stderr, "%s[load] rate=%.0f/s sent=%llu acked=%llu refused=%llu elapsed=%.0fs eta=%.0fs%s",
                   tty_ ? "\r" : "", rate, static_cast<unsigned long long>(sent),
                   static_cast<unsigned long long>(counters_.acknowledged.load()),
                   static_cast<unsigned long long>(counters_.refused.load()), elapsed, eta,
                   tty_ ? "   " : "\n");
      std::fflush(stderr);
    }
  }

  const LoadCounters& counters_;
  const LoadOptions& options_;
  bool tty_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int generate(const Args& a) {
  LoadOptions o;
  o.target = a.command == "kafka" ? a.get("brokers") : a.get("target");
  o.topic = a.get("topic");
  o.route = a.command == "mqtt" ? a.get("mqtt-topic") : a.get("route");
  o.qos = static_cast<int>(number(a, "qos", 1));
  o.obligation_log = a.get("log");
  o.run_id = a.get("run-id", new_run_id());
  o.first_seq = number(a, "first-seq", 0);
  o.count = number(a, "count", 0);
  o.duration = duration(a, "duration", "10s");
  o.rate = static_cast<double>(number(a, "rate", 0));
  o.size = number(a, "size", 128);
  o.keys = static_cast<unsigned>(number(a, "keys", 16));
  o.batch = static_cast<unsigned>(number(a, "batch", 1024));
  o.gso = a.get("gso", "on") != "off";
  o.threads = static_cast<unsigned>(number(a, "threads", 1));
  o.connections = static_cast<unsigned>(number(a, "connections", 4));
  const std::string format = a.get("format", "raw");
  if (format != "raw" && format != "json") usage_error("--format is raw or json");
  o.json = format == "json";
  o.ndjson = static_cast<unsigned>(number(a, "ndjson", 0));
  if (o.run_id.size() != 12 || o.run_id.find(' ') != std::string::npos) {
    usage_error("--run-id is 12 characters without spaces");
  }
  LoadCounters counters;
  LoadResult r;
  {
    Progress progress(counters, o);
    if (a.command == "udp") r = run_udp_load(o, counters);
    if (a.command == "http") r = run_http_load(o, counters);
    if (a.command == "mqtt") r = run_mqtt_load(o, counters);
    if (a.command == "kafka") r = run_kafka_load(o, counters);
  }
  std::printf("%s run=%s sent=%llu acked=%llu seconds=%.2f rate=%.0f/s log=%s%s%s\n",
              r.error.empty() ? "DONE" : "ERROR", o.run_id.c_str(),
              static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.acknowledged),
              r.seconds, r.seconds > 0 ? static_cast<double>(r.sent) / r.seconds : 0.0,
              o.obligation_log.c_str(), r.error.empty() ? "" : " error=", r.error.c_str());
  return r.error.empty() ? 0 : 1;
}

// GET http://TARGET/metrics with a Beast client.
bool fetch_metrics(const std::string& target, std::string* page, std::string* error) {
  namespace asio = boost::asio;
  namespace bhttp = boost::beast::http;
  const auto hp = config::parse_host_port(target, error);
  if (!hp) return false;
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(hp->host, std::to_string(hp->port)));
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/metrics", 11};
    req.set(bhttp::field::host, hp->host);
    bhttp::write(stream, req);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    if (res.result() != bhttp::status::ok) {
      *error = "GET /metrics answered " + std::to_string(res.result_int());
      return false;
    }
    *page = std::move(res.body());
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

int check(const Args& a) {
  Obligations obligations;
  std::string error;
  if (!read_obligations(a.all("log"), &obligations, &error)) {
    std::cerr << "tributary-load: " << error << "\n";
    return 2;
  }
  ScanOptions scan;
  scan.brokers = a.get("brokers");
  scan.topics = obligations.topics;
  if (a.has("topics")) {
    scan.topics.clear();
    std::istringstream list(a.get("topics"));
    for (std::string t; std::getline(list, t, ',');) scan.topics.push_back(t);
  }
  scan.deadline = duration(a, "deadline", "120s");
  scan.settle = duration(a, "settle", "3s");
  Checker checker(obligations);
  const bool tty = isatty(STDERR_FILENO) != 0;
  const ScanStats stats = scan_topics(checker, scan, [&](const ScanStats& s) {
    std::fprintf(stderr, "%s[check] read=%llu rate=%.0f/s elapsed=%.0fs%s", tty ? "\r" : "",
                 static_cast<unsigned long long>(s.records),
                 s.seconds > 0 ? static_cast<double>(s.records) / s.seconds : 0.0, s.seconds,
                 tty ? "   " : "\n");
  });
  if (tty) std::fputc('\n', stderr);
  if (!stats.error.empty()) std::cerr << "tributary-load: kafka: " << stats.error << "\n";
  Report report = checker.report();
  if (a.has("metrics")) {
    std::string page;
    if (!fetch_metrics(a.get("metrics"), &page, &error)) {
      std::cerr << "tributary-load: metrics: " << error << "\n";
      return 2;
    }
    std::vector<std::string> sources;
    std::istringstream list(a.get("sources"));
    for (std::string name; std::getline(list, name, ',');) sources.push_back(name);
    report.tributary_dropped = dropped_by_reason(page, sources);
  }
  if (a.has("faults-landed")) report.faults_landed = number(a, "faults-landed", 0);
  report.faults_required = number(a, "faults-required", 0);
  if (a.has("json")) {
    std::ofstream(a.get("json")) << report.to_json();
  }
  std::printf("%s read=%llu in %.2fs (reading %.2fs: %.0f records/s)\n",
              report.summary_line().c_str(), static_cast<unsigned long long>(stats.records),
              stats.seconds, stats.reading_seconds,
              stats.reading_seconds > 0 ? static_cast<double>(stats.records) / stats.reading_seconds : 0.0);
  for (const std::string& f : report.failures()) std::printf("  failure: %s\n", f.c_str());
  return report.passed() ? 0 : 1;
}

int sink(const Args& a) {
  const SinkResult r =
      run_udp_sink(a.get("listen"), duration(a, "duration", "10s"), a.get("gro", "off") == "on");
  if (!r.error.empty()) {
    std::cerr << "tributary-load: " << r.error << "\n";
    return 1;
  }
  const double secs = r.seconds > 0 ? r.seconds : 1;
  std::printf("udp-sink read=%llu dropped_at_socket=%llu bytes=%llu seconds=%.2f read_rate=%.0f/s "
              "arrival_rate=%.0f/s\n",
              static_cast<unsigned long long>(r.datagrams), static_cast<unsigned long long>(r.dropped),
              static_cast<unsigned long long>(r.bytes), r.seconds,
              static_cast<double>(r.datagrams) / secs,
              static_cast<double>(r.datagrams + r.dropped) / secs);
  return 0;
}

int run(int argc, char** argv) {
  const std::set<std::string> common = {"topic", "log",  "count",  "duration", "rate",
                                        "size",  "keys", "run-id", "first-seq"};
  auto with = [&common](std::initializer_list<std::string> extra) {
    std::set<std::string> s = common;
    s.insert(extra.begin(), extra.end());
    return s;
  };
  const std::map<std::string, std::set<std::string>> known = {
      {"udp", with({"target", "batch", "gso", "threads", "format"})},
      {"http", with({"target", "route", "connections", "ndjson"})},
      {"mqtt", with({"target", "mqtt-topic", "qos", "connections"})},
      {"kafka", with({"brokers"})},
      {"check", {"brokers", "log", "topics", "json", "deadline", "settle", "faults-landed", "faults-required",
                 "metrics", "sources"}},
      {"udp-sink", {"listen", "duration", "gro"}},
  };
  const Args a = parse(argc, argv, known);
  if (a.command == "udp") require(a, {"target", "topic", "log"});
  if (a.command == "http") require(a, {"target", "route", "topic", "log"});
  if (a.command == "mqtt") require(a, {"target", "mqtt-topic", "topic", "log"});
  if (a.command == "kafka") require(a, {"brokers", "topic", "log"});
  if (a.command == "check") return require(a, {"brokers", "log"}), check(a);
  if (a.command == "udp-sink") return require(a, {"listen"}), sink(a);
  return generate(a);
}

}  // namespace
}  // namespace tributary::tools

int main(int argc, char** argv) { return tributary::tools::run(argc, argv); }
