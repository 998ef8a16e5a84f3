#include "config/options.h"

#include <array>

namespace tributary::config {
namespace {

using T = OptionType;

constexpr std::array<std::string_view, 4> kLogLevels = {"debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 5> kCompressions = {"none", "gzip", "snappy", "lz4", "zstd"};
constexpr std::array<std::string_view, 3> kSourceTypes = {"udp", "http", "mqtt"};
constexpr std::array<std::string_view, 2> kMqttProtocols = {"3.1.1", "5"};
constexpr std::array<std::string_view, 2> kMqttFormats = {"raw", "json"};
constexpr std::array<std::string_view, 3> kMqttQos = {"0", "1", "2"};
constexpr std::array<std::string_view, 3> kSignatures = {"none", "github", "hmac-sha256"};
constexpr std::array<std::string_view, 3> kAuthModes = {"none", "bearer", "api_key"};
constexpr std::array<std::string_view, 2> kSignatureEncodings = {"hex", "base64"};
constexpr std::array<std::string_view, 3> kFsyncPolicies = {"always", "interval", "never"};
constexpr std::array<std::string_view, 2> kWhenFull = {"block", "drop_oldest"};
constexpr std::array<std::string_view, 7> kUdpKeyVars = {
    "node_id", "source", "remote_ip", "remote_port", "remote_addr", "json:", "device_id"};
constexpr std::array<std::string_view, 4> kUdpFormats = {"raw", "json", "ndjson", "frame"};
constexpr std::array<std::string_view, 2> kFrameReadings = {"json", "frame"};
constexpr std::array<std::string_view, 8> kHttpKeyVars = {
    "node_id", "source", "route", "remote_ip", "remote_port", "remote_addr", "header:", "json:"};

constexpr std::int64_t kKiB = 1024;
constexpr std::int64_t kMiB = 1024 * kKiB;
constexpr std::int64_t kMaxUdpDatagram = 65507;  // largest IPv4 UDP payload
constexpr std::int64_t kHour = 3'600'000;

constexpr std::array kTopLevel = {
    OptionDef{"node_id", T::kString, "", false,
              "Name of this edge node, stamped on every event (ce_source, ce_id). "
              "Default: the host name."},
    OptionDef{"logging", T::kSection, "", false, "Log lines on stderr, see `logging`."},
    OptionDef{"metrics", T::kSection, "", false,
              "The admin listener: Prometheus metrics and health, see `metrics`."},
    OptionDef{"io_threads", T::kInteger, "0", false,
              "Threads running the UDP and HTTP intakes (one io_context each). 0: half the "
              "CPUs the process may run on, at least one (one on a two-core gateway, which "
              "leaves a core to the ring writer and the Kafka forwarder). More threads help "
              "many UDP sockets or TLS connections on machines with more cores.",
              0, 64},
    OptionDef{"buffer", T::kSection, "", false,
              "The disk ring where accepted events wait for Kafka, see `buffer`."},
    OptionDef{"kafka", T::kSection, "", true, "Connection to the Kafka cluster, see `kafka`."},
    OptionDef{"sources", T::kList, "", true,
              "The intakes: a list of `udp`, `http` and `mqtt` sources, see `sources[]`."},
};

constexpr std::array<std::string_view, 2> kLogFormats = {"keyvalue", "json"};

constexpr std::array kLogging = {
    OptionDef{"level", T::kEnum, "info", false, "Lowest level written to stderr.", 0, 0, kLogLevels},
    OptionDef{"format", T::kEnum, "keyvalue", false,
              "One line per log event: `keyvalue` (ts=... level=... msg=... key=value) or "
              "`json` (one JSON object per line).",
              0, 0, kLogFormats},
    OptionDef{"per_event_limit", T::kInteger, "10", false,
              "Lines per second for each kind of per-event problem (a malformed datagram, a "
              "refused request); further ones are counted and summarised once a second. 0: no "
              "limit.",
              0, 1'000'000},
};

constexpr std::array kMetrics = {
    OptionDef{"listen", T::kString, "", false,
              "Address of the admin listener serving GET /metrics (Prometheus text format), "
              "/healthz and /readyz, e.g. `127.0.0.1:9464`; empty: no admin listener. Port 0 "
              "picks a free port."},
};

constexpr std::array kBuffer = {
    OptionDef{"dir", T::kString, "/var/lib/tributary/buffer", false,
              "Directory of the ring's segment files and checkpoint; created if missing. One "
              "Tributary process per directory."},
    OptionDef{"max_size", T::kSize, "1GiB", false,
              "Disk space the ring may use; what happens when it is full is set by "
              "`when_full`.",
              kMiB, 0},
    OptionDef{"segment_size", T::kSize, "64MiB", false,
              "Size at which a segment file is closed and a new one started; space is "
              "reclaimed a whole segment at a time.",
              64 * kKiB, 1024 * kMiB},
    OptionDef{"fsync", T::kEnum, "interval", false,
              "When an event counts as accepted: `always` after fdatasync (group commit), "
              "`interval` once written, synced every fsync_interval, `never` once written.",
              0, 0, kFsyncPolicies},
    OptionDef{"fsync_interval", T::kDuration, "100ms", false,
              "How often the ring syncs under `fsync: interval`.", 1, 10'000},
    OptionDef{"when_full", T::kEnum, "block", false,
              "What happens when the ring is full: `block` refuses new events (HTTP 503, "
              "UDP counted drop); `drop_oldest` discards the oldest whole segment that is not "
              "being forwarded and counts its events as dropped (max_size must then be at "
              "least 4 segments).",
              0, 0, kWhenFull},
    OptionDef{"max_unwritten", T::kSize, "64MiB", false,
              "Memory for accepted events on their way to the disk: not yet written to a "
              "segment file, or written and kept until a sync covers them (to be rewritten "
              "elsewhere if the sync fails). Beyond it new events are refused as busy, under "
              "either `when_full`: HTTP 503, MQTT messages wait at the broker (QoS 0 counted "
              "as dropped), UDP counted drop; memory stays bounded whatever the disk does. "
              "Under `fsync: interval` the ring also syncs as soon as half of it waits for a "
              "sync, before fsync_interval is up.",
              kMiB, 1024 * kMiB},
    OptionDef{"stage", T::kString, "", false,
              "A file on a tmpfs that outlives the process (e.g. /run/tributary/stage, with "
              "RuntimeDirectoryPreserve=yes under systemd) where, under `fsync: interval` and "
              "`never`, an event is accepted once copied, and written to a segment file "
              "shortly after; the next start puts what a crash left there into the ring. It "
              "takes the write out of an MQTT QoS 1/2 callback or an HTTP request. A tmpfs does not survive a power loss, nor does what the interval had "
              "not synced. Empty: off. Not allowed with `fsync: always`.",
              0, 0},
    OptionDef{"stage_size", T::kSize, "8MiB", false,
              "Size of the stage file (memory: it lives on a tmpfs). When it is full, events "
              "are accepted by the segment write, as without a stage, until the disk catches up.",
              64 * kKiB, 1024 * kMiB},
};

constexpr std::array kKafka = {
    OptionDef{"brokers", T::kString, "", true,
              "Bootstrap brokers, comma-separated host:port (librdkafka bootstrap.servers)."},
    OptionDef{"client_id", T::kString, "tributary", false, "Client id the brokers see."},
    OptionDef{"compression", T::kEnum, "lz4", false, "Compression codec for produced batches.",
              0, 0, kCompressions},
    OptionDef{"linger", T::kDuration, "5ms", false,
              "How long the producer waits to fill a batch (librdkafka linger.ms).", 0, 60'000},
    OptionDef{"batch_size", T::kSize, "1MiB", false,
              "Largest batch of records sent to one partition in one request (librdkafka "
              "batch.size).",
              1024, 2'147'483'647},
    OptionDef{"delivery_timeout", T::kDuration, "0s", false,
              "How long librdkafka keeps trying to deliver one record (message.timeout.ms); "
              "0s: until it is delivered. A record whose delivery times out stays in the ring "
              "and is produced again after `retry_backoff` (counted as retried); records of "
              "the same key that Kafka confirmed meanwhile are not sent again, so with a finite "
              "timeout per-key order can break across such a retry (0s keeps it).",
              0, kHour},
    OptionDef{"retry_backoff", T::kDuration, "500ms", false,
              "After a delivery failed for a reason worth retrying, how long the forwarder "
              "waits before producing again from the first failed record.",
              1, 10 * 60'000},
    OptionDef{"dead_letter_topic", T::kTopic, "", false,
              "Topic for records Kafka refuses for good (too large, invalid topic, not "
              "authorised, a topic the cluster has not had for `unknown_topic_timeout`), "
              "whether refused in a delivery report or when produced, with headers "
              "tributary_dlq_reason, tributary_dlq_error and tributary_dlq_topic; empty: such "
              "records are logged, counted and dropped. Never retried forever, never blocking "
              "the records behind them. If the dead-letter topic itself fails for a reason "
              "worth retrying, the record stays in the ring and takes the same way again."},
    OptionDef{"unknown_topic_timeout", T::kDuration, "60s", false,
              "How long records for a topic the cluster says it does not have are retried "
              "before they count as refused for good (dead_letter_topic, or logged, counted "
              "and dropped). The topic may be being created, or a broker may have answered "
              "from stale metadata; meanwhile the records behind them wait.",
              1, kHour},
    OptionDef{"max_drain_rate", T::kSize, "0", false,
              "Cap on the bytes of event values sent to Kafka per second (e.g. `2MiB`), so "
              "draining a backlog does not saturate a gateway's uplink; 0: no cap.",
              0, 0},
    OptionDef{"drain_timeout", T::kDuration, "10s", false,
              "The grace period on shutdown (SIGTERM): after the intakes stop, the ring's "
              "backlog is forwarded until Kafka has acknowledged all of it or this time is up. "
              "What is left stays in the ring for the next start.", 0, kHour},
    OptionDef{"security", T::kSection, "", false,
              "TLS and SASL towards the brokers, see `kafka.security`."},
    OptionDef{"properties", T::kStringMap, "", false,
              "Extra librdkafka properties passed through as-is. Each is checked by "
              "librdkafka when the file is loaded (`tributary check` names a misspelt "
              "property or a refused value with its line and column). Properties that would "
              "weaken the delivery contract (acks, enable.idempotence, ..., max.in.flight "
              "above 5) are refused; credentials are set under `security`, from files or the "
              "environment."},
};

constexpr std::array<std::string_view, 4> kSecurityProtocols = {"plaintext", "ssl", "sasl_plaintext",
                                                                "sasl_ssl"};
constexpr std::array<std::string_view, 3> kSaslMechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

constexpr std::array kKafkaSecurity = {
    OptionDef{"protocol", T::kEnum, "plaintext", false,
              "How to talk to the brokers (librdkafka security.protocol): TLS (`ssl`, "
              "`sasl_ssl`) and SASL authentication (`sasl_plaintext`, `sasl_ssl`).",
              0, 0, kSecurityProtocols},
    OptionDef{"sasl_mechanism", T::kEnum, "PLAIN", false, "SASL mechanism, with a sasl_* protocol.",
              0, 0, kSaslMechanisms},
    OptionDef{"username", T::kString, "", false, "SASL user name."},
    OptionDef{"password_file", T::kString, "", false,
              "File holding the SASL password (a trailing newline is dropped)."},
    OptionDef{"password_env", T::kString, "", false,
              "Environment variable holding the SASL password."},
    OptionDef{"ca_file", T::kString, "", false,
              "PEM file of the CAs that sign the brokers' certificates; empty: the system's."},
    OptionDef{"cert_file", T::kString, "", false,
              "PEM client certificate, when the brokers require TLS client authentication."},
    OptionDef{"key_file", T::kString, "", false, "PEM private key of cert_file."},
    OptionDef{"key_password_file", T::kString, "", false,
              "File holding the password of key_file, if it is encrypted."},
    OptionDef{"key_password_env", T::kString, "", false,
              "Environment variable holding the password of key_file."},
    OptionDef{"verify_hostname", T::kBool, "true", false,
              "Check that the broker's certificate names the host connected to."},
};

constexpr std::array kSourceCommon = {
    OptionDef{"name", T::kString, "", true,
              "Unique name of the source; appears in ce_source and in logs."},
    OptionDef{"type", T::kEnum, "", true, "Kind of intake.", 0, 0, kSourceTypes},
};

// `listen` belongs to the sources that listen (udp, http), not to the MQTT bridge.
constexpr OptionDef kListen{"listen", T::kHostPort, "", true,
                            "Address to listen on, `host:port` or `[v6]:port`; port 0 picks a free port."};

constexpr std::array kUdpSource = {
    kListen,
    OptionDef{"topic", T::kTopic, "", true, "Kafka topic every datagram goes to."},
    OptionDef{"key", T::kTemplate, "", false,
              "Kafka key template; empty means no key. Variables: {node_id}, {source}, "
              "{remote_ip}, {remote_port}, {remote_addr}, with format json or ndjson "
              "{json:field} (a dotted path into the object; strings as they are, other "
              "values as JSON text, missing as empty), with format frame {device_id}. With "
              "format frame an empty key means {device_id}.",
              0, 0, kUdpKeyVars},
    OptionDef{"max_datagram", T::kSize, "65507", false,
              "Larger datagrams are dropped and counted as oversized.", 1, kMaxUdpDatagram},
    OptionDef{"format", T::kEnum, "raw", false,
              "What a datagram holds: `raw` (one event, bytes as they are), `json` (one event, "
              "validated; the key may use {json:field} or {json:a.b}), `ndjson` (one event "
              "per line, each validated; the datagram is taken whole or not at all), `frame` "
              "(one device frame, firmware-bridge/frame.fbs: verified, sequence-tracked per "
              "device and boot id, exact duplicates dropped). A datagram that does not parse "
              "is dropped and counted as malformed.",
              0, 0, kUdpFormats},
    OptionDef{"readings", T::kEnum, "json", false,
              "With format frame, the Kafka value of a frame that carries readings: `json` (an "
              "object with device_id, boot_id, sequence, device_time and the typed readings) "
              "or `frame` (the frame's bytes as received). A frame's payload is always the "
              "value as it is.",
              0, 0, kFrameReadings},
    OptionDef{"dedup_window", T::kInteger, "1024", false,
              "With format frame, how many recent sequence numbers per device are remembered: "
              "a frame seen again within them is an exact duplicate and dropped (counted); "
              "older ones are taken and counted as late. Rounded up to a multiple of 64.",
              64, 65536},
    OptionDef{"max_devices", T::kInteger, "100000", false,
              "With format frame, how many devices' sequences are tracked (dedup_window / 8 "
              "bytes each); beyond it the least recently heard device is forgotten (counted).",
              1, 10'000'000},
    OptionDef{"threads", T::kInteger, "1", false,
              "Sockets bound to the address with SO_REUSEPORT, placed on the io threads in "
              "turn (see `io_threads`), so the kernel spreads senders over cores; more "
              "sockets than io threads add nothing.",
              1, 64},
    OptionDef{"batch", T::kInteger, "64", false,
              "Datagrams read per system call (recvmmsg).", 1, 1024},
    OptionDef{"receive_buffer", T::kSize, "4MiB", false,
              "Socket receive buffer (SO_RCVBUF). The kernel caps it at net.core.rmem_max; "
              "the size granted is logged at start.",
              64 * kKiB, 1024 * kMiB},
    OptionDef{"gro", T::kBool, "false", false,
              "Let the kernel hand over datagrams of one sender that arrive together as one "
              "coalesced message (UDP_GRO), split again here: each is still one event, "
              "checked on its own, and the CPU cost per datagram falls by about 40%. The "
              "price: when the receive buffer overflows, the kernel counts a dropped "
              "coalesced message as one drop, so kernel_overflow then undercounts the "
              "datagrams lost. Each of the `batch` read buffers is then at least 64 KiB: "
              "threads x batch x 64 KiB in all (4 MiB per socket with the defaults, the same "
              "as with the default max_datagram)."},
    OptionDef{"allow", T::kString, "", false,
              "Comma-separated source networks allowed to send (`10.0.0.0/8, ::1/128`); "
              "datagrams from elsewhere are dropped and counted. Empty: any sender."},
    OptionDef{"dead_letter_topic", T::kTopic, "", false,
              "Where malformed datagrams go (bytes as received, no key, the reason in header "
              "tributary_dlq_reason) instead of being dropped; counted as dead-lettered. "
              "Empty: malformed datagrams are dropped and counted."},
};

constexpr std::array kHttpSource = {
    kListen,
    OptionDef{"max_body", T::kSize, "1MiB", false,
              "Largest request body accepted; larger requests get 413.", 1, 64 * kMiB},
    OptionDef{"max_header", T::kSize, "16KiB", false,
              "Largest request header block accepted; larger requests get 431.", kKiB, kMiB},
    OptionDef{"request_timeout", T::kDuration, "30s", false,
              "Time a client has to send a whole request, from its first byte; slower "
              "clients are cut off.", 100, kHour},
    OptionDef{"idle_timeout", T::kDuration, "60s", false,
              "How long a keep-alive connection may wait for its next request (or a new one "
              "for its first); then it is closed.", 100, kHour},
    OptionDef{"max_connections", T::kInteger, "1024", false,
              "Open connections this source serves at once; one more is answered 503 (with "
              "Retry-After) and closed (over HTTPS: closed before the TLS handshake, unanswered). With request_timeout and idle_timeout, this bounds what slow or idle "
              "clients can hold.",
              1, 100000},
    OptionDef{"tls_cert_file", T::kString, "", false,
              "PEM certificate (chain) of this listener: with tls_key_file, the source serves "
              "HTTPS only. Changing it needs a restart."},
    OptionDef{"tls_key_file", T::kString, "", false, "PEM private key of tls_cert_file."},
    OptionDef{"tls_client_ca_file", T::kString, "", false,
              "PEM file of the CAs that sign client certificates: set, every client must present "
              "a certificate that chains to one of them (mutual TLS); a client without one "
              "fails the handshake and is counted."},
    OptionDef{"idempotency_window", T::kDuration, "24h", false,
              "How long an `Idempotency-Key` request header is remembered: a request repeating "
              "a key (same route) whose first request was stored is answered again with the "
              "first answer and stores nothing; one repeated while the first is still being "
              "stored gets 409. 0s: the header is ignored.",
              0, 7 * 24 * kHour},
    OptionDef{"idempotency_max_keys", T::kInteger, "100000", false,
              "Keys remembered at most (the oldest are forgotten first), bounding memory.", 1,
              10'000'000},
    OptionDef{"routes", T::kList, "", true,
              "Routes served as `POST /v1/events/{name}`, see `sources[].routes[]`."},
    OptionDef{"rest_proxy_topics", T::kString, "", false,
              "Serves the Confluent REST Proxy v2 produce API, `POST /topics/{topic}` "
              "(application/vnd.kafka.json.v2+json or ...binary.v2+json), for these topics: "
              "comma-separated names or prefixes ending in `*` (`orders, telemetry.*`). The "
              "answer comes once the records are in the ring, so each offset entry has "
              "partition and offset null (Kafka has not assigned them yet) and error_code "
              "null. A record's `partition` is kept (a partition the topic does not have is "
              "refused by Kafka after `unknown_topic_timeout` and dead-lettered or dropped, "
              "not answered with 404 as the REST Proxy would: the answer comes before Kafka "
              "is asked); a null `value` is a tombstone (a Kafka null value). Empty: off."},
    OptionDef{"rest_proxy_auth", T::kEnum, "none", false,
              "Who may use the REST Proxy API: `bearer` or `api_key` with the tokens of "
              "rest_proxy_tokens_file, like a route's `auth`. A source whose routes require "
              "tokens must set it (or require client certificates), so the API is no way "
              "around them.",
              0, 0, kAuthModes},
    OptionDef{"rest_proxy_tokens_file", T::kString, "", false,
              "With rest_proxy_auth: the tokens file (one per line, re-read when it changes)."},
    OptionDef{"rest_proxy_api_key_header", T::kString, "X-API-Key", false,
              "With rest_proxy_auth: api_key, the header carrying the key."},
};

constexpr std::array kHttpRoute = {
    OptionDef{"name", T::kString, "", true,
              "The `{name}` in `POST /v1/events/{name}`; letters, digits, `.`, `_`, `-`."},
    OptionDef{"topic", T::kTopic, "", false,
              "Kafka topic the route's events go to (`POST /v1/events/{name}`). Required unless "
              "path_topics is set."},
    OptionDef{"path_topics", T::kString, "", false,
              "Topics a request may name in its path, `POST /v1/events/{name}/{topic}`: "
              "comma-separated names or prefixes ending in `*` (`app.*, audit`). A topic "
              "outside the list gets 404. Empty: the path names no topic."},
    OptionDef{"key", T::kTemplate, "", false,
              "Kafka key template; empty means no key. Variables: {node_id}, {source}, "
              "{route}, {remote_ip}, {remote_port}, {remote_addr}, {header:NAME}, and "
              "{json:PATH}: of each line of an NDJSON body (Content-Type "
              "application/x-ndjson), or of a single event's body, which must then be one "
              "JSON document (else 400 naming the line and column; stored as it came).",
              0, 0, kHttpKeyVars},
    OptionDef{"auth", T::kEnum, "none", false,
              "Who may post to the route: `bearer` (`Authorization: Bearer TOKEN`) or "
              "`api_key` (the api_key_header), with the tokens of tokens_file. A request "
              "without a valid token gets 401, one with a token valid only for another route "
              "of the source 403; nothing is stored.",
              0, 0, kAuthModes},
    OptionDef{"tokens_file", T::kString, "", false,
              "With auth: a file of tokens, one per line (`#` comments); several may be valid "
              "at once. It is read again when it changes (checked every second), so tokens "
              "rotate without a restart."},
    OptionDef{"api_key_header", T::kString, "X-API-Key", false, "With auth: api_key, the header carrying the key."},
    OptionDef{"signature", T::kEnum, "none", false,
              "Verified webhooks: `github` (header X-Hub-Signature-256, `sha256=<hex>`, the "
              "delivery id X-GitHub-Delivery as event id) or `hmac-sha256` (signature_header, "
              "signature_prefix, signature_encoding). The HMAC-SHA256 of the raw body is "
              "checked in constant time before anything is stored; a missing or wrong "
              "signature gets 401.",
              0, 0, kSignatures},
    OptionDef{"secret_file", T::kString, "", false,
              "File holding the webhook secret (trailing newline ignored); or secret_env."},
    OptionDef{"secret_env", T::kString, "", false,
              "Environment variable holding the webhook secret."},
    OptionDef{"signature_header", T::kString, "", false,
              "With hmac-sha256: the request header carrying the signature."},
    OptionDef{"signature_prefix", T::kString, "", false,
              "With hmac-sha256: text before the digest in the header, e.g. `sha256=`."},
    OptionDef{"signature_encoding", T::kEnum, "hex", false,
              "With hmac-sha256: how the digest is written.", 0, 0, kSignatureEncodings},
    OptionDef{"id_header", T::kString, "", false,
              "A request header whose value becomes the event id (ce_id), so redeliveries "
              "can be de-duplicated downstream (NDJSON lines get `-N` appended). Default "
              "with signature github: X-GitHub-Delivery."},
};

constexpr std::array kMqttSource = {
    OptionDef{"broker", T::kString, "", true,
              "The broker to bridge: `tcp://host:port` or `ssl://host:port` (TLS); "
              "`mqtt://` and `mqtts://` are the same."},
    OptionDef{"protocol", T::kEnum, "5", false,
              "MQTT version: `5` (session expiry, user properties and content type become "
              "headers; a user property named like a header Tributary sets, `ce_*`, "
              "`content-type`, `traceparent`, `mqtt_*` or `tributary_*`, is not copied) or `3.1.1`.",
              0, 0, kMqttProtocols},
    OptionDef{"client_id", T::kString, "", false,
              "Client id, stable across restarts so the broker keeps the session; with "
              "`clients` > 1 each client appends `-N`. Default: `tributary-<node_id>-<name>`."},
    OptionDef{"clients", T::kInteger, "1", false,
              "Bridge clients of this source, sharing its subscriptions "
              "(`$share/<share_group>/...`). Each message is acknowledged only once it is in "
              "the ring, and Paho runs one receive thread for all clients of a process, so "
              "more clients add little here; several Tributary processes in one share_group "
              "scale.",
              1, 64},
    OptionDef{"share_group", T::kString, "", false,
              "MQTT 5 shared subscription group: the broker spreads messages over the "
              "clients of every process subscribing with the same group. Default with "
              "`clients` > 1: the client id; otherwise none."},
    OptionDef{"username", T::kString, "", false, "User name for the broker; empty: none."},
    OptionDef{"password_file", T::kString, "", false,
              "File holding the password (trailing newline ignored)."},
    OptionDef{"password_env", T::kString, "", false,
              "Environment variable holding the password (instead of password_file)."},
    OptionDef{"ca_file", T::kString, "", false,
              "With ssl://: CA certificates (PEM) the broker's certificate must chain to; "
              "empty: the system's."},
    OptionDef{"cert_file", T::kString, "", false, "With ssl://: client certificate (PEM) for mTLS."},
    OptionDef{"key_file", T::kString, "", false, "With ssl://: the client certificate's key (PEM)."},
    OptionDef{"verify_hostname", T::kBool, "true", false,
              "With ssl://: check that the broker's certificate names the host in `broker`."},
    OptionDef{"keep_alive", T::kDuration, "30s", false,
              "MQTT keep-alive: a silent connection is declared lost after 1.5 times this.",
              1000, kHour},
    OptionDef{"session_expiry", T::kDuration, "1d", false,
              "How long the broker keeps the session (subscriptions and queued QoS 1/2 "
              "messages) while Tributary is away. MQTT 3.1.1: a persistent session "
              "(clean session off) for as long as the broker keeps it.",
              0, 4'294'967'000},
    OptionDef{"reconnect_min", T::kDuration, "500ms", false,
              "First wait before reconnecting; doubled after each failure, with jitter.", 10, kHour},
    OptionDef{"reconnect_max", T::kDuration, "30s", false, "Longest wait between reconnects.", 10,
              kHour},
    OptionDef{"format", T::kEnum, "raw", false,
              "What a message holds: `raw` (bytes as they are) or `json` (validated; the key "
              "may use {json:PATH}). A message that does not parse is malformed.",
              0, 0, kMqttFormats},
    OptionDef{"max_message", T::kSize, "1MiB", false,
              "Larger messages are malformed (dropped and counted, or dead-lettered).", 1,
              256 * kMiB},
    OptionDef{"forward_retained", T::kBool, "false", false,
              "Whether retained messages the broker replays on subscribe are forwarded "
              "(header mqtt_retained: true). Messages published while subscribed are always "
              "forwarded."},
    OptionDef{"dead_letter_topic", T::kTopic, "", false,
              "Where malformed messages go (payload as received, reason in header "
              "tributary_dlq_reason); empty: they are dropped and counted. Either way they "
              "are acknowledged and never stop the bridge."},
    OptionDef{"subscriptions", T::kList, "", true,
              "Topic filters and how their messages map to Kafka, see "
              "`sources[].subscriptions[]`."},
};

constexpr std::array kMqttSubscription = {
    OptionDef{"filter", T::kString, "", true,
              "MQTT topic filter with named levels: `sensors/{site}/{device}/telemetry` "
              "subscribes to `sensors/+/+/telemetry` and names the levels for `topic` and "
              "`key`; `+` and a final `#` work as in MQTT."},
    OptionDef{"qos", T::kEnum, "1", false,
              "QoS of the subscription. 1 and 2: the broker's message is acknowledged only "
              "once it is in the ring; 0: a message the ring cannot take is dropped and "
              "counted.",
              0, 0, kMqttQos},
    OptionDef{"topic", T::kString, "", true,
              "Kafka topic template: literal text and the filter's level names, e.g. "
              "`iot.{site}`; also {source}, {node_id}. A message whose topic renders invalid "
              "is malformed."},
    OptionDef{"key", T::kString, "", false,
              "Kafka key template; empty means no key. Variables: the filter's level names, "
              "{mqtt_topic}, {source}, {node_id}, and with format json {json:PATH}."},
};

constexpr std::array kSections = {
    SectionDef{"(top level)", "The file's top-level keys.", kTopLevel},
    SectionDef{"buffer", "Where events become durable: the disk ring.", kBuffer},
    SectionDef{"logging", "Log lines on stderr (journald keeps them under systemd).", kLogging},
    SectionDef{"metrics", "The admin listener: Prometheus metrics and health endpoints.", kMetrics},
    SectionDef{"kafka", "Where events leave: the Kafka producer.", kKafka},
    SectionDef{"kafka.security", "TLS and SASL towards the brokers.", kKafkaSecurity},
    SectionDef{"sources[]", "Keys every source has.", kSourceCommon},
    SectionDef{"sources[] (type: udp)", "A UDP listener: one datagram is one event.", kUdpSource},
    SectionDef{"sources[] (type: http)", "An HTTP listener serving the events API.", kHttpSource},
    SectionDef{"sources[].routes[]", "One route of an HTTP source.", kHttpRoute},
    SectionDef{"sources[] (type: mqtt)",
               "An MQTT bridge: a client of the gateway's broker (Paho MQTT C++).", kMqttSource},
    SectionDef{"sources[].subscriptions[]", "One topic filter of an MQTT source.", kMqttSubscription},
};

}  // namespace

std::span<const OptionDef> top_level_options() { return kTopLevel; }
std::span<const OptionDef> kafka_options() { return kKafka; }
std::span<const OptionDef> buffer_options() { return kBuffer; }
std::span<const OptionDef> logging_options() { return kLogging; }
std::span<const OptionDef> metrics_options() { return kMetrics; }
std::span<const OptionDef> kafka_security_options() { return kKafkaSecurity; }
std::span<const OptionDef> source_common_options() { return kSourceCommon; }
std::span<const OptionDef> udp_source_options() { return kUdpSource; }
std::span<const OptionDef> mqtt_source_options() { return kMqttSource; }
std::span<const OptionDef> mqtt_subscription_options() { return kMqttSubscription; }
std::span<const OptionDef> http_source_options() { return kHttpSource; }
std::span<const OptionDef> http_route_options() { return kHttpRoute; }
std::span<const SectionDef> all_sections() { return kSections; }

std::string_view type_name(OptionType type) {
  switch (type) {
    case T::kString: return "string";
    case T::kInteger: return "integer";
    case T::kBool: return "bool";
    case T::kSize: return "size";
    case T::kDuration: return "duration";
    case T::kEnum: return "enum";
    case T::kHostPort: return "host:port";
    case T::kTemplate: return "template";
    case T::kTopic: return "topic";
    case T::kStringMap: return "map";
    case T::kSection: return "map";
    case T::kList: return "list";
  }
  return "?";
}

}  // namespace tributary::config
