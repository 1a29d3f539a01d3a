// Secrets: password_file must be private (checked at load and again when
// read), password_command's output is the secret, and no error shows it.
#include <gtest/gtest.h>

#include <cstdio>
#include <string_view>

#include "spool/config.hpp"
#include "tests/unit/spool/config_test_support.hpp"

namespace mailqd {
namespace {

using namespace config_test;
using namespace std::string_view_literals;

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

// The secret is the first line, of a command's output as of a file: LF or
// CRLF ends it, and a CR or NUL left in it is refused (it would end PASS or
// AUTH early, and what follows would go out as a command of its own,
// unmasked in the trace).
struct LineCase {
    std::string_view text;  // ""sv: the NUL case holds a NUL
    bool ok;
    const char* want;  // the secret, or a part of the error
};
const LineCase line_cases[] = {
    {"pw\nlogin: leaked-secret\n"sv, true, "pw"},
    {"pw\r\nQUIT\r\n"sv, true, "pw"},
    {"pw"sv, true, "pw"},
    {"p\rw\n"sv, false, "first line holds a CR or NUL byte, refused"},
    {"pw\r"sv, false, "first line holds a CR or NUL byte, refused"},
    {"pw\r\r\n"sv, false, "first line holds a CR or NUL byte, refused"},
    {"p\0w\n"sv, false, "first line holds a CR or NUL byte, refused"},
    {"\npw\n"sv, false, "first line is empty"},
    {"\r\npw\n"sv, false, "first line is empty"},
};

void expect_line_case(const Result<std::string>& secret, const LineCase& c, const std::string& what)
{
    ASSERT_EQ(secret.ok(), c.ok) << what << " case " << (&c - line_cases) << ": "
                                 << (secret.ok() ? *secret : secret.error().message);
    if (c.ok) {
        EXPECT_EQ(*secret, c.want) << what;
    } else {
        EXPECT_NE(secret.error().message.find(c.want), std::string::npos)
            << what << ": " << secret.error().message;
        EXPECT_EQ(secret.error().message.find("pw"), std::string::npos) << secret.error().message;
        EXPECT_EQ(secret.error().message.find("p\r"), std::string::npos) << secret.error().message;
    }
}

// The bytes of text as a printf format ('\ooo' for each), for sh -c.
std::string printf_command(std::string_view text)
{
    std::string command = "printf '";
    char octal[8];
    for (unsigned char ch : text) {
        std::snprintf(octal, sizeof octal, "\\%03o", ch);
        command += octal;
    }
    return command + "'";
}

TEST(ConfigSecret, CommandSecretIsTheFirstLineWithoutCrOrNul)
{
    for (const auto& c : line_cases)
        expect_line_case(read_secret(SecretSource{"", printf_command(c.text)}), c, "password_command");
}

TEST(ConfigSecret, FileSecretIsTheFirstLineWithoutCrOrNul)
{
    TempDir dir;
    for (const auto& c : line_cases) {
        auto file = dir.write("secret", std::string(c.text), 0600);
        expect_line_case(read_secret(SecretSource{file, ""}), c, "password_file");
    }
}

TEST(ConfigSecret, FirstLineIsBounded)
{
    TempDir dir;
    auto file = dir.write("long", std::string(70'000, 'x') + "\n", 0600);
    auto secret = read_secret(SecretSource{file, ""});
    ASSERT_FALSE(secret.ok());
    EXPECT_NE(secret.error().message.find("first line longer than 64 KiB"), std::string::npos)
        << secret.error().message;
    auto token = dir.write("token", std::string(4000, 't') + "\nrest\n", 0600);
    auto read = read_secret(SecretSource{token, ""});
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(*read, std::string(4000, 't'));
}

}  // namespace
}  // namespace mailqd
