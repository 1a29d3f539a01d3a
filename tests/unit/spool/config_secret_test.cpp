// Secrets: password_file must be private (checked at load and again when
// read), password_command's output is the secret, and no error shows it.
#include <gtest/gtest.h>

#include <cstdio>

#include "spool/config.hpp"
#include "tests/unit/spool/config_test_support.hpp"

namespace mailqd {
namespace {

using namespace config_test;

std::string relay_with_file(const fs::path& file)
{
    return "[relay.r]\nhost = h.org\nusername = u\npassword_file = " + file.string() + "\n";
}

TEST(ConfigSecret, PrivatePasswordFileIsAcceptedAndRead)
{
    TempDir dir;
    auto file = dir.write("secret", "s3cret\nsecond line\n", 0600);
    auto load = parse_config(relay_with_file(file), "t.conf");
    ASSERT_EQ(problem_lines(load), std::vector<std::string>{});
    auto secret = read_secret(load.config->relays[0].password);
    ASSERT_TRUE(secret.ok()) << secret.error().message;
    EXPECT_EQ(*secret, "s3cret");

    auto crlf = dir.write("crlf", "tok\r\n", 0400);
    auto crlf_secret = read_secret(SecretSource{crlf, ""});
    ASSERT_TRUE(crlf_secret.ok());
    EXPECT_EQ(*crlf_secret, "tok");
}

TEST(ConfigSecret, ReadableByOthersIsRefused)
{
    TempDir dir;
    for (mode_t mode : {0644, 0640, 0604}) {
        auto file = dir.write("secret", "s3cret\n", mode);
        auto load = parse_config(relay_with_file(file), "t.conf");
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        EXPECT_EQ(problem_lines(load),
                  std::vector<std::string>{"t.conf:4: [relay.r] password_file: \"" + file.string() +
                                           "\" is readable by group or others (mode " + octal +
                                           "): refused; chmod 600 it"});
        // read_secret checks again: the file may have changed since the load.
        auto secret = read_secret(SecretSource{file, ""});
        ASSERT_FALSE(secret.ok());
        EXPECT_NE(secret.error().message.find("readable by group or others"), std::string::npos);
        EXPECT_EQ(secret.error().message.find("s3cret"), std::string::npos);
    }
}

TEST(ConfigSecret, FileChecksCanBeSkippedForUnprivilegedReaders)
{
    std::string text = relay_with_file("/nonexistent/secret") + "ca_file = /nonexistent/ca.pem\n";
    EXPECT_EQ(parse_config(text, "t.conf").problems.size(), 2u);
    auto load = parse_config(text, "t.conf", ConfigLoadOptions{.check_files = false});
    ASSERT_EQ(problem_lines(load), std::vector<std::string>{});
    EXPECT_EQ(load.config->relays[0].password.file, "/nonexistent/secret");
    // Checks that do not touch the disk still apply.
    auto both =
        parse_config(text + "password_command = echo x\n", "t.conf", ConfigLoadOptions{.check_files = false});
    EXPECT_EQ(problem_lines(both),
              std::vector<std::string>{"t.conf:6: [relay.r] password_command: password_file and "
                                       "password_command are exclusive; keep one"});
}

TEST(ConfigSecret, FileErrorsNeverShowTheSecret)
{
    TempDir dir;
    auto empty = dir.write("empty", "\nsecond\n", 0600);
    auto missing = read_secret(SecretSource{"/nonexistent/secret", ""});
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);
    auto blank = read_secret(SecretSource{empty, ""});
    ASSERT_FALSE(blank.ok());
    EXPECT_NE(blank.error().message.find("first line is empty"), std::string::npos);
    EXPECT_EQ(blank.error().message.find("second"), std::string::npos);
}

TEST(ConfigSecret, PasswordCommand)
{
    struct Case {
        const char* command;
        bool ok;
        const char* want;  // the secret, or a part of the error
    };
    const Case cases[] = {
        {"printf 'tok\\n'", true, "tok"},
        {"printf 'tok'", true, "tok"},
        {"printf 'ya29.a0-token\\r\\n'", true, "ya29.a0-token"},
        {"echo \"$HOME\" >/dev/null; echo from-shell", true, "from-shell"},
        {"echo leaked-secret; exit 3", false, "exited with status 3"},
        {"true", false, "printed nothing"},
        {"cat", false, "printed nothing"},  // stdin is /dev/null, so it does not hang
        {"echo leaked-secret; kill -9 $$", false, "killed by signal 9"},
        {"/nonexistent/program", false, "exited with status 127"},
    };
    for (const auto& c : cases) {
        auto secret = read_secret(SecretSource{"", c.command});
        ASSERT_EQ(secret.ok(), c.ok) << c.command;
        if (c.ok) {
            EXPECT_EQ(*secret, c.want) << c.command;
        } else {
            EXPECT_NE(secret.error().message.find(c.want), std::string::npos)
                << c.command << ": " << secret.error().message;
            EXPECT_EQ(secret.error().message.find("leaked-secret"), std::string::npos);
        }
    }
    EXPECT_FALSE(read_secret(SecretSource{}).ok());
    EXPECT_FALSE(read_secret(SecretSource{"/x", "echo x"}).ok());
}

}  // namespace
}  // namespace mailqd
