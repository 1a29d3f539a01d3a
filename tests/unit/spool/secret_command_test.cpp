// password_command's process: it sees no descriptor of the daemon's but its
// stdin (/dev/null), stdout (the pipe) and stderr; its process group is
// killed when it exits or at the deadline; and a command that never exits,
// or closes its stdout and runs on, is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "spool/secret_command.hpp"
#include "tests/unit/spool/config_test_support.hpp"

namespace mailqd {
namespace {

using namespace config_test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// run_secret_command on a thread of its own, waited for at most `patience`:
// the bugs these tests catch make it hang, and a hung test should fail, not
// stall the suite. (A thread given up on is left behind, detached.)
std::optional<Result<std::string>> run_with_patience(const std::string& command,
                                                     std::chrono::milliseconds timeout,
                                                     std::chrono::seconds patience = 120s)
{
    auto promise = std::make_shared<std::promise<Result<std::string>>>();
    auto future = promise->get_future();
    std::thread([promise, command, timeout] {
        promise->set_value(run_secret_command(command, timeout));
    }).detach();
    if (future.wait_for(patience) != std::future_status::ready) return std::nullopt;
    return future.get();
}

// Whether pid is a live `sleep` (not gone, not a zombie waiting for init).
bool sleeper_alive(pid_t pid)
{
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) return false;
    return stat.find("(sleep)") != std::string::npos && stat[close + 2] != 'Z';
}

// A file a command writes its background sleeper's pid into. The sleeper is
// killed when this goes out of scope, so that a failing test leaves nothing
// behind (it would hold the test's stderr, and ctest would wait for it).
class SleeperPid {
public:
    const fs::path& path() const { return path_; }
    pid_t pid() const
    {
        std::string text = read_file(path());
        return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
    }
    // Waits, with a deadline, for the sleeper to be gone.
    bool dies() const
    {
        auto deadline = Clock::now() + 10s;
        while (sleeper_alive(pid())) {
            if (Clock::now() > deadline) return false;
            std::this_thread::sleep_for(10ms);
        }
        return true;
    }
    ~SleeperPid()
    {
        if (pid_t p = pid(); p > 0 && sleeper_alive(p)) ::kill(p, SIGKILL);
    }

private:
    TempDir dir_;
    fs::path path_ = dir_.write("pid", "", 0600);
};

// Descriptors the daemon holds that are not close-on-exec, as Asio's
// sockets are not: a listening TCP socket and a file.
struct InheritableFds {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int file = ::open("/dev/null", O_RDONLY);
    InheritableFds()
    {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(listener, 1);
    }
    ~InheritableFds()
    {
        ::close(listener);
        ::close(file);
    }
};

TEST(SecretCommand, ChildSeesOnlyStdinStdoutAndStderr)
{
    InheritableFds fds;
    ASSERT_GE(fds.listener, 3);
    ASSERT_GE(fds.file, 3);
    // ls lists the shell's descriptors, not its own ("; :" keeps the shell
    // from exec'ing ls); then what 0 and 1 are.
    auto out = run_secret_command("ls /proc/$$/fd; readlink /proc/$$/fd/0 /proc/$$/fd/1; :");
    ASSERT_TRUE(out.ok()) << out.error().message;
    auto lines = lines_of(*out);
    ASSERT_EQ(lines.size(), 5u) << *out;
    EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 3),
              (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(lines[3], "/dev/null");
    EXPECT_EQ(lines[4].rfind("pipe:", 0), 0u) << lines[4];
}

TEST(SecretCommand, BackgroundChildHoldingStdoutDoesNotDelayTheSecretAndIsKilled)
{
    SleeperPid sleeper;
    auto start = Clock::now();
    auto out = run_with_patience("sleep 600 & echo $! >" + sleeper.path().string() + "; echo tok", 30s);
    ASSERT_TRUE(out) << "run_secret_command hung";
    ASSERT_TRUE(out->ok()) << out->error().message;
    EXPECT_EQ(**out, "tok\n");
    EXPECT_LT(Clock::now() - start, 20s);  // not the deadline's 30 s
    ASSERT_GT(sleeper.pid(), 0);
    EXPECT_TRUE(sleeper.dies()) << "the command's background sleep outlived it";
}

TEST(SecretCommand, CommandThatNeverExitsIsKilledWithItsGroupAtTheDeadline)
{
    SleeperPid sleeper;
    // The shell must have started its sleeper before the deadline; on a slow
    // machine the test tries again with a longer one rather than fail.
    for (auto timeout : {500ms, 2000ms, 8000ms, 32000ms}) {
        auto start = Clock::now();
        auto out =
            run_with_patience("sleep 600 & echo $! >" + sleeper.path().string() + "; sleep 600", timeout);
        ASSERT_TRUE(out) << "run_secret_command hung";
        auto took = Clock::now() - start;
        ASSERT_FALSE(out->ok());
        EXPECT_NE(out->error().message.find("did not exit within"), std::string::npos)
            << out->error().message;
        EXPECT_GE(took, timeout);
        EXPECT_LT(took, timeout + 10s);
        if (sleeper.pid() == 0) continue;
        EXPECT_TRUE(sleeper.dies()) << "the group's background sleep survived the kill";
        return;
    }
    FAIL() << "the command never started its sleeper";
}

TEST(SecretCommand, CommandThatClosesStdoutAndRunsOnIsBounded)
{
    auto start = Clock::now();
    auto out = run_with_patience("echo tok; exec >&-; sleep 600", 500ms);
    ASSERT_TRUE(out) << "run_secret_command hung after the command closed its stdout";
    ASSERT_FALSE(out->ok());
    EXPECT_NE(out->error().message.find("did not exit within 500ms"), std::string::npos)
        << out->error().message;
    EXPECT_EQ(out->error().message.find("tok"), std::string::npos);
    EXPECT_LT(Clock::now() - start, 10s);
}

TEST(SecretCommand, EndlessOutputIsCutAndKilled)
{
    auto out = run_with_patience("yes leaked-secret", 30s);
    ASSERT_TRUE(out) << "run_secret_command hung";
    ASSERT_FALSE(out->ok());
    EXPECT_NE(out->error().message.find("output longer than 64 KiB"), std::string::npos)
        << out->error().message;
    EXPECT_EQ(out->error().message.find("leaked-secret"), std::string::npos);
}

}  // namespace
}  // namespace mailqd
