// RFC 5322 address lists and single mailboxes: the forms found in real
// headers and on command lines, and the garbage that must be refused.
#include "spool/message.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

using Addresses = std::vector<std::string>;

// Error texts show control characters as '?'.
std::string shown(std::string s)
{
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = '?';
    return s;
}

TEST(ParseAddressList, Forms)
{
    struct Case {
        std::string value;
        Addresses expected;
    };
    const Case cases[] = {
        {"", {}},
        {"a@example.com", {"a@example.com"}},
        {"  a@example.com  ", {"a@example.com"}},
        {"<a@example.com>", {"a@example.com"}},
        {"Name <a@example.com>", {"a@example.com"}},
        {"John Q. Public <jqp@example.com>", {"jqp@example.com"}},
        {"\"Quoted, Name\" <a@example.com>", {"a@example.com"}},
        {"\"Doe, \\\"J\\\"\" <a@example.com>, b@example.org", {"a@example.com", "b@example.org"}},
        {"a@example.com, b@example.org,c@example.net", {"a@example.com", "b@example.org", "c@example.net"}},
        {"a@example.com (Comment)", {"a@example.com"}},
        {"(lead) Name (mid (nested) \\) ) <a@example.com> (trail)", {"a@example.com"}},
        {"a(c)@(d)example.com", {"a@example.com"}},
        {"undisclosed-recipients:;", {}},
        {"Group: a@example.com, B <b@example.org>;", {"a@example.com", "b@example.org"}},
        {"Group: a@example.com;, c@example.net", {"a@example.com", "c@example.net"}},
        {"\"The Group\": ;", {}},
        {"undisclosed-recipients:", {}},  // unterminated group at the end
        {"a@example.com,, ,b@example.org,", {"a@example.com", "b@example.org"}},  // obs-addr-list
        {"<@relay.example,@other.example:a@example.com>", {"a@example.com"}},     // obs-route
        {"john . doe @ example . com", {"john.doe@example.com"}},                 // obs CFWS
        {"\"john doe\"@example.com", {"\"john doe\"@example.com"}},
        {"\"john\"@example.com", {"john@example.com"}},  // needless quotes dropped
        {"\"a\\\"b\"@example.com", {"\"a\\\"b\"@example.com"}},
        {"user+tag@example.com", {"user+tag@example.com"}},
        {"a@[192.0.2.1]", {"a@[192.0.2.1]"}},
        {"a@[IPv6:2001:db8::1]", {"a@[IPv6:2001:db8::1]"}},
        {"a@localhost", {"a@localhost"}},
        {"j\xC3\xBCrgen@m\xC3\xBCller.example", {"j\xC3\xBCrgen@m\xC3\xBCller.example"}},  // SMTPUTF8
        {"=?UTF-8?Q?J=C3=BCrgen?= <j@example.com>", {"j@example.com"}},
        {"\xE5\xBC\xA0\xE4\xB8\x89 <\xE5\xBC\xA0@example.cn>", {"\xE5\xBC\xA0@example.cn"}},
        {"a@example.com,\r\n\tb@example.org", {"a@example.com", "b@example.org"}},
    };
    for (const auto& c : cases) {
        auto r = parse_address_list(c.value);
        ASSERT_TRUE(r) << c.value << ": " << r.error().message;
        EXPECT_EQ(*r, c.expected) << c.value;
    }
}

TEST(ParseAddressList, Garbage)
{
    struct Case {
        std::string value, error;
    };
    const Case cases[] = {
        {"a", "address 'a' has no domain"},
        {"John Doe", "invalid local part near offset 5"},
        {"john doe@example.com", "invalid local part near offset 5"},
        {"a@", "expected a domain at the end"},
        {"@example.com", "expected an address at offset 0, found '@'"},
        {"a@b@c", "expected ',' between addresses at offset 3, found '@'"},
        {"<a@example.com", "expected '>' at the end"},
        {"a@example.com>", "expected ',' between addresses at offset 13, found '>'"},
        {"Name <>", "expected an address after '<' at offset 6, found '>'"},
        {"\"unterminated <a@example.com>", "unterminated quoted string"},
        {"a@example.com (unterminated", "unterminated comment"},
        {"a@[1.2.3.4", "unterminated domain literal"},
        {"a@example.com; b@example.org", "expected ',' between addresses at offset 13, found ';'"},
        {": a@example.com;", "expected a group name before ':' at offset 0, found ':'"},
        {"a.@example.com", "local part ends in '.'"},
        {"a..b@example.com", "invalid local part near offset 2"},
        {"a@example..com", "expected a domain at offset 10, found '.'"},
        {"a@example.com.", "expected a domain at the end"},
        {"a\x01@example.com", "unexpected character 0x01 at offset 1"},
        {"a]@example.com", "unexpected character ']' at offset 1"},
    };
    for (const auto& c : cases) {
        auto r = parse_address_list(c.value);
        ASSERT_FALSE(r) << c.value;
        EXPECT_EQ(r.error().kind, ErrorKind::bad_message);
        EXPECT_EQ(r.error().message, "cannot parse '" + shown(c.value) + "': " + c.error) << c.value;
    }
}

TEST(ParseAddressList, SemanticChecks)
{
    const std::string bad[] = {
        "a@exa!mple.com",                          // atom, but not a host name
        std::string(65, 'l') + "@example.com",     // local part over 64 octets
        "a@" + std::string(64, 'd') + ".example",  // label over 63 octets
        "a@\xC3(bad-utf8).example",                // comment hides nothing: still bad UTF-8
        "\xFF@example.com",                        // not UTF-8
    };
    for (const auto& value : bad) {
        auto r = parse_address_list(value);
        EXPECT_FALSE(r) << value;
    }
}

TEST(ParseAddressList, DefaultDomain)
{
    auto r = parse_address_list("root, Ops <ops>, a@x", "host.example");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (Addresses{"root@host.example", "ops@host.example", "a@x"}));
}

TEST(ParseMailboxList, DisplayNames)
{
    struct Case {
        std::string value, name, address;
    };
    const Case cases[] = {
        {"a@example.com", "", "a@example.com"},
        {"John Q. Public <jqp@example.com>", "John Q. Public", "jqp@example.com"},
        {"\"Doe, John\" <j@example.com>", "Doe, John", "j@example.com"},
        {"  Many   spaces  <j@example.com>", "Many spaces", "j@example.com"},
        {"J\xC3\xBCrgen M\xC3\xBCller <j@example.com>", "J\xC3\xBCrgen M\xC3\xBCller", "j@example.com"},
        {"\"a \\\"b\\\"\" <j@example.com>", "a \"b\"", "j@example.com"},
    };
    for (const auto& c : cases) {
        auto r = parse_mailbox_list(c.value);
        ASSERT_TRUE(r) << c.value << ": " << r.error().message;
        ASSERT_EQ(r->size(), 1u);
        EXPECT_EQ(r->front().display_name, c.name) << c.value;
        EXPECT_EQ(r->front().address, c.address) << c.value;
    }
}

TEST(ParseMailbox, CommandLineAndSmtpForms)
{
    struct Case {
        std::string text;
        bool allow_null;
        std::string expected;
    };
    const Case cases[] = {
        {"a@example.com", false, "a@example.com"},
        {"<a@example.com>", false, "a@example.com"},
        {" <a@example.com> ", false, "a@example.com"},
        {"Name <a@example.com>", false, "a@example.com"},
        {"\"Last, First\" <a@example.com>", false, "a@example.com"},
        {"<>", true, ""},
        {" < > ", true, ""},
        {"<@r.example:a@example.com>", false, "a@example.com"},
    };
    for (const auto& c : cases) {
        auto r = parse_mailbox(c.text, c.allow_null);
        ASSERT_TRUE(r) << c.text << ": " << r.error().message;
        EXPECT_EQ(*r, c.expected) << c.text;
    }
}

TEST(ParseMailbox, Refused)
{
    struct Case {
        std::string text, error;
    };
    const Case cases[] = {
        {"<>", "the null address <> is not allowed here"},
        {"", "empty address"},
        {"a@example.com, b@example.com", "expected the end after the address at offset 13, found ','"},
        {"Group: a@example.com;", "address 'Group' has no domain"},
        {"root", "address 'root' has no domain"},
        {"a@example.com\r\nBcc: evil@example.com",
         "expected the end after the address at offset 15, found 'Bcc'"},
    };
    for (const auto& c : cases) {
        auto r = parse_mailbox(c.text);
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().kind, ErrorKind::bad_message);
        EXPECT_EQ(r.error().message, "cannot parse '" + shown(c.text) + "': " + c.error) << c.text;
    }
    auto qualified = parse_mailbox("root", false, "host.example");
    ASSERT_TRUE(qualified);
    EXPECT_EQ(*qualified, "root@host.example");
}

TEST(ValidAddress, Table)
{
    struct Case {
        std::string address;
        bool valid;
    };
    const Case cases[] = {
        {"a@example.com", true},
        {"a.b-c+d@sub.example.com", true},
        {"\"a b\"@example.com", true},
        {"a@[192.0.2.1]", true},
        {"\xC3\xA9@example.com", true},
        {"", false},
        {"a", false},
        {"@example.com", false},
        {"a@", false},
        {"a@b@c", false},
        {"a b@example.com", false},
        {"a@exa mple.com", false},
        {".a@example.com", false},
        {"a@.example.com", false},
        {"a@example.com\n", false},
        {"a\r@example.com", false},
        {"a@[]", false},
        {"\xC3@example.com", false},
    };
    for (const auto& c : cases) EXPECT_EQ(valid_address(c.address), c.valid) << c.address;
}

}  // namespace
}  // namespace mailqd
