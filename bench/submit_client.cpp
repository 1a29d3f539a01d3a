// Load client for bench/submit: K threads, each one connection to mailqd's
// submit socket (Unix or 127.0.0.1:port), each submitting M messages of a
// fixed size over ESMTP with PIPELINING. Per message: MAIL, RCPT and DATA in
// one write; after the 354, the whole body and the final "." in one write;
// then the 250 that must say "queued as ID". Prints one JSON line with the
// counts, the wall time and latency percentiles; --ids FILE writes every
// acknowledged queue ID, one per line, so the driver can check the queue.
// Plain POSIX sockets and std::thread: the client must cost the machine as
// little as possible, since it shares the CPU with the daemon it measures.
// Trusts the server only to speak SMTP; anything unexpected is counted as an
// error (the connection is then dropped: its state is unknown).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string socket;  // a path, or 127.0.0.1:PORT
    int clients = 1;
    int messages = 100;  // per client
    std::size_t size = 4096;
    std::string ids_file;
};

[[noreturn]] void usage(const char* why)
{
    std::fprintf(stderr,
                 "submit_client: %s\nusage: submit_client --socket PATH|127.0.0.1:PORT --clients K "
                 "--messages M [--size BYTES] [--ids FILE]\n",
                 why);
    std::exit(64);
}

Options parse_options(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (i + 1 >= argc) usage("option without a value");
        const char* value = argv[++i];
        if (arg == "--socket")
            o.socket = value;
        else if (arg == "--clients")
            o.clients = std::atoi(value);
        else if (arg == "--messages")
            o.messages = std::atoi(value);
        else if (arg == "--size")
            o.size = static_cast<std::size_t>(std::atol(value));
        else if (arg == "--ids")
            o.ids_file = value;
        else
            usage("unknown option");
    }
    if (o.socket.empty() || o.clients < 1 || o.messages < 1 || o.size < 512) usage("bad or missing option");
    return o;
}

// A message of exactly `size` bytes on the wire (CRLF lines, before the
// final "."): a few headers, then lines of 76 letters. No Date or
// Message-ID, as from a cron job: the daemon adds them.
std::string make_body(std::size_t size)
{
    std::string m =
        "From: Bench <bench@localhost>\r\nTo: <sink@example.com>\r\n"
        "Subject: mailqd submit benchmark\r\n\r\n";
    // 78-byte lines while more than 80 bytes are missing leaves 3 to 80
    // bytes for the last line, always at least an empty one.
    const std::string line = std::string(76, 'x') + "\r\n";
    while (size - m.size() > 80) m += line;
    m += std::string(size - m.size() - 2, 'y') + "\r\n";
    return m;
}

int connect_to(const std::string& where)
{
    auto colon = where.rfind(':');
    if (where.find('/') == std::string::npos && colon != std::string::npos) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<std::uint16_t>(std::atoi(where.c_str() + colon + 1)));
        if (inet_pton(AF_INET, where.substr(0, colon).c_str(), &sa.sin_addr) != 1) return -1;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (where.size() >= sizeof sa.sun_path) return -1;
    std::memcpy(sa.sun_path, where.c_str(), where.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One SMTP connection: whole writes, and replies read through a buffer.
class Connection {
public:
    explicit Connection(int fd) : fd_(fd) {}
    ~Connection() { ::close(fd_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool send(std::string_view data)
    {
        while (!data.empty()) {
            ssize_t n = ::write(fd_, data.data(), data.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // A whole reply (all its lines); nullopt when the connection broke.
    // Returns the last line, which carries the code and, for the final 250,
    // the queue ID.
    std::optional<std::string> reply()
    {
        for (;;) {
            auto line = read_line();
            if (!line || line->size() < 4) return std::nullopt;
            if ((*line)[3] != '-') return line;
        }
    }

private:
    std::optional<std::string> read_line()
    {
        for (;;) {
            auto lf = buffer_.find('\n', start_);
            if (lf != std::string::npos) {
                std::string line = buffer_.substr(start_, lf - start_);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                start_ = lf + 1;
                return line;
            }
            buffer_.erase(0, start_);
            start_ = 0;
            char chunk[4096];
            ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    int fd_;
    std::string buffer_;
    std::size_t start_ = 0;
};

bool has_code(const std::optional<std::string>& reply, std::string_view code)
{
    return reply && reply->compare(0, 3, code) == 0;
}

struct ClientResult {
    int acked = 0;
    int errors = 0;
    std::vector<std::string> ids;
    std::vector<double> latencies_us;
};

// "250 2.0.0 Ok: queued as 7F3A2C..." -> the ID, or empty.
std::string queue_id(const std::string& reply)
{
    static constexpr std::string_view marker = "queued as ";
    auto at = reply.find(marker);
    if (reply.compare(0, 3, "250") != 0 || at == std::string::npos) return {};
    std::string id = reply.substr(at + marker.size());
    return id.find(' ') == std::string::npos ? id : std::string{};
}

// One message on an open connection. false: the conversation is lost.
bool submit_one(Connection& c, const std::string& envelope, const std::string& body, ClientResult& r)
{
    const auto start = Clock::now();
    if (!c.send(envelope)) return false;
    auto mail = c.reply(), rcpt = c.reply(), data = c.reply();
    if (!has_code(mail, "250") || !has_code(rcpt, "250") || !has_code(data, "354")) {
        if (data && data->compare(0, 1, "3") != 0) return true;  // refused cleanly: next message
        return false;
    }
    if (!c.send(body)) return false;
    auto done = c.reply();
    if (!done) return false;
    std::string id = queue_id(*done);
    if (id.empty()) {
        std::fprintf(stderr, "submit_client: not queued: %s\n", done->c_str());
        return true;
    }
    r.latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    r.ids.push_back(std::move(id));
    ++r.acked;
    return true;
}

void run_client(const Options& o, const std::string& body, std::latch& connected, std::latch& go,
                ClientResult& r)
{
    int fd = connect_to(o.socket);
    std::optional<Connection> c;
    if (fd >= 0) {
        c.emplace(fd);
        if (!has_code(c->reply(), "220") || !c->send("EHLO bench.localhost\r\n") ||
            !has_code(c->reply(), "250"))
            c.reset();
    }
    connected.count_down();
    go.wait();
    if (!c) {
        r.errors = o.messages;
        return;
    }
    r.ids.reserve(static_cast<std::size_t>(o.messages));
    r.latencies_us.reserve(static_cast<std::size_t>(o.messages));
    const std::string envelope = "MAIL FROM:<bench@localhost> SIZE=" + std::to_string(body.size()) +
                                 "\r\nRCPT TO:<sink@example.com>\r\nDATA\r\n";
    for (int i = 0; i < o.messages; ++i) {
        if (!submit_one(*c, envelope, body, r)) {
            std::fprintf(stderr, "submit_client: connection lost after %d messages\n", r.acked);
            break;
        }
    }
    r.errors = o.messages - r.acked;
    if (c->send("QUIT\r\n")) (void)c->reply();
}

double percentile(std::vector<double>& v, double p)
{
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

}  // namespace

int main(int argc, char** argv)
{
    const Options o = parse_options(argc, argv);
    std::string body = make_body(o.size) + ".\r\n";
    std::vector<ClientResult> results(static_cast<std::size_t>(o.clients));
    std::latch connected(o.clients), go(1);
    std::vector<std::thread> threads;
    for (auto& r : results) threads.emplace_back([&, rp = &r] { run_client(o, body, connected, go, *rp); });
    connected.wait();  // every client has its connection and EHLO: time only the messages
    const auto start = Clock::now();
    go.count_down();
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    int acked = 0, errors = 0;
    std::vector<double> latencies;
    std::ofstream ids;
    if (!o.ids_file.empty()) ids.open(o.ids_file);
    for (auto& r : results) {
        acked += r.acked;
        errors += r.errors;
        latencies.insert(latencies.end(), r.latencies_us.begin(), r.latencies_us.end());
        for (const auto& id : r.ids) ids << id << '\n';
    }
    const double p50 = percentile(latencies, 0.50), p99 = percentile(latencies, 0.99);
    std::printf(
        "{\"clients\":%d,\"messages\":%d,\"acked\":%d,\"errors\":%d,\"size\":%zu,"
        "\"seconds\":%.4f,\"rate\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
        o.clients, o.clients * o.messages, acked, errors, o.size, seconds,
        seconds > 0 ? acked / seconds : 0.0, p50 / 1000, p99 / 1000);
    return errors == 0 ? 0 : 1;
}
