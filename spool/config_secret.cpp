// Reads a relay's or mailbox's secret: the first line of password_file
// (refused unless private to its owner) or the stdout of password_command
// (run by spool/secret_command). Never puts any part of a secret into an error.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "spool/config.hpp"
#include "spool/secret_command.hpp"
#include "spool/unique_fd.hpp"

namespace mailqd {
namespace {

constexpr std::size_t max_secret = 64 * 1024;  // OAuth2 tokens are a few KiB

Error secret_error(std::string message) { return make_error(ErrorKind::config, std::move(message)); }

std::string errno_text(int err) { return std::strerror(err); }

// The secret is the first line: up to the first LF, less a CR just before
// it. A CR or NUL left in it is refused: sent in AUTH or PASS, it would end
// the command early and turn the rest into a command of its own.
Result<std::string> first_line(std::string text, const std::string& what)
{
    auto end = text.find('\n');
    if (end != std::string::npos) {
        text.resize(end);
        if (!text.empty() && text.back() == '\r') text.pop_back();
    }
    if (text.empty()) return secret_error(what + ": first line is empty");
    if (text.find_first_of(std::string_view("\r\0", 2)) != std::string::npos)
        return secret_error(what + ": first line holds a CR or NUL byte, refused");
    return text;
}

Result<std::string> read_secret_file(const std::filesystem::path& path)
{
    std::string what = "password_file " + path.string();
    UniqueFd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (!file) return secret_error(what + ": " + errno_text(errno));
    // fstat the opened file, not the name: the check and the read see the same inode.
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) return secret_error(what + ": " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) return secret_error(what + ": not a regular file");
    if (st.st_mode & (S_IRGRP | S_IROTH))
        return secret_error(what + ": readable by group or others, refused");
    std::string text;
    char buf[4096];
    while (text.find('\n') == std::string::npos && text.size() <= max_secret) {
        ssize_t n = ::read(file.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return secret_error(what + ": " + errno_text(errno));
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    if (std::min(text.find('\n'), text.size()) > max_secret)
        return secret_error(what + ": first line longer than 64 KiB");
    return first_line(std::move(text), what);
}

Result<std::string> read_command_secret(const std::string& command)
{
    Result<std::string> out = run_secret_command(command);
    if (!out) return out;
    if (out->empty()) return secret_error("password_command: printed nothing");
    return first_line(std::move(*out), "password_command");
}

}  // namespace

Result<std::string> read_secret(const SecretSource& source)
{
    if (!source.file.empty() && !source.command.empty())
        return secret_error("password_file and password_command are exclusive");
    if (!source.file.empty()) return read_secret_file(source.file);
    if (!source.command.empty()) return read_command_secret(source.command);
    return secret_error("no password_file or password_command");
}

}  // namespace mailqd
