// Personality, global options and subcommand option parsing.
#include "cli/cli_args.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

TEST(Personality, FromArgv0Basename)
{
    EXPECT_EQ(personality_from("mailqctl"), Personality::mailqctl);
    EXPECT_EQ(personality_from("/usr/sbin/sendmail"), Personality::sendmail);
    EXPECT_EQ(personality_from("./build/cli/mailq"), Personality::mailq);
    EXPECT_EQ(personality_from("/usr/sbin/sendmail.mailqd"), Personality::sendmail);
    EXPECT_EQ(personality_from("/opt/sendmail/bin/mailqctl"), Personality::mailqctl);
    EXPECT_EQ(personality_from(""), Personality::mailqctl);
    EXPECT_EQ(program_name(Personality::sendmail), "sendmail");
    EXPECT_EQ(program_name(Personality::mailqctl), "mailqctl");
}

TEST(GlobalOptions, AnywhereBeforeDoubleDash)
{
    auto line = parse_global_options({"-c", "/etc/x.conf", "list", "--socket", "/s", "--json"});
    ASSERT_TRUE(line.ok());
    EXPECT_EQ(*line->global.config, "/etc/x.conf");
    EXPECT_EQ(*line->global.socket, "/s");
    EXPECT_EQ(line->args, (std::vector<std::string>{"list", "--json"}));

    line = parse_global_options({"--config=/a", "--socket=/b", "stats"});
    ASSERT_TRUE(line.ok());
    EXPECT_EQ(*line->global.config, "/a");
    EXPECT_EQ(*line->global.socket, "/b");

    line = parse_global_options({"-c/a", "submit", "--", "-c", "x"});
    ASSERT_TRUE(line.ok());
    EXPECT_EQ(*line->global.config, "/a");
    EXPECT_EQ(line->args, (std::vector<std::string>{"submit", "--", "-c", "x"}));
}

TEST(GlobalOptions, Errors)
{
    auto line = parse_global_options({"list", "--socket"});
    ASSERT_FALSE(line.ok());
    EXPECT_EQ(line.error().kind, ErrorKind::usage);
    EXPECT_FALSE(parse_global_options({"-c"}).ok());
    EXPECT_FALSE(parse_global_options({"--socket="}).ok());
}

TEST(GlobalOptions, HelpAndVersion)
{
    auto line = parse_global_options({"--help"});
    ASSERT_TRUE(line.ok());
    EXPECT_TRUE(line->global.help);
    line = parse_global_options({"--version"});
    ASSERT_TRUE(line.ok());
    EXPECT_TRUE(line->global.version);
}

TEST(CommandArgs, FlagsValuesAndPositionals)
{
    auto parsed =
        parse_command_args("list", {"--json", "--state", "deferred"}, {{"--json"}, {"--state", true}});
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed->has("--json"));
    EXPECT_EQ(parsed->value("--state"), "deferred");
    EXPECT_TRUE(parsed->positional.empty());

    parsed = parse_command_args("list", {"--state=held"}, {{"--state", true}});
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->value("--state"), "held");

    parsed = parse_command_args("submit", {"-fa@b", "x@y", "-f", "c@d", "--", "-z"}, {{"-f", true}});
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->value("-f"), "c@d");  // the last one wins
    EXPECT_EQ(parsed->positional, (std::vector<std::string>{"x@y", "-z"}));
}

TEST(CommandArgs, ErrorsNameTheCommandAndArgument)
{
    auto parsed = parse_command_args("list", {"--frob"}, {{"--json"}});
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().kind, ErrorKind::usage);
    EXPECT_EQ(parsed.error().message, "list: unknown option --frob");

    parsed = parse_command_args("list", {"--state"}, {{"--state", true}});
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().message, "list: --state needs a value");

    parsed = parse_command_args("list", {"--json=1"}, {{"--json"}});
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().message, "list: --json takes no value");
}

TEST(CommandArgs, LoneDashIsPositional)
{
    auto parsed = parse_command_args("x", {"-"}, {});
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->positional, (std::vector<std::string>{"-"}));
}

}  // namespace
}  // namespace mailqd
