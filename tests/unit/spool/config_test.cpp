// Loading mailqd.conf: every problem names file, line and key; the dev and
// example configs load; defaults, relay order and routing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "spool/config.hpp"
#include "tests/unit/spool/config_test_support.hpp"

namespace mailqd {
namespace {

using namespace config_test;
using std::chrono::seconds;

// A valid relay appended to texts that test other sections.
const std::string ok_relay = "\n[relay.zz]\nhost = 127.0.0.1\n";

struct ProblemCase {
    std::string text;
    std::vector<std::string> want;
    bool add_relay = true;
};

TEST(ConfigLoad, EveryProblemNamesFileLineAndKey)
{
    const ProblemCase cases[] = {
        {"[queue]\nlifetime = forever\n",
         {"t.conf:2: [queue] lifetime: \"forever\" is not a positive duration (e.g. 30s, 5m, 1h, 2d)"}},
        {"[queue]\nlifetime = 0\n",
         {"t.conf:2: [queue] lifetime: \"0\" is not a positive duration (e.g. 30s, 5m, 1h, 2d)"}},
        {"[queue]\nkeep_done = -1\n",
         {"t.conf:2: [queue] keep_done: \"-1\" is not a duration (e.g. 0, 30s, 5m, 1h, 2d)"}},
        {"[queue]\nmax_message_size = 35MB\n",
         {"t.conf:2: [queue] max_message_size: \"35MB\" is not a size (e.g. 512K, 35M, 1G)"}},
        {"[queue]\nretry_factor = 0.5\n",
         {"t.conf:2: [queue] retry_factor: \"0.5\" is not a number from 1 to below 1000 (e.g. 2)"}},
        {"[queue]\nretry_jitter = 1\n",
         {"t.conf:2: [queue] retry_jitter: \"1\" is not a fraction from 0 to below 1 (e.g. 0.1)"}},
        {"[queue]\nbounce = maybe\n",
         {"t.conf:2: [queue] bounce: \"maybe\" is not a boolean (yes/no, true/false, on/off, 1/0)"}},
        {"[queue]\nhostname = bad host\n",
         {"t.conf:2: [queue] hostname: \"bad host\" is not a host name or IP address"}},
        {"[queue]\nretry_initial = 2h\n", {"t.conf:1: [queue] retry_max: is shorter than retry_initial"}},
        {"[queue]\ndatabase =\n", {"t.conf:2: [queue] database: \"\" is not a path"}},
        {"[submit]\nsocket_mode = 0999\n",
         {"t.conf:2: [submit] socket_mode: \"0999\" is not an octal mode (e.g. 0660)"}},
        {"[submit]\nlisten = 127.0.0.1\n",
         {"t.conf:2: [submit] listen: \"127.0.0.1\" is not a loopback host:port (127.0.0.1:2525, [::1]:2525, "
          "localhost:2525)"}},
        // No authentication on the TCP door: only loopback, or it is an open relay.
        {"[submit]\nlisten = 0.0.0.0:2525\n",
         {"t.conf:2: [submit] listen: \"0.0.0.0:2525\" is not a loopback host:port (127.0.0.1:2525, "
          "[::1]:2525, localhost:2525)"}},
        {"[submit]\nlisten = [::]:2525\n",
         {"t.conf:2: [submit] listen: \"[::]:2525\" is not a loopback host:port (127.0.0.1:2525, "
          "[::1]:2525, localhost:2525)"}},
        {"[submit]\nlisten = 192.168.1.5:2525\n",
         {"t.conf:2: [submit] listen: \"192.168.1.5:2525\" is not a loopback host:port (127.0.0.1:2525, "
          "[::1]:2525, localhost:2525)"}},
        {"[submit]\nmax_clients = 0\n", {"t.conf:2: [submit] max_clients: \"0\" is not a positive count"}},
        {"[control]\nsocket = /" + std::string(120, 'x') + "\n",
         {"t.conf:2: [control] socket: \"/" + std::string(120, 'x') +
          "\" is too long for a Unix socket (107 bytes at most)"}},
        {"[log]\nlevel = verbose\n",
         {"t.conf:2: [log] level: \"verbose\" is not one of trace, debug, info, warn, error"}},
        {"[log]\nprotocol_trace = 2\n",
         {"t.conf:2: [log] protocol_trace: \"2\" is not a boolean (yes/no, true/false, on/off, 1/0)"}},
        {"[relay.gmail]\nhost = smtp.gmail.com\nport = 99999\n",
         {"t.conf:3: [relay.gmail] port: \"99999\" is not a port (1-65535)"}},
        {"[relay.r]\nhost = h.org\ntls = ssl\n",
         {"t.conf:3: [relay.r] tls: \"ssl\" is not one of none, starttls, implicit"}},
        {"[relay.r]\nhost = h.org\nauth = cram-md5\n",
         {"t.conf:3: [relay.r] auth: \"cram-md5\" is not one of auto, none, plain, login, xoauth2"}},
        {"[relay.r]\nhost = h.org\nsenders = *@[x\n",
         {"t.conf:3: [relay.r] senders: \"*@[x\" is not a space-separated list of globs (e.g. * or "
          "*@example.com)"}},
        {"[relay.r]\nhost = h.org\nrate = -1\n",
         {"t.conf:3: [relay.r] rate: \"-1\" is not a count (0 = unlimited)"}},
        {"[relay.r]\nhost = h.org\nconnections = 0\n",
         {"t.conf:3: [relay.r] connections: \"0\" is not a positive count"}},
        {"[relay.r]\nhost = bad host\n",
         {"t.conf:2: [relay.r] host: \"bad host\" is not a host name or IP address"}},
        {"[mailbox.m]\nhost = 127.0.0.1\nusername = u\npassword_command = echo x\nauth = cram\n",
         {"t.conf:5: [mailbox.m] auth: \"cram\" is not one of auto, user, plain, apop"}},
        {"[mailbox.m]\nhost = 127.0.0.1\nusername = u\npassword_command = echo x\ninterval = 0\n",
         {"t.conf:5: [mailbox.m] interval: \"0\" is not a positive duration (e.g. 30s, 5m, 1h, 2d)"}},
        // Structure.
        {"[queue]\ndatabse = /x\n", {"t.conf:2: [queue] databse: unknown key"}},
        {"[relay.r]\nhost = h.org\nlisten = 127.0.0.1:25\n", {"t.conf:3: [relay.r] listen: unknown key"}},
        {"[queues]\nlifetime = 1d\n",
         {"t.conf:1: [queues] unknown section (expected queue, submit, control, log, relay.NAME or "
          "mailbox.NAME)"}},
        {"[queue]\nlifetime = 1d\nlifetime = 2d\n",
         {"t.conf:3: [queue] lifetime: duplicate key (first set on line 2)"}},
        {"[relay.x]\nhost = a.org\n[relay.x]\nport = 25\n",
         {"t.conf:3: [relay.x] duplicate section (first on line 1)"}},
        {"lifetime = 5d\n[queue]\n", {"t.conf:1: lifetime: is outside any [section]"}},
        {"[queue]\nlifetime 5d\n",
         {"t.conf:2: cannot parse \"lifetime 5d\": expected [section], key = value or # comment"}},
        {"[relay.a b]\nhost = h.org\n",
         {"t.conf:1: [relay.a b] needs a NAME of letters, digits, _ . - as in [relay.NAME]"}},
        {"[]\nhost = h.org\n", {"t.conf:1: empty section name []"}},
        {"[mailbox]\nhost = h.org\n",
         {"t.conf:1: [mailbox] needs a NAME of letters, digits, _ . - as in [mailbox.NAME]"}},
        {"[queue]\n", {"t.conf: no [relay.NAME] section: at least one relay is needed"}, false},
        // Cross-key checks.
        {"[relay.b]\nport = 25\n", {"t.conf:1: [relay.b] host: missing: a relay needs a host"}},
        {"[relay.b]\nhost =\n", {"t.conf:2: [relay.b] host: missing: a relay needs a host"}},
        {"[mailbox.m]\n",
         {"t.conf:1: [mailbox.m] host: missing: a mailbox needs a host",
          "t.conf:1: [mailbox.m] username: missing: a mailbox needs a username",
          "t.conf:1: [mailbox.m] password_file: missing: a mailbox needs password_file or password_command"}},
        {"[relay.r]\nhost = h.org\nusername = u\npassword_file = /nonexistent/secret\npassword_command = "
         "echo x\n",
         {"t.conf:4: [relay.r] password_file: \"/nonexistent/secret\" does not exist",
          "t.conf:5: [relay.r] password_command: password_file and password_command are exclusive; keep "
          "one"}},
        {"[relay.r]\nhost = smtp.example.com\ntls = none\nusername = u\npassword_command = echo x\n",
         {"t.conf:3: [relay.r] tls: \"none\" would send credentials in clear to smtp.example.com; use "
          "starttls or implicit"}},
        {"[relay.r]\nhost = smtp.example.com\ntls = none\nauth = plain\n",
         {"t.conf:1: [relay.r] username: missing: auth = plain needs a username",
          "t.conf:3: [relay.r] tls: \"none\" would send credentials in clear to smtp.example.com; use "
          "starttls or implicit"}},
        {"[relay.r]\nhost = h.org\nauth = xoauth2\nusername = u\n",
         {"t.conf:3: [relay.r] auth: \"xoauth2\" needs password_command (it prints the access token)",
          "t.conf:4: [relay.r] username: needs password_file or password_command"}},
        {"[relay.r]\nhost = h.org\nauth = none\nusername = u\npassword_command = echo x\n",
         {"t.conf:3: [relay.r] auth: \"none\" but username is set; remove one of them"}},
        {"[relay.r]\nhost = h.org\npassword_command = echo x\n",
         {"t.conf:3: [relay.r] password_command: is set but username is empty"}},
        {"[relay.r]\nhost = h.org\nca_file = /nonexistent/ca.pem\n",
         {"t.conf:3: [relay.r] ca_file: \"/nonexistent/ca.pem\" does not exist"}},
        {"[relay.r]\nhost = h.org\nca_file = /\n",
         {"t.conf:3: [relay.r] ca_file: \"/\" is not a regular file"}},
        {"[mailbox.m]\nhost = pop.example.com\ntls = none\nusername = u\npassword_command = echo x\n",
         {"t.conf:3: [mailbox.m] tls: \"none\" would send the password in clear to pop.example.com; use "
          "starttls, implicit or auth = apop"}},
    };
    for (const auto& c : cases) {
        auto load = parse_config(c.text + (c.add_relay ? ok_relay : ""), "t.conf");
        EXPECT_EQ(problem_lines(load), c.want) << c.text;
        EXPECT_FALSE(load.config.has_value()) << c.text;
    }
}

TEST(ConfigLoad, CredentialsInClearAllowedOnLoopbackAndWithApop)
{
    for (std::string text : {
             "[relay.r]\nhost = 127.0.0.1\ntls = none\nusername = u\npassword_command = echo x\n",
             "[relay.r]\nhost = ::1\ntls = none\nauth = plain\nusername = u\npassword_command = echo x\n",
             "[relay.r]\nhost = localhost\ntls = none\n"
             "[mailbox.m]\nhost = pop.example.com\ntls = none\nauth = apop\nusername = u\npassword_command = "
             "echo x\n",
         }) {
        auto load = parse_config(text, "t.conf");
        EXPECT_EQ(problem_lines(load), std::vector<std::string>{}) << text;
    }
}

TEST(ConfigLoad, CollectsEveryProblemInFileOrder)
{
    auto load = parse_config(
        "[queue]\n"
        "lifetime = x\n"  // 2
        "nonsense\n"      // 3
        "[submit]\n"
        "max_clients = -3\n"  // 5
        "[relay.a]\n"
        "host = h.org\n"
        "port = 0\n"       // 8
        "tls = maybe\n"    // 9
        "[frobnicate]\n",  // 10
        "/etc/mailqd/mailqd.conf");
    ASSERT_EQ(load.problems.size(), 6u);
    std::vector<int> lines;
    for (const auto& p : load.problems) {
        lines.push_back(p.line);
        EXPECT_EQ(p.file, "/etc/mailqd/mailqd.conf");
    }
    EXPECT_EQ(lines, (std::vector<int>{2, 3, 5, 8, 9, 10}));
    EXPECT_EQ(load.problems[3].key, "relay.a.port");
    EXPECT_EQ(load.problems[3].section, "relay.a");
    EXPECT_EQ(load.problems[3].to_string(),
              "/etc/mailqd/mailqd.conf:8: [relay.a] port: \"0\" is not a port (1-65535)");
}

TEST(ConfigLoad, LineMapFollowsRepeatedKeysAcrossSections)
{
    // "host" appears in three sections; each problem must carry its own line.
    auto load = parse_config(
        "[relay.a]\nhost = a.org\nport = x\n"
        "[relay.b]\n# comment\n\nhost = b.org\nport = y\n"
        "[relay.c]\nhost = c.org\r\nport = z # trailing comment\n",
        "t.conf");
    EXPECT_EQ(problem_lines(load), (std::vector<std::string>{
                                       "t.conf:3: [relay.a] port: \"x\" is not a port (1-65535)",
                                       "t.conf:8: [relay.b] port: \"y\" is not a port (1-65535)",
                                       "t.conf:11: [relay.c] port: \"z\" is not a port (1-65535)",
                                   }));
}

TEST(ConfigLoad, GarbageNeverThrowsAndProblemsPointIntoTheFile)
{
    // Random texts built from the INI's own tokens: the loader must report,
    // never throw or crash, and every line it names must exist.
    const char* tokens[] = {"[",   "]",    "=",    "#",      " ",        "\t",
                            "\r",  "\n",   "\n",   "relay.", "mailbox.", "queue",
                            "log", "host", "port", "x",      "0",        "[relay.a]\nhost = h\n",
                            "\xff"};
    std::uint32_t seed = 12345;
    auto next = [&seed] { return seed = seed * 1664525u + 1013904223u; };
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        int length = static_cast<int>(next() % 60);
        for (int i = 0; i < length; ++i) text += tokens[next() % std::size(tokens)];
        int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
        ConfigLoad load;
        ASSERT_NO_THROW(load = parse_config(text, "fuzz.conf")) << text;
        EXPECT_EQ(load.config.has_value(), load.problems.empty());
        for (const auto& p : load.problems) {
            EXPECT_GE(p.line, 0);
            EXPECT_LE(p.line, lines) << text;
            for (char c : p.to_string()) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << text;
        }
    }
}

TEST(ConfigLoad, DefaultsAreDesignValues)
{
    auto load = parse_config("[relay.a]\nhost = smtp.example.com\n", "t.conf");
    ASSERT_TRUE(load.config) << problem_lines(load).front();
    const Config& c = *load.config;
    EXPECT_EQ(c.queue.database, "/var/lib/mailqd/queue.db");
    EXPECT_EQ(c.queue.spool, "/var/spool/mailqd");
    EXPECT_EQ(c.queue.max_message_size, 35u * 1024 * 1024);
    EXPECT_EQ(c.queue.lifetime, seconds(5 * 86400));
    EXPECT_EQ(c.queue.retry_initial, seconds(60));
    EXPECT_EQ(c.queue.retry_max, seconds(3600));
    EXPECT_EQ(c.queue.retry_factor, 2.0);
    EXPECT_EQ(c.queue.retry_jitter, 0.1);
    EXPECT_EQ(c.queue.keep_done, seconds(86400));
    EXPECT_TRUE(c.queue.bounce);
    EXPECT_FALSE(c.queue.hostname.empty());  // the machine's FQDN
    EXPECT_EQ(c.queue.hostname, machine_fqdn());
    EXPECT_EQ(c.submit, SubmitConfig{});
    EXPECT_EQ(c.submit.socket, "/run/mailqd/submit.sock");
    EXPECT_EQ(c.submit.socket_mode, 0666u);
    EXPECT_EQ(c.submit.socket_group, "mailqd");
    EXPECT_EQ(c.submit.users, std::vector<std::string>{"*"});
    EXPECT_EQ(c.submit.user_rate, 0u);
    EXPECT_EQ(c.submit.listen, "");
    EXPECT_EQ(c.submit.max_clients, 256u);
    EXPECT_EQ(c.submit.timeout, seconds(300));
    EXPECT_EQ(c.control, ControlConfig{});
    EXPECT_EQ(c.control.socket_group, "mailqd-admin");
    EXPECT_EQ(c.control.socket_mode, 0666u);
    EXPECT_EQ(c.log, LogConfig{});
    EXPECT_EQ(c.log.level, "info");
    ASSERT_EQ(c.relays.size(), 1u);
    RelayConfig want;
    want.name = "a";
    want.host = "smtp.example.com";
    EXPECT_EQ(c.relays[0], want);
    EXPECT_EQ(c.relays[0].port, 587);
    EXPECT_EQ(c.relays[0].tls, TlsMode::starttls);
    EXPECT_EQ(c.relays[0].senders, std::vector<std::string>{"*"});
    EXPECT_EQ(c.relays[0].connections, 4u);
    EXPECT_EQ(c.relays[0].messages_per_connection, 100u);
    EXPECT_EQ(c.relays[0].timeout, seconds(60));
    EXPECT_TRUE(c.mailboxes.empty());
    EXPECT_EQ(c.file, "t.conf");
}

TEST(ConfigLoad, PortAndMaildirDefaultsFollowOtherKeys)
{
    auto load = parse_config(
        "[relay.implicit]\nhost = a.org\ntls = implicit\n"
        "[relay.explicit]\nhost = a.org\ntls = implicit\nport = 2465\n"
        "[mailbox.tls]\nhost = p.org\nusername = u\npassword_command = echo x\n"
        "[mailbox.plain]\nhost = 127.0.0.1\ntls = none\nusername = u\n"
        "password_command = echo x\nmaildir = ./var/mail/plain\n",
        "t.conf");
    ASSERT_TRUE(load.config) << problem_lines(load).front();
    const Config& c = *load.config;
    EXPECT_EQ(c.relay("implicit")->port, 465);
    EXPECT_EQ(c.relay("explicit")->port, 2465);
    EXPECT_EQ(c.mailbox("tls")->port, 995);
    EXPECT_EQ(c.mailbox("tls")->maildir, "/var/mail/tls");
    EXPECT_EQ(c.mailbox("tls")->interval, seconds(300));
    EXPECT_EQ(c.mailbox("tls")->max_size, 50u << 20);
    EXPECT_FALSE(c.mailbox("tls")->keep);
    EXPECT_EQ(c.mailbox("plain")->port, 110);
    EXPECT_EQ(c.mailbox("plain")->maildir, "./var/mail/plain");
    EXPECT_EQ(c.mailbox("nope"), nullptr);
    EXPECT_EQ(c.relay("nope"), nullptr);
}

TEST(ConfigLoad, RelayOrderAndSenderRouting)
{
    auto load = parse_config(
        "[relay.zeta]\nhost = z.org\nsenders = *@z.org\n"
        "[relay.alpha]\nhost = a.org\nsenders = *@a.org  bob@*\n"
        "[mailbox.m2]\nhost = p.org\nusername = u\npassword_command = echo x\n"
        "[relay.mid]\nhost = m.org\n"
        "[mailbox.m1]\nhost = p.org\nusername = u\npassword_command = echo x\n",
        "t.conf");
    ASSERT_TRUE(load.config) << problem_lines(load).front();
    const Config& c = *load.config;
    ASSERT_EQ(c.relays.size(), 3u);
    EXPECT_EQ(c.relays[0].name, "zeta");
    EXPECT_EQ(c.relays[1].name, "alpha");
    EXPECT_EQ(c.relays[2].name, "mid");
    ASSERT_EQ(c.mailboxes.size(), 2u);
    EXPECT_EQ(c.mailboxes[0].name, "m2");
    EXPECT_EQ(c.mailboxes[1].name, "m1");
    EXPECT_EQ(c.relay_for_sender("x@A.org")->name, "alpha");
    EXPECT_EQ(c.relay_for_sender("x@z.org")->name, "zeta");
    EXPECT_EQ(c.relay_for_sender("bob@q.net")->name, "alpha");
    EXPECT_EQ(c.relay_for_sender("q@q.net")->name, "mid");
    EXPECT_EQ(c.relay_for_sender("")->name, "mid");

    auto no_catch_all = parse_config(
        "[relay.one]\nhost = a.org\nsenders = *@a.org\n"
        "[relay.two]\nhost = b.org\nsenders = *@b.org\n",
        "t.conf");
    ASSERT_TRUE(no_catch_all.config);
    EXPECT_EQ(no_catch_all.config->relay_for_sender("x@c.org")->name, "one");
}

TEST(ConfigLoad, DevConfigLoadsWithRelativePaths)
{
    auto load = load_config(source_dir() / "conf/mailqd.dev.conf");
    ASSERT_EQ(problem_lines(load), std::vector<std::string>{});
    const Config& c = *load.config;
    EXPECT_EQ(c.queue.database, "./var/lib/queue.db");
    EXPECT_TRUE(c.queue.database.is_relative());
    EXPECT_EQ(c.queue.spool, "./var/spool");
    EXPECT_EQ(c.queue.retry_initial, seconds(30));
    EXPECT_EQ(c.queue.retry_max, seconds(600));
    EXPECT_EQ(c.submit.socket, "./var/run/submit.sock");
    EXPECT_EQ(c.submit.socket_group, "");
    EXPECT_EQ(c.submit.listen, "127.0.0.1:2526");
    EXPECT_EQ(c.control.socket, "./var/run/control.sock");
    EXPECT_EQ(c.control.socket_group, "");
    EXPECT_EQ(c.log.level, "debug");
    ASSERT_EQ(c.relays.size(), 1u);
    EXPECT_EQ(c.relays[0].name, "dev");
    EXPECT_EQ(c.relays[0].host, "127.0.0.1");
    EXPECT_EQ(c.relays[0].port, 2525);
    EXPECT_EQ(c.relays[0].tls, TlsMode::none);
    EXPECT_EQ(c.relays[0].auth, RelayAuth::none);
}

TEST(ConfigLoad, ExampleConfigLoadsWithDefaults)
{
    auto load = load_config(source_dir() / "conf/mailqd.conf");
    ASSERT_EQ(problem_lines(load), std::vector<std::string>{});
    const Config& c = *load.config;
    QueueConfig queue = c.queue;
    queue.hostname.clear();
    EXPECT_EQ(queue, QueueConfig{});
    EXPECT_EQ(c.submit, SubmitConfig{});
    EXPECT_EQ(c.control, ControlConfig{});
    EXPECT_EQ(c.log, LogConfig{});
    ASSERT_EQ(c.relays.size(), 1u);
    EXPECT_EQ(c.relays[0].host, "smtp.example.com");
    EXPECT_TRUE(c.mailboxes.empty());
}

TEST(ConfigLoad, MissingFileIsAProblem)
{
    auto load = load_config("/nonexistent/mailqd.conf");
    EXPECT_EQ(problem_lines(load),
              std::vector<std::string>{"/nonexistent/mailqd.conf: cannot read: No such file or directory"});
}

TEST(ConfigLoad, DefaultConfigPathHonoursEnvironment)
{
    ::unsetenv("MAILQD_CONFIG");
    EXPECT_EQ(default_config_path(), "/etc/mailqd/mailqd.conf");
    ::setenv("MAILQD_CONFIG", "/tmp/x.conf", 1);
    EXPECT_EQ(default_config_path(), "/tmp/x.conf");
    ::setenv("MAILQD_CONFIG", "", 1);
    EXPECT_EQ(default_config_path(), "/etc/mailqd/mailqd.conf");
    ::unsetenv("MAILQD_CONFIG");
}

TEST(ConfigProblemText, Formats)
{
    ConfigProblem p{"f.conf", 7, "relay.gmail.port", "bad", "relay.gmail"};
    EXPECT_EQ(p.to_string(), "f.conf:7: [relay.gmail] port: bad");
    ConfigProblem no_section{"f.conf", 7, "queue.lifetime", "bad", ""};  // section from key
    EXPECT_EQ(no_section.to_string(), "f.conf:7: [queue] lifetime: bad");
    ConfigProblem whole_file{"f.conf", 0, "", "no relay", ""};
    EXPECT_EQ(whole_file.to_string(), "f.conf: no relay");
}

}  // namespace
}  // namespace mailqd
