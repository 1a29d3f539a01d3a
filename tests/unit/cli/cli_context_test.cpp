// Where mailqctl finds its sockets: strict for mailqctl with a named config,
// lenient (defaults, with the reason kept) for sendmail and mailq.
#include "cli/cli_context.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mailqd {
namespace {

class CliSettingsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/cli_ctx_XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path write(const std::string& name, const std::string& text)
    {
        auto path = dir_ / name;
        std::ofstream(path) << text;
        return path;
    }

    std::filesystem::path dir_;
};

const char* good_config =
    "[queue]\nhostname = mx.example.test\n"
    "[submit]\nsocket = /tmp/x/submit.sock\n"
    "[control]\nsocket = /tmp/x/control.sock\n"
    "[relay.default]\nhost = 127.0.0.1\nport = 2525\ntls = none\nauth = none\n";

TEST_F(CliSettingsTest, GoodConfigGivesItsSockets)
{
    auto s = load_cli_settings(write("good.conf", good_config), true);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->control_socket, "/tmp/x/control.sock");
    EXPECT_EQ(s->submit_socket, "/tmp/x/submit.sock");
    EXPECT_EQ(s->hostname, "mx.example.test");
    EXPECT_TRUE(s->fallback_reason.empty());
}

TEST_F(CliSettingsTest, BrokenConfigIsStrictOrFallsBack)
{
    auto bad = write("bad.conf", "[queue]\nlifetime = forever\n");
    auto strict = load_cli_settings(bad, true);
    ASSERT_FALSE(strict.ok());
    EXPECT_EQ(strict.error().kind, ErrorKind::config);
    EXPECT_NE(strict.error().message.find("lifetime"), std::string::npos);

    auto lenient = load_cli_settings(bad, false);
    ASSERT_TRUE(lenient.ok());
    EXPECT_EQ(lenient->control_socket, "/run/mailqd/control.sock");
    EXPECT_EQ(lenient->submit_socket, "/run/mailqd/submit.sock");
    EXPECT_NE(lenient->fallback_reason.find("lifetime"), std::string::npos);
}

TEST_F(CliSettingsTest, MissingFile)
{
    auto lenient = load_cli_settings(dir_ / "none.conf", false);
    ASSERT_TRUE(lenient.ok());
    EXPECT_TRUE(lenient->fallback_reason.empty());  // not installed is normal
    auto strict = load_cli_settings(dir_ / "none.conf", true);
    ASSERT_FALSE(strict.ok());
    EXPECT_EQ(strict.error().kind, ErrorKind::config);
}

TEST_F(CliSettingsTest, SocketOptionNeedsNoConfig)
{
    GlobalOptions global;
    global.socket = "/given.sock";
    global.config = dir_ / "none.conf";  // would be an error if it were read
    std::istringstream in;
    std::ostringstream out;
    CliContext context(Personality::mailqctl, global, in, out);
    auto socket = context.control_socket();
    ASSERT_TRUE(socket.ok());
    EXPECT_EQ(*socket, "/given.sock");
    auto submit = context.submit_socket();
    ASSERT_FALSE(submit.ok());
    EXPECT_EQ(submit.error().kind, ErrorKind::config);
}

TEST_F(CliSettingsTest, ExplainAddsTheFallbackReason)
{
    GlobalOptions global;
    global.config = write("bad.conf", "[queue]\nlifetime = forever\n");
    std::istringstream in;
    std::ostringstream out;
    CliContext context(Personality::sendmail, global, in, out);
    ASSERT_TRUE(context.submit_socket().ok());
    Error e = context.explain(make_error(ErrorKind::unavailable, "cannot reach mailqd at X: gone"));
    EXPECT_NE(e.message.find("the config did not load"), std::string::npos);
    Error other = context.explain(make_error(ErrorKind::bad_message, "no recipients"));
    EXPECT_EQ(other.message, "no recipients");
}

}  // namespace
}  // namespace mailqd
