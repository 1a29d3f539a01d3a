// Checks of mailqd.conf that need more than one key or look at the file
// system: a relay needs a host, credentials never go in clear to a remote
// host, secret files are private, and defaults that depend on other keys.
// Reads only metadata of the files named in the config (stat), never secrets.
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "spool/config.hpp"
#include "spool/config_checks.hpp"

namespace mailqd::config_detail {
namespace {

// Collects the problems of one section, with the lines its keys were on.
struct Reporter {
    const std::string& file;
    const SectionSeen& seen;
    std::vector<ConfigProblem>& problems;

    // One problem per key: a bad value already reported is not also "missing".
    void operator()(std::string_view key, std::string message) const
    {
        auto p = make_problem(file, seen.line_of(key), seen.name, key, std::move(message));
        for (const auto& earlier : problems)
            if (earlier.file == p.file && earlier.key == p.key) return;
        problems.push_back(std::move(p));
    }
};

std::string octal(mode_t mode)
{
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// A file named by the config must exist; a secret one must be private.
void check_file(const Reporter& report, std::string_view key, const std::filesystem::path& path, bool secret)
{
    struct stat st {};
    std::string quoted = "\"" + path.string() + "\"";
    if (::stat(path.c_str(), &st) != 0) {
        int err = errno;
        report(key, quoted + (err == ENOENT ? std::string(" does not exist")
                                            : std::string(": ") + std::strerror(err)));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        report(key, quoted + " is not a regular file");
        return;
    }
    if (secret && (st.st_mode & (S_IRGRP | S_IROTH)))
        report(key, quoted + " is readable by group or others (mode " + octal(st.st_mode) +
                        "): refused; chmod 600 it");
}

template <class Section>
void check_secret_source(const Reporter& report, const Section& section, bool check_files)
{
    const SecretSource& password = section.password;
    if (!password.file.empty() && !password.command.empty())
        report("password_command", "password_file and password_command are exclusive; keep one");
    if (!check_files) return;
    if (!password.file.empty()) check_file(report, "password_file", password.file, true);
    if (!section.ca_file.empty()) check_file(report, "ca_file", section.ca_file, false);
}

void check_relay(RelayConfig& relay, const Reporter& report, bool check_files)
{
    if (!report.seen.has("port") && relay.tls == TlsMode::implicit) relay.port = 465;
    if (relay.host.empty()) report("host", "missing: a relay needs a host");
    check_secret_source(report, relay, check_files);

    bool names_mechanism = relay.auth != RelayAuth::automatic && relay.auth != RelayAuth::none;
    std::string auth_word(to_string(relay.auth));
    if (names_mechanism && relay.username.empty())
        report("username", "missing: auth = " + auth_word + " needs a username");
    if (relay.auth == RelayAuth::none && !relay.username.empty())
        report("auth", "\"none\" but username is set; remove one of them");
    if (!relay.username.empty() && relay.password.empty())
        report("username", "needs password_file or password_command");
    if (relay.username.empty() && !relay.password.empty())
        report(relay.password.file.empty() ? "password_command" : "password_file",
               "is set but username is empty");
    if (relay.auth == RelayAuth::xoauth2 && relay.password.command.empty())
        report("auth", "\"xoauth2\" needs password_command (it prints the access token)");

    bool credentials = !relay.username.empty() || names_mechanism;
    if (relay.tls == TlsMode::none && credentials && !relay.host.empty() && !is_loopback_host(relay.host))
        report("tls",
               "\"none\" would send credentials in clear to " + relay.host + "; use starttls or implicit");
}

void check_mailbox(MailboxConfig& mailbox, const Reporter& report, bool check_files)
{
    if (!report.seen.has("port") && mailbox.tls != TlsMode::implicit) mailbox.port = 110;
    if (!report.seen.has("maildir")) mailbox.maildir = "/var/mail/" + mailbox.name;
    if (mailbox.host.empty()) report("host", "missing: a mailbox needs a host");
    if (mailbox.username.empty()) report("username", "missing: a mailbox needs a username");
    if (mailbox.password.empty())
        report("password_file", "missing: a mailbox needs password_file or password_command");
    check_secret_source(report, mailbox, check_files);
    // APOP sends only a digest; USER/PASS and PLAIN send the password itself.
    if (mailbox.tls == TlsMode::none && mailbox.auth != MailboxAuth::apop && !mailbox.host.empty() &&
        !is_loopback_host(mailbox.host))
        report("tls", "\"none\" would send the password in clear to " + mailbox.host +
                          "; use starttls, implicit or auth = apop");
}

// sun_path holds 108 bytes with the terminating NUL.
void check_socket_path(const Reporter& report, const std::filesystem::path& path)
{
    if (path.native().size() > 107)
        report("socket", "\"" + path.string() + "\" is too long for a Unix socket (107 bytes at most)");
}

}  // namespace

int SectionSeen::line_of(std::string_view key) const
{
    auto it = keys.find(key);
    return it == keys.end() ? line : it->second;
}

ConfigProblem make_problem(const std::string& file, int line, std::string_view section, std::string_view key,
                           std::string message)
{
    ConfigProblem p;
    p.file = file;
    p.line = line;
    p.section = std::string(section);
    p.key = key.empty()       ? std::string()
            : section.empty() ? std::string(key)
                              : std::string(section) + "." + std::string(key);
    p.message = std::move(message);
    return p;
}

void finish_config(Config& config, const ConfigSeen& seen, std::vector<ConfigProblem>& problems)
{
    const std::string& file = seen.file;
    if (config.queue.retry_max < config.queue.retry_initial)
        Reporter{file, seen.queue, problems}("retry_max", "is shorter than retry_initial");
    check_socket_path(Reporter{file, seen.submit, problems}, config.submit.socket);
    check_socket_path(Reporter{file, seen.control, problems}, config.control.socket);
    for (std::size_t i = 0; i < config.relays.size(); ++i)
        check_relay(config.relays[i], Reporter{file, seen.relays[i], problems}, seen.check_files);
    for (std::size_t i = 0; i < config.mailboxes.size(); ++i)
        check_mailbox(config.mailboxes[i], Reporter{file, seen.mailboxes[i], problems}, seen.check_files);
    if (config.relays.empty())
        problems.push_back(
            make_problem(file, 0, "", "", "no [relay.NAME] section: at least one relay is needed"));
    if (config.queue.hostname.empty()) config.queue.hostname = machine_fqdn();
}

}  // namespace mailqd::config_detail

namespace mailqd {

std::string machine_fqdn()
{
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_CANONNAME;
    addrinfo* info = nullptr;
    std::string fqdn = name;
    if (::getaddrinfo(name, nullptr, &hints, &info) == 0) {
        if (info && info->ai_canonname && *info->ai_canonname) fqdn = info->ai_canonname;
        ::freeaddrinfo(info);
    }
    return fqdn;
}

}  // namespace mailqd
