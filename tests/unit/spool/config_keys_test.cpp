// The key table against its readers: every default parses to the struct's
// default, and conf/mailqd.conf and man/mailqd.conf.5 show every key with it.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "spool/config.hpp"
#include "tests/unit/spool/config_test_support.hpp"

namespace mailqd {
namespace {

using namespace config_test;

SectionTarget target_for(SectionKind kind, QueueConfig& q, SubmitConfig& s, ControlConfig& c, LogConfig& l,
                         RelayConfig& r, MailboxConfig& m)
{
    switch (kind) {
        case SectionKind::queue: return &q;
        case SectionKind::submit: return &s;
        case SectionKind::control: return &c;
        case SectionKind::log: return &l;
        case SectionKind::relay: return &r;
        case SectionKind::mailbox: return &m;
    }
    return &q;
}

TEST(ConfigKeys, DefaultTextParsesToTheStructDefault)
{
    std::map<std::pair<SectionKind, std::string_view>, int> seen;
    for (const auto& key : config_keys()) {
        int& count = seen[{key.section, key.name}];
        EXPECT_EQ(count++, 0) << key.name << " twice in the table";
        EXPECT_FALSE(key.help.empty()) << key.name;
        QueueConfig q;
        SubmitConfig s;
        ControlConfig c;
        LogConfig l;
        RelayConfig r;
        MailboxConfig m;
        EXPECT_EQ(key.apply(target_for(key.section, q, s, c, l, r, m), key.default_text), "") << key.name;
        if (key.section == SectionKind::mailbox && key.name == "maildir") {
            EXPECT_EQ(m.maildir, "/var/mail/NAME");  // filled in per mailbox at load
            m.maildir.clear();
        }
        EXPECT_EQ(q, QueueConfig{}) << key.name;
        EXPECT_EQ(s, SubmitConfig{}) << key.name;
        EXPECT_EQ(c, ControlConfig{}) << key.name;
        EXPECT_EQ(l, LogConfig{}) << key.name;
        EXPECT_EQ(r, RelayConfig{}) << key.name;
        EXPECT_EQ(m, MailboxConfig{}) << key.name;
        EXPECT_EQ(find_config_key(key.section, key.name), &key);
    }
    EXPECT_EQ(config_keys().size(), 52u);  // DESIGN.md section 2
}

SectionKind kind_of_header(std::string header)
{
    for (auto kind : {SectionKind::queue, SectionKind::submit, SectionKind::control, SectionKind::log,
                      SectionKind::relay, SectionKind::mailbox}) {
        std::string name(to_string(kind));
        if (header == name || header.rfind(name + ".", 0) == 0) return kind;
    }
    ADD_FAILURE() << "unexpected section " << header;
    return SectionKind::queue;
}

std::string trimmed(std::string s)
{
    auto first = s.find_first_not_of(" \t");
    auto last = s.find_last_not_of(" \t");
    return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

TEST(ConfigKeys, ExampleConfigShowsEveryKeyWithItsDefault)
{
    // "key = value" lines, commented out or not, per [section] (also commented).
    std::map<std::pair<SectionKind, std::string>, std::string> shown;
    std::istringstream in(read_file(source_dir() / "conf/mailqd.conf"));
    std::string line;
    SectionKind section = SectionKind::queue;
    while (std::getline(in, line)) {
        bool commented = !line.empty() && line[0] == '#';
        std::string body = commented ? line.substr(1) : line;
        if (!body.empty() && body[0] == '[') {
            section = kind_of_header(body.substr(1, body.find(']') - 1));
            continue;
        }
        auto eq = body.find('=');
        if (eq == std::string::npos || body.empty() || body[0] == ' ') continue;
        std::string value = trimmed(body.substr(eq + 1, body.find('#', eq) - eq - 1));
        shown[{section, trimmed(body.substr(0, eq))}] = commented ? value : "(set)";
    }
    for (const auto& key : config_keys()) {
        auto it = shown.find({key.section, std::string(key.name)});
        ASSERT_NE(it, shown.end()) << to_string(key.section) << "." << key.name << " missing";
        bool example_value =
            key.section == SectionKind::mailbox || (key.section == SectionKind::relay && key.name == "host");
        if (!example_value) {
            EXPECT_EQ(it->second, key.default_text) << to_string(key.section) << "." << key.name;
        }
    }
}

TEST(ConfigKeys, ManPageDocumentsEveryKeyWithItsDefault)
{
    // Items look like ".It Cm lifetime No = Ar 5d" under ".Ss [queue]\&".
    std::map<std::pair<SectionKind, std::string>, std::string> items;
    std::istringstream in(read_file(source_dir() / "man/mailqd.conf.5"));
    std::string line;
    SectionKind section = SectionKind::queue;
    bool in_keys = false;  // inside a ".Ss [section]" of keys
    while (std::getline(in, line)) {
        if (line.rfind(".Ss [", 0) == 0) {
            section = kind_of_header(line.substr(5, line.find(']') - 5));
            in_keys = true;
        } else if (line.rfind(".Sh ", 0) == 0) {
            in_keys = false;
        } else if (in_keys && line.rfind(".It Cm ", 0) == 0) {
            std::string rest = line.substr(7);
            std::string name = rest.substr(0, rest.find(' '));
            auto value_at = rest.find(" No =");
            std::string value = value_at == std::string::npos ? "?" : trimmed(rest.substr(value_at + 5));
            if (value.rfind("Ar ", 0) == 0 || value.rfind("Pa ", 0) == 0) value = value.substr(3);
            items[{section, name}] = value;
        }
    }
    for (const auto& key : config_keys()) {
        auto it = items.find({key.section, std::string(key.name)});
        ASSERT_NE(it, items.end()) << to_string(key.section) << "." << key.name << " undocumented";
        EXPECT_EQ(it->second, key.default_text) << to_string(key.section) << "." << key.name;
    }
    EXPECT_EQ(items.size(), config_keys().size());
}

}  // namespace
}  // namespace mailqd
