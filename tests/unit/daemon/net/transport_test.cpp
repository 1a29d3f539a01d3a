// The transport's server side over a socket pair: line endings, limits,
// discard, deadlines (per operation and per session).
#include "daemon/net/transport.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailqd {
namespace {

using namespace std::chrono_literals;

struct Read {
    IoStatus status;
    std::string line;
};

// Writes `input` (then closes the peer unless keep_open) and collects lines
// until a status other than ok.
std::vector<Read> read_all(const std::string& input, LineLimit limit, bool keep_open = false,
                           Duration timeout = 2s, TransportOptions options = {})
{
    asio::io_context io;
    asio::local::stream_protocol::socket a(io), b(io);
    asio::local::connect_pair(a, b);
    asio::write(b, asio::buffer(input));
    if (!keep_open) b.close();
    Transport stream{StreamSocket(std::move(a)), std::move(options)};
    std::vector<Read> reads;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            while (true) {
                std::string line;
                IoStatus status = (co_await stream.read_line(line, limit, timeout)).status;
                reads.push_back({status, status == IoStatus::ok ? line : std::string()});
                if (status == IoStatus::too_long && limit.discard_overlong) continue;
                if (status != IoStatus::ok) break;
            }
        },
        asio::detached);
    io.run();
    return reads;
}

TEST(Transport, CrlfAndLf)
{
    auto reads = read_all("one\r\ntwo\nthree\r\r\n\r\npartial", LineLimit{100});
    ASSERT_EQ(reads.size(), 5u);
    EXPECT_EQ(reads[0].line, "one");
    EXPECT_EQ(reads[1].line, "two");
    EXPECT_EQ(reads[2].line, "three\r");
    EXPECT_EQ(reads[3].line, "");
    EXPECT_EQ(reads[4].status, IoStatus::eof);  // the partial line is dropped
}

TEST(Transport, ManyLinesAcrossReads)
{
    // Lines of every length straddle the reader's chunk boundaries.
    std::string input;
    std::vector<std::string> expected;
    for (int i = 0; i < 2000; ++i) {  // ~100 KB: fits the socket buffer
        expected.push_back(std::to_string(i) + std::string(static_cast<std::size_t>(i % 97), 'a' + i % 26));
        input += expected.back() + (i % 2 ? "\r\n" : "\n");
    }
    auto reads = read_all(input, LineLimit{200});
    ASSERT_EQ(reads.size(), expected.size() + 1);
    for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(reads[i].line, expected[i]) << i;
    EXPECT_EQ(reads.back().status, IoStatus::eof);
}

TEST(Transport, TooLongWithoutDiscardStops)
{
    auto reads = read_all(std::string(200, 'x') + "\r\nnext\r\n", LineLimit{100});
    ASSERT_EQ(reads.size(), 1u);
    EXPECT_EQ(reads[0].status, IoStatus::too_long);
}

TEST(Transport, TooLongUnterminatedWithoutDiscard)
{
    auto reads = read_all(std::string(100000, 'x'), LineLimit{4096}, true);
    ASSERT_EQ(reads.size(), 1u);
    EXPECT_EQ(reads[0].status, IoStatus::too_long);
}

TEST(Transport, DiscardSkipsToNextLine)
{
    auto reads = read_all("ok\n" + std::string(100000, 'x') + "\r\nnext\r\n", LineLimit{100, true});
    ASSERT_EQ(reads.size(), 4u);
    EXPECT_EQ(reads[0].line, "ok");
    EXPECT_EQ(reads[1].status, IoStatus::too_long);
    EXPECT_EQ(reads[2].line, "next");
    EXPECT_EQ(reads[3].status, IoStatus::eof);
}

TEST(Transport, ExactLimitIsAccepted)
{
    auto reads = read_all(std::string(100, 'y') + "\r\n", LineLimit{100});
    ASSERT_GE(reads.size(), 1u);
    EXPECT_EQ(reads[0].status, IoStatus::ok);
    EXPECT_EQ(reads[0].line.size(), 100u);
}

TEST(Transport, StalledPeerTimesOut)
{
    auto start = std::chrono::steady_clock::now();
    auto reads = read_all("half a line", LineLimit{100}, true, 300ms);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(reads.size(), 1u);
    EXPECT_EQ(reads[0].status, IoStatus::timeout);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
}

// The session's deadline caps each read's own timeout, and the detail says
// which limit ended it.
TEST(Transport, SessionDeadlineCapsEveryRead)
{
    TransportOptions options;
    options.session_deadline = std::chrono::steady_clock::now() + 300ms;
    auto start = std::chrono::steady_clock::now();
    auto reads = read_all("one\r\nhalf a line", LineLimit{100}, true, 30s, options);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(reads.size(), 2u);
    EXPECT_EQ(reads[0].line, "one");
    EXPECT_EQ(reads[1].status, IoStatus::timeout);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 10s);
}

TEST(Transport, BufferedLineAndWrite)
{
    asio::io_context io;
    asio::local::stream_protocol::socket a(io), b(io);
    asio::local::connect_pair(a, b);
    asio::write(b, asio::buffer(std::string("A\r\nB\r\n")));
    Transport stream{StreamSocket(std::move(a)), TransportOptions{}};
    bool buffered_after_first = false, buffered_after_second = true;
    IoResult written{IoStatus::error, ""};
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            std::string line;
            co_await stream.read_line(line, LineLimit{100}, 1s);
            buffered_after_first = stream.has_buffered_line();
            co_await stream.read_line(line, LineLimit{100}, 1s);
            buffered_after_second = stream.has_buffered_line();
            written = co_await stream.write("250 ok\r\n", 1s);
        },
        asio::detached);
    io.run();
    EXPECT_TRUE(buffered_after_first);
    EXPECT_FALSE(buffered_after_second);
    EXPECT_TRUE(written.ok()) << written.detail;
    char reply[16] = {};
    std::size_t n = b.read_some(asio::buffer(reply));
    EXPECT_EQ(std::string(reply, n), "250 ok\r\n");
}

}  // namespace
}  // namespace mailqd
