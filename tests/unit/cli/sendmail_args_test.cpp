// sendmail flags as cron, mailx, PHP, git send-email and logwatch pass them.
#include "cli/cmd_sendmail.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

using Strings = std::vector<std::string>;

SendmailOptions parse_ok(const Strings& args)
{
    auto parsed = parse_sendmail_args(args);
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    return parsed.ok() ? *parsed : SendmailOptions{};
}

TEST(SendmailArgs, Cron)
{
    // Debian cron: sendmail -FCronDaemon -i -B8BITMIME -oem root
    auto o = parse_ok({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"});
    EXPECT_EQ(o.full_name, "CronDaemon");
    EXPECT_TRUE(o.ignore_dots);
    EXPECT_FALSE(o.extract_recipients);
    EXPECT_EQ(o.recipients, Strings{"root"});
    EXPECT_EQ(o.mode, SendmailOptions::Mode::send);
}

TEST(SendmailArgs, PhpAndMailx)
{
    auto o = parse_ok({"-t", "-i"});
    EXPECT_TRUE(o.extract_recipients);
    EXPECT_TRUE(o.ignore_dots);
    EXPECT_TRUE(o.recipients.empty());

    o = parse_ok({"-ti", "-f", "app@example.com"});
    EXPECT_TRUE(o.extract_recipients);
    EXPECT_TRUE(o.ignore_dots);
    EXPECT_EQ(o.sender, "app@example.com");

    o = parse_ok({"-oi", "--", "a@example.com", "-b@example.com"});
    EXPECT_TRUE(o.ignore_dots);
    EXPECT_EQ(o.recipients, (Strings{"a@example.com", "-b@example.com"}));
}

TEST(SendmailArgs, ValuesAttachedOrSeparate)
{
    auto o = parse_ok({"-fa@b", "-F", "Cron Daemon", "x@y"});
    EXPECT_EQ(o.sender, "a@b");
    EXPECT_EQ(o.full_name, "Cron Daemon");
    o = parse_ok({"-r", "c@d", "x@y"});
    EXPECT_EQ(o.sender, "c@d");
    o = parse_ok({"-f", "", "x@y"});
    EXPECT_EQ(o.sender, "");
    o = parse_ok({"-C", "/etc/mailqd/other.conf", "x@y"});
    EXPECT_EQ(*o.config, "/etc/mailqd/other.conf");
}

TEST(SendmailArgs, HarmlessFlagsIgnored)
{
    auto o = parse_ok(
        {"-odi", "-odb", "-oem", "-oee",  "-v", "-B8BITMIME", "-bm", "-N", "never", "-Nsuccess,failure",
         "-R",   "hdrs", "-V",   "envid", "-G", "-U",         "-m",  "-h", "20",    "-L",
         "tag",  "-O",   "x=y",  "a@b"});
    EXPECT_EQ(o.recipients, Strings{"a@b"});  // no value mistaken for a recipient
    EXPECT_FALSE(o.ignore_dots);
    EXPECT_EQ(o.mode, SendmailOptions::Mode::send);
}

// -N, -R and -V are RFC 3461's NOTIFY, RET and ENVID (Postfix's flags).
TEST(SendmailArgs, DsnFlags)
{
    auto o = parse_ok({"-N", "never", "a@b"});
    EXPECT_TRUE(o.notify.never());
    o = parse_ok({"-NSuccess,DELAY", "-Rhdrs", "-V", "order 42+x=y", "a@b"});
    EXPECT_EQ(to_string(o.notify), "SUCCESS,DELAY");
    EXPECT_EQ(o.dsn.ret, DsnRet::hdrs);
    EXPECT_EQ(o.dsn.envid, "order 42+x=y");
    EXPECT_EQ(o.recipients, Strings{"a@b"});
    o = parse_ok({"-R", "FULL", "-V" + std::string(100, 'v'), "-B", "7bit", "a@b"});
    EXPECT_EQ(o.dsn.ret, DsnRet::full);
    EXPECT_EQ(o.dsn.envid.size(), 100u);
    o = parse_ok({"a@b"});
    EXPECT_FALSE(o.notify.given);
    EXPECT_EQ(o.dsn, MessageDsn{});
}

TEST(SendmailArgs, BadDsnValuesAreUsageErrorsNamingThem)
{
    const std::vector<std::pair<Strings, std::string>> table = {
        {{"-N", "sometimes", "a@b"}, "sometimes"},
        {{"-Nnever,success", "a@b"}, "never,success"},
        {{"-N", "", "a@b"}, "-N"},
        {{"-R", "body", "a@b"}, "body"},
        {{"-V", std::string(101, 'v'), "a@b"}, "-V"},
        {{"-V", "two\nlines", "a@b"}, "-V"},
        {{"-B", "BINARYMIME", "a@b"}, "BINARYMIME"},
    };
    for (const auto& [args, named] : table) {
        SCOPED_TRACE(args.front() + " " + args[1]);
        auto parsed = parse_sendmail_args(args);
        ASSERT_FALSE(parsed.ok());
        EXPECT_EQ(parsed.error().kind, ErrorKind::usage);
        EXPECT_NE(parsed.error().message.find(named), std::string::npos) << parsed.error().message;
    }
}

TEST(SendmailArgs, ListAndQueueRun)
{
    EXPECT_EQ(parse_ok({"-bp"}).mode, SendmailOptions::Mode::list);
    EXPECT_EQ(parse_ok({"-q"}).mode, SendmailOptions::Mode::retry);
    EXPECT_EQ(parse_ok({"-q15m"}).mode, SendmailOptions::Mode::retry);
}

TEST(SendmailArgs, SmtpOnStdin)
{
    // Laravel's default command line, and Symfony Mailer's.
    EXPECT_EQ(parse_ok({"-bs", "-i"}).mode, SendmailOptions::Mode::smtp);
    EXPECT_EQ(parse_ok({"-bs"}).mode, SendmailOptions::Mode::smtp);
}

TEST(SendmailArgs, Refused)
{
    for (const Strings& args : {Strings{"-bd"}, Strings{"-bi"}, Strings{"-x"}, Strings{"-f"}, Strings{"-F"},
                                Strings{"-t", "-Z", "a@b"}}) {
        auto parsed = parse_sendmail_args(args);
        ASSERT_FALSE(parsed.ok()) << args.front();
        EXPECT_EQ(parsed.error().kind, ErrorKind::usage);
    }
    // The flag is named.
    EXPECT_NE(parse_sendmail_args({"-t", "-Z", "a@b"}).error().message.find("-Z"), std::string::npos);
}

}  // namespace
}  // namespace mailqd
