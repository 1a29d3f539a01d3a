// The submit door end to end without the daemon: a real SubmitServer on a
// temporary Unix socket and 127.0.0.1:0, a fake commit function, and a
// blocking client speaking SMTP/LMTP at it.
#include "daemon/submit/submit_server.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace mailqd {
namespace {

using namespace std::chrono_literals;

// A blocking client with a receive timeout, so a broken server fails the
// test instead of hanging it.
class Client {
public:
    explicit Client(const std::filesystem::path& path)
    {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        set_timeout();
    }
    explicit Client(std::uint16_t port)
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        set_timeout();
    }
    ~Client() { ::close(fd_); }

    bool connected() const { return connected_; }
    bool send(std::string_view data)
    {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // One line without CRLF; "<eof>" when the server closed, "<timeout>".
    std::string line()
    {
        while (true) {
            auto lf = buffer_.find("\r\n");
            if (lf != std::string::npos) {
                std::string out = buffer_.substr(0, lf);
                buffer_.erase(0, lf + 2);
                return out;
            }
            char chunk[4096];
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n == 0) return "<eof>";
            if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? "<timeout>" : "<eof>";
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    // A whole (possibly multi-line) reply, lines joined with "\n".
    std::string reply()
    {
        std::string out;
        while (true) {
            std::string l = line();
            out += l;
            if (l.size() < 4 || l[3] != '-') return out;
            out += "\n";
        }
    }
    // The server has sent something (or closed) that is not read yet.
    bool readable()
    {
        pollfd p{fd_, POLLIN, 0};
        return !buffer_.empty() || ::poll(&p, 1, 0) > 0;
    }
    std::string command(std::string_view text)
    {
        send(std::string(text) + "\r\n");
        return reply();
    }

private:
    void set_timeout()
    {
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    int fd_ = -1;
    bool connected_ = false;
    std::string buffer_;
};

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

// MAIL, RCPT and DATA, ready for the message text.
void open_data(Client& c)
{
    c.command("MAIL FROM:<a@example.com>");
    c.command("RCPT TO:<b@example.org>");
    EXPECT_TRUE(c.command("DATA").rfind("354 ", 0) == 0);
}

class SubmitServerTest : public ::testing::Test {
protected:
    void start(SubmitOptions options = defaults())
    {
        char pattern[] = "/tmp/mailqd-submit-XXXXXX";
        dir_ = ::mkdtemp(pattern);
        socket_ = dir_ / "submit.sock";
        server_ = std::make_unique<SubmitServer>(io_.get_executor(), options,
                                                 [this](NewMessage m) { return accept(std::move(m)); });
        ASSERT_TRUE(server_->listen_unix(socket_, 0660, "").ok());
        ASSERT_TRUE(server_->listen_tcp("127.0.0.1:0").ok());
        ASSERT_NE(server_->tcp_port(), 0);
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override
    {
        if (!server_) return;
        asio::post(io_, [this] { server_->stop(); });
        guard_.reset();
        thread_.join();
        server_.reset();
        std::filesystem::remove_all(dir_);
    }

    static SubmitOptions defaults()
    {
        SubmitOptions o;
        o.hostname = "mx.test";
        o.max_message_size = 10000;
        o.max_clients = 8;
        o.timeout = 5s;
        return o;
    }

    awaitable<Result<std::string>> accept(NewMessage message)
    {
        if (commit_delay_ > 0ms) {
            asio::steady_timer timer(io_, commit_delay_);
            co_await timer.async_wait(use_awaitable);
        }
        std::lock_guard lock(mutex_);
        messages_.push_back(std::move(message));
        if (!result_.ok()) co_return result_.error();
        co_return std::string("Q") + std::to_string(messages_.size());
    }

    std::vector<NewMessage> messages()
    {
        std::lock_guard lock(mutex_);
        return messages_;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    std::unique_ptr<SubmitServer> server_;
    std::thread thread_;
    std::filesystem::path dir_, socket_;
    std::mutex mutex_;
    std::vector<NewMessage> messages_;
    Result<std::string> result_ = std::string("ok");
    std::chrono::milliseconds commit_delay_{0};
};

std::string current_user()
{
    struct passwd* pw = ::getpwuid(::getuid());
    return pw ? pw->pw_name : std::to_string(::getuid());
}

TEST_F(SubmitServerTest, SmtpOverUnixSocket)
{
    start();
    Client c(socket_);
    ASSERT_TRUE(c.connected());
    EXPECT_EQ(c.reply(), "220 mx.test ESMTP mailqd");
    std::string ehlo = c.command("EHLO client");
    EXPECT_EQ(ehlo,
              "250-mx.test\n250-PIPELINING\n250-SIZE 10000\n250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250 "
              "ENHANCEDSTATUSCODES");
    EXPECT_EQ(c.command("MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME"), "250 2.1.0 Ok");
    EXPECT_EQ(c.command("RCPT TO:<b@example.org>"), "250 2.1.5 Ok");
    EXPECT_EQ(c.command("RCPT TO:<b@example.org>"), "250 2.1.5 Ok");
    EXPECT_EQ(c.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
    c.send("Subject: hi\n\n..leading dot\nplain\r\n.\r\n");
    EXPECT_EQ(c.reply(), "250 2.0.0 Ok: queued as Q1");
    EXPECT_EQ(c.command("QUIT"), "221 2.0.0 Bye");
    EXPECT_EQ(c.line(), "<eof>");

    auto got = messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].sender, "a@example.com");
    EXPECT_EQ(got[0].recipients, std::vector<std::string>{"b@example.org"});
    EXPECT_NE(got[0].data.find("Subject: hi\r\n"), std::string::npos);
    EXPECT_NE(got[0].data.find("\r\n\r\n.leading dot\r\nplain\r\n"), std::string::npos);
    // As received: the daemon's Intake adds Date and Message-ID, for every door.
    EXPECT_EQ(got[0].data.find("Date: "), std::string::npos);
    EXPECT_FALSE(got[0].remove_bcc);
    EXPECT_EQ(got[0].door, "socket");
    EXPECT_EQ(got[0].submitter, current_user());
}

// RFC 3461 on the door: RET and ENVID of MAIL, NOTIFY and ORCPT of each
// RCPT reach the message, one per recipient queued (a repeat keeps the
// first); a bad value is a 501 that names the parameter.
TEST_F(SubmitServerTest, DsnParametersReachTheMessage)
{
    start();
    Client c(socket_);
    c.reply();
    c.command("EHLO client");
    EXPECT_EQ(c.command("MAIL FROM:<a@example.com> RET=FULL ENVID=QQ+2B1"), "250 2.1.0 Ok");
    EXPECT_EQ(c.command("RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B@example.org"),
              "250 2.1.5 Ok");
    EXPECT_EQ(c.command("RCPT TO:<c@example.org> NOTIFY=MAYBE"),
              "501 5.5.4 Bad NOTIFY parameter (NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY)");
    EXPECT_EQ(c.command("RCPT TO:<c@example.org>"), "250 2.1.5 Ok");
    EXPECT_EQ(c.command("RCPT TO:<b@example.org> NOTIFY=NEVER"), "250 2.1.5 Ok");
    EXPECT_EQ(c.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
    c.send("Subject: dsn\r\n\r\nbody\r\n.\r\n");
    EXPECT_EQ(c.reply(), "250 2.0.0 Ok: queued as Q1");
    EXPECT_TRUE(starts_with(c.command("MAIL FROM:<a@example.com> ENVID=a=b"), "501 5.5.4 Bad ENVID"));
    // Without DSN parameters a message carries none.
    open_data(c);
    c.send("Subject: plain\r\n\r\nbody\r\n.\r\n");
    EXPECT_EQ(c.reply(), "250 2.0.0 Ok: queued as Q2");

    auto got = messages();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].dsn, (MessageDsn{DsnRet::full, "QQ+1"}));
    EXPECT_EQ(got[0].recipients, (std::vector<std::string>{"b@example.org", "c@example.org"}));
    ASSERT_EQ(got[0].recipient_dsn.size(), 2u);
    EXPECT_EQ(got[0].recipient_dsn[0],
              (RecipientDsn{*parse_dsn_notify("success,failure"), "rfc822;B@example.org"}));
    EXPECT_EQ(got[0].recipient_dsn[1], RecipientDsn{});
    EXPECT_EQ(got[1].dsn, MessageDsn{});
    EXPECT_TRUE(got[1].recipient_dsn.empty());
}

TEST_F(SubmitServerTest, LmtpRepliesPerRecipient)
{
    start();
    Client c(socket_);
    c.reply();
    EXPECT_TRUE(starts_with(c.command("LHLO client"), "250-mx.test"));
    c.command("MAIL FROM:<>");
    c.command("RCPT TO:<x@example.org>");
    c.command("RCPT TO:<y@example.org>");
    c.command("DATA");
    c.send("Subject: lmtp\r\n\r\nbody\r\n.\r\n");
    EXPECT_EQ(c.reply(), "250 2.1.5 <x@example.org> Ok: queued as Q1");
    EXPECT_EQ(c.reply(), "250 2.1.5 <y@example.org> Ok: queued as Q1");
    auto got = messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].sender, "");
    EXPECT_EQ(got[0].recipients.size(), 2u);
}

TEST_F(SubmitServerTest, PipelinedOverTcp)
{
    start();
    Client c(server_->tcp_port());
    c.reply();
    c.send(
        "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nRCPT "
        "TO:<c@example.org>\r\nDATA\r\n");
    EXPECT_TRUE(starts_with(c.reply(), "250-mx.test"));
    EXPECT_EQ(c.reply(), "250 2.1.0 Ok");
    EXPECT_EQ(c.reply(), "250 2.1.5 Ok");
    EXPECT_EQ(c.reply(), "250 2.1.5 Ok");
    EXPECT_TRUE(starts_with(c.reply(), "354 "));
    c.send("Subject: p\r\n\r\nx\r\n.\r\nRSET\r\nQUIT\r\n");
    EXPECT_EQ(c.reply(), "250 2.0.0 Ok: queued as Q1");
    EXPECT_EQ(c.reply(), "250 2.0.0 Ok");
    EXPECT_EQ(c.reply(), "221 2.0.0 Bye");
    auto got = messages();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].door, "tcp");
    EXPECT_EQ(got[0].submitter, current_user());  // the owner of the client's socket
}

TEST_F(SubmitServerTest, SizeLimits)
{
    start();
    Client c(socket_);
    c.reply();
    c.command("EHLO c");
    EXPECT_EQ(c.command("MAIL FROM:<a@example.com> SIZE=10001"),
              "552 5.3.4 Message size exceeds fixed limit");
    EXPECT_EQ(c.command("MAIL FROM:<a@example.com> SIZE=10"), "250 2.1.0 Ok");
    c.command("RCPT TO:<b@example.org>");
    c.command("DATA");
    std::string big = "Subject: big\r\n\r\n";
    for (int i = 0; i < 300; ++i) big += std::string(70, 'z') + "\r\n";
    big += std::string(50000, 'w') + "\r\n";  // one very long line, dropped unbuffered
    c.send(big + ".\r\n");
    EXPECT_EQ(c.reply(), "552 5.3.4 Message size exceeds fixed limit");
    EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok");  // the session goes on
    EXPECT_TRUE(messages().empty());
}

// SMTP smuggling, inbound: text with bare LFs around a "." from a client
// that speaks CRLF stays inside its message; only CRLF.CRLF ends DATA.
TEST_F(SubmitServerTest, BareLineEndsDoNotEndData)
{
    start();
    Client c(socket_);
    c.reply();
    c.command("EHLO c");
    for (std::string_view dot : {"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r"}) {
        c.command("MAIL FROM:<app@example.com>");
        c.command("RCPT TO:<user@example.org>");
        c.command("DATA");
        c.send("Subject: s\r\n\r\ntext" + std::string(dot) +
               "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nforged\r\n.\r\n");
        EXPECT_TRUE(starts_with(c.reply(), "250 2.0.0 Ok: queued as ")) << dot;
    }
    EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok");  // nothing pipelined behind
    auto got = messages();
    ASSERT_EQ(got.size(), 4u);
    for (const auto& m : got) {
        EXPECT_EQ(m.recipients, std::vector<std::string>{"user@example.org"});
        EXPECT_NE(m.data.find("text\r\n.\r\nMAIL FROM:<evil@example.com>\r\n"), std::string::npos) << m.data;
        EXPECT_EQ(m.data.find_first_of('\n'), m.data.find("\r\n") + 1);  // CRLF throughout
    }
}

TEST_F(SubmitServerTest, HeaderLinesLongerThan998AreRefused)
{
    start();
    Client c(socket_);
    c.reply();
    c.command("EHLO c");
    open_data(c);
    c.send("Subject: " + std::string(995, 's') + "\r\n\r\nbody\r\n.\r\n");
    EXPECT_EQ(c.reply(), "554 5.6.0 Message header line longer than 998 characters (RFC 5322)");
    open_data(c);
    // Body lines may be longer (within max_message_size).
    c.send("Subject: " + std::string(989, 's') + "\r\n\r\n" + std::string(5000, 'b') + "\r\n.\r\n");
    EXPECT_TRUE(starts_with(c.reply(), "250 "));
    EXPECT_EQ(messages().size(), 1u);
}

// The door's memory budget: a message that would take it past the budget
// is read to its end, dropped and answered 451 4.3.1; once the holder is
// done, the same message goes through.
TEST_F(SubmitServerTest, DataPastTheBudgetIsRefusedForNow)
{
    SubmitOptions o = defaults();
    // Each message holds 3-4.25 MB (its text, the string's spare capacity,
    // the claim's step); one user may hold 6 of the 8 MB: one fits, two do
    // not.
    o.max_message_size = 10 << 20;
    o.data_budget = 8 << 20;
    start(o);
    auto open_data = [&](Client& c) {
        c.reply();
        c.command("EHLO c");
        c.command("MAIL FROM:<a@example.com>");
        c.command("RCPT TO:<b@example.org>");
        EXPECT_TRUE(starts_with(c.command("DATA"), "354 "));
    };
    Client holder(socket_), other(socket_);
    open_data(holder);
    open_data(other);
    const std::string line = std::string(999, 'x') + "\r\n";
    std::string text = "Subject: big\r\n\r\n";
    while (text.size() < (3u << 20)) text += line;
    ASSERT_TRUE(holder.send(text));  // held: no end yet
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (server_->data_in_use() < (3u << 20) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    ASSERT_GE(server_->data_in_use(), 3u << 20);
    ASSERT_TRUE(other.send(text + ".\r\n"));
    EXPECT_EQ(other.reply(), "451 4.3.1 Insufficient system resources, try again later");
    ASSERT_TRUE(holder.send(".\r\n"));
    EXPECT_TRUE(starts_with(holder.reply(), "250 "));
    other.command("MAIL FROM:<a@example.com>");
    other.command("RCPT TO:<b@example.org>");
    other.command("DATA");
    ASSERT_TRUE(other.send(text + ".\r\n"));
    EXPECT_TRUE(starts_with(other.reply(), "250 "));
    EXPECT_EQ(messages().size(), 2u);
    EXPECT_EQ(server_->data_in_use(), 0u);
}

// DATA's deadline is not restarted by each byte: a client that sends a
// byte now and then, each well within the timeout, is still cut off once
// it falls below the minimum rate.
TEST_F(SubmitServerTest, TricklingDataIsCutOff)
{
    SubmitOptions o = defaults();
    o.timeout = 1s;
    start(o);
    Client c(socket_);
    c.reply();
    c.command("EHLO c");
    open_data(c);
    const auto begin = std::chrono::steady_clock::now();
    // A byte every 200 ms: never 1 s without progress.
    while (std::chrono::steady_clock::now() - begin < 10s && c.send("x") && !c.readable())
        std::this_thread::sleep_for(200ms);
    EXPECT_EQ(c.reply(), "421 4.4.2 mx.test Error: timeout exceeded");
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
    EXPECT_TRUE(messages().empty());
}

TEST_F(SubmitServerTest, AConversationHasATimeLimit)
{
    SubmitOptions o = defaults();
    o.session_limit = 2s;
    start(o);
    Client c(socket_);
    c.reply();
    const auto begin = std::chrono::steady_clock::now();
    std::string answer;
    while (std::chrono::steady_clock::now() - begin < 10s) {
        answer = c.command("NOOP");
        if (answer != "250 2.0.0 Ok") break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(answer, "421 4.4.2 mx.test Error: session time limit exceeded");
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST_F(SubmitServerTest, OneUserCannotTakeEverySlot)
{
    SubmitOptions o = defaults();
    o.max_clients = 4;  // three for one user
    start(o);
    Client a(socket_), b(socket_), c(socket_);
    EXPECT_TRUE(starts_with(a.reply(), "220 "));
    EXPECT_TRUE(starts_with(b.reply(), "220 "));
    EXPECT_TRUE(starts_with(c.reply(), "220 "));
    Client fourth(socket_);
    EXPECT_EQ(fourth.reply(), "421 4.7.0 Too many connections from your user");
    EXPECT_EQ(a.command("QUIT"), "221 2.0.0 Bye");
    EXPECT_EQ(a.line(), "<eof>");
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (server_->active_sessions() > 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    Client later(socket_);
    EXPECT_TRUE(starts_with(later.reply(), "220 "));
}

TEST_F(SubmitServerTest, SequenceAndSyntaxErrors)
{
    start();
    Client c(socket_);
    c.reply();
    EXPECT_EQ(c.command("MAIL FROM:<a@example.com>"), "503 5.5.1 Error: send EHLO, HELO or LHLO first");
    EXPECT_EQ(c.command("HELO c"), "250 mx.test");
    EXPECT_EQ(c.command("RCPT TO:<b@example.org>"), "503 5.5.1 Error: need MAIL command");
    EXPECT_EQ(c.command("DATA"), "503 5.5.1 Error: need MAIL command");
    EXPECT_EQ(c.command("MAIL FROM:a@example.com>"), "501 5.1.7 Bad sender address syntax");
    EXPECT_TRUE(starts_with(c.command("MAIL FROM:<a@example.com> FOO=1"), "501 5.5.4 "));
    EXPECT_EQ(c.command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok");
    EXPECT_EQ(c.command("DATA"), "503 5.5.1 Error: need RCPT command");
    EXPECT_EQ(c.command("RCPT TO:<not an address>"), "501 5.1.3 Bad recipient address syntax");
    EXPECT_EQ(c.command("BDAT 10"), "500 5.5.2 Syntax error, command unrecognized");
    EXPECT_TRUE(starts_with(c.command("VRFY someone"), "252 "));
    EXPECT_TRUE(starts_with(c.command("HELP"), "214 "));
    // 8 errors so far; two more and the client is sent away.
    EXPECT_TRUE(starts_with(c.command("XYZZY"), "500 "));
    EXPECT_EQ(c.command("XYZZY"), "500 5.5.2 Syntax error, command unrecognized");
    EXPECT_EQ(c.reply(), "421 4.7.0 mx.test Error: too many errors");
    EXPECT_EQ(c.line(), "<eof>");
}

TEST_F(SubmitServerTest, GarbageIsDisconnected)
{
    start();
    Client c(socket_);
    c.reply();
    std::string junk(20000, '\x01');
    c.send(junk);
    EXPECT_EQ(c.reply(), "421 4.7.0 mx.test Error: line too long");
    EXPECT_EQ(c.line(), "<eof>");
}

TEST_F(SubmitServerTest, StalledClientTimesOut)
{
    SubmitOptions o = defaults();
    o.timeout = 1s;
    start(o);
    Client idle(socket_);
    Client mid_data(socket_);
    idle.reply();
    mid_data.reply();
    mid_data.command("EHLO c");
    mid_data.command("MAIL FROM:<a@example.com>");
    mid_data.command("RCPT TO:<b@example.org>");
    mid_data.command("DATA");
    mid_data.send("Subject: half\r\n\r\nno end");
    auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(idle.reply(), "421 4.4.2 mx.test Error: timeout exceeded");
    EXPECT_EQ(idle.line(), "<eof>");
    EXPECT_EQ(mid_data.reply(), "421 4.4.2 mx.test Error: timeout exceeded");
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
    EXPECT_TRUE(messages().empty());  // nothing half-received is queued
}

TEST_F(SubmitServerTest, WriterThatNeverReadsIsCutOff)
{
    SubmitOptions o = defaults();
    o.timeout = 1s;
    start(o);
    Client c(socket_);
    c.reply();
    // Pipelined NOOPs without reading a reply: once our replies fill the
    // socket buffers the server's write stalls and times out; it must not
    // keep reading and buffering replies without bound.
    std::string noops;
    for (int i = 0; i < 10000; ++i) noops += "NOOP\r\n";
    std::size_t sent = 0;
    auto begin = std::chrono::steady_clock::now();
    while (sent < (200u << 20) && c.send(noops)) sent += noops.size();
    EXPECT_LT(sent, 200u << 20);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
}

TEST_F(SubmitServerTest, MaxClients)
{
    SubmitOptions o = defaults();
    o.max_clients = 2;
    start(o);
    Client a(socket_), b(socket_);
    EXPECT_TRUE(starts_with(a.reply(), "220 "));
    EXPECT_TRUE(starts_with(b.reply(), "220 "));
    Client refused(socket_);
    EXPECT_EQ(refused.reply(), "421 4.3.2 Too many connections");
    EXPECT_EQ(refused.line(), "<eof>");
    EXPECT_EQ(a.command("QUIT"), "221 2.0.0 Bye");
    EXPECT_EQ(a.line(), "<eof>");
    // The slot frees once the session has ended.
    for (int i = 0; i < 50 && server_->active_sessions() > 1; ++i) std::this_thread::sleep_for(10ms);
    Client later(socket_);
    EXPECT_TRUE(starts_with(later.reply(), "220 "));
}

TEST_F(SubmitServerTest, CommitErrorsAndBadHeaders)
{
    start();
    Client c(socket_);
    c.reply();
    c.command("EHLO c");
    auto send_message = [&](std::string_view body) {
        c.command("MAIL FROM:<a@example.com>");
        c.command("RCPT TO:<b@example.org>");
        c.command("DATA");
        c.send(std::string(body) + ".\r\n");
        return c.reply();
    };
    {
        std::lock_guard lock(mutex_);
        result_ = make_error(ErrorKind::bad_message, "line 1 is not a header field");
    }
    EXPECT_EQ(send_message("this line is not a header\r\n\r\nbody\r\n"),
              "554 5.6.0 line 1 is not a header field");
    {
        std::lock_guard lock(mutex_);
        result_ = make_error(ErrorKind::temporary, "disk full\r\nsecond line");
    }
    EXPECT_EQ(send_message("Subject: x\r\n\r\nbody\r\n"), "451 4.3.0 disk full  second line");
    {
        std::lock_guard lock(mutex_);
        result_ = make_error(ErrorKind::failure, "broken");
    }
    // Not the message's fault: temporary, so the submitter keeps it.
    EXPECT_EQ(send_message("Subject: x\r\n\r\nbody\r\n"), "451 4.3.0 broken");
}

TEST_F(SubmitServerTest, StopDuringCommit)
{
    commit_delay_ = 300ms;
    start();
    Client c(socket_);
    c.reply();
    c.command("EHLO c");
    open_data(c);
    c.send("Subject: x\r\n\r\nbody\r\n.\r\n");
    std::this_thread::sleep_for(100ms);
    asio::post(io_, [this] { server_->stop(); });
    EXPECT_EQ(c.line(), "<eof>");
    std::this_thread::sleep_for(400ms);  // the commit finishes after the stop
    EXPECT_EQ(messages().size(), 1u);
    EXPECT_EQ(server_->active_sessions(), 0u);
    EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(SubmitServerTest, StaleSocketReplacedLiveOneRefused)
{
    start();
    // A second server on the same live socket is refused...
    SubmitServer other(io_.get_executor(), defaults(),
                       [](NewMessage) -> awaitable<Result<std::string>> { co_return std::string("never"); });
    Status live = other.listen_unix(socket_, 0660, "");
    EXPECT_FALSE(live.ok());
    // ...but a socket file nobody serves is replaced.
    auto stale = dir_ / "stale.sock";
    {
        asio::io_context io;
        asio::local::stream_protocol::acceptor dead(io,
                                                    asio::local::stream_protocol::endpoint(stale.string()));
    }
    ASSERT_TRUE(std::filesystem::exists(stale));
    EXPECT_TRUE(other.listen_unix(stale, 0600, "").ok());
    EXPECT_FALSE(other.listen_unix(dir_ / "g.sock", 0600, "no-such-group-mailqd").ok());
    EXPECT_FALSE(other.listen_tcp("example.com:25").ok());
}

}  // namespace
}  // namespace mailqd
