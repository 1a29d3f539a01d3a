// The spool directory door: clients rename complete messages into
// SPOOL/incoming/; this file reads them (never following links, bounded in
// size), takes the envelope from their headers, and removes or quarantines
// them. Trusts nothing in the directory: names are checked before use, the
// submitter is the file's owner, and a hard-linked file is refused so nobody
// can get another user's file mailed by linking it in.
#include "spool/spool_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "spool/message.hpp"
#include "spool/text_sanitize.hpp"
#include "spool/unique_fd.hpp"

namespace mailqd {

namespace {

namespace fs = std::filesystem;

bool valid_name(const std::string& name)
{
    return !name.empty() && name != "." && name != ".." &&
           name.find_first_of(std::string_view("/\0", 2)) == std::string::npos;
}

Error name_error(const std::string& name)
{
    return make_error(ErrorKind::failure, "invalid spool file name '" + name + "'");
}

Error errno_error(ErrorKind kind, const std::string& what, int err)
{
    return make_error(kind, what + ": " + std::strerror(err));
}

Status make_dir(const fs::path& dir)
{
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return errno_error(ErrorKind::io, "cannot create " + dir.string(), errno);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return make_error(ErrorKind::io, dir.string() + " is not a directory");
    return {};
}

Status fsync_dir(const fs::path& dir)
{
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0)
        return errno_error(ErrorKind::io, "cannot sync " + dir.string(), errno);
    return {};
}

std::string owner_name(uid_t uid)
{
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    struct passwd pw {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_name;
    return std::to_string(uid);
}

Error too_big(std::uint64_t size, std::uint64_t max_size)
{
    return make_error(ErrorKind::bad_message, "message is " + std::to_string(size) +
                                                  " bytes, over the limit of " + std::to_string(max_size));
}

// Reads at most max_size bytes; a file that grew past the limit since fstat
// is refused the same way as one that was too big from the start.
Result<std::string> read_bounded(int fd, std::uint64_t expected, std::uint64_t max_size)
{
    std::string data;
    data.reserve(static_cast<std::size_t>(expected));
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(ErrorKind::io, "cannot read", errno);
        if (n == 0) return data;
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_size) return too_big(data.size(), max_size);
    }
}

Result<int> open_incoming(const fs::path& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) return fd;
    int err = errno;
    if (err == ENOENT) return make_error(ErrorKind::not_found, path.string() + " vanished");
    if (err == ELOOP) return make_error(ErrorKind::bad_message, "is a symbolic link");
    if (err == EACCES || err == EPERM || err == ENXIO)
        return errno_error(ErrorKind::bad_message, "cannot open", err);
    return errno_error(ErrorKind::io, "cannot open " + path.string(), err);
}

Status check_file(const struct stat& st, std::uint64_t max_size)
{
    if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::bad_message, "not a regular file");
    if (st.st_nlink > 1)
        return make_error(ErrorKind::bad_message,
                          "has " + std::to_string(st.st_nlink) + " hard links, a spool file must have one");
    if (static_cast<std::uint64_t>(st.st_size) > max_size)
        return too_big(static_cast<std::uint64_t>(st.st_size), max_size);
    return {};
}

std::string spool_key(const std::string& name, const struct stat& st)
{
    auto mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    return name + ":" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(mtime_ns);
}

// The envelope and the queued text from the file's bytes.
Result<NewMessage> message_from(const std::string& raw, const std::string& hostname)
{
    std::string text = normalize_crlf(raw);
    auto headers = parse_headers(text);
    if (!headers) return headers.error();
    auto envelope = envelope_from_headers(*headers, hostname);
    if (!envelope) return envelope.error();
    if (envelope->recipients.size() > max_recipients)
        return make_error(ErrorKind::bad_message, std::to_string(envelope->recipients.size()) +
                                                      " recipients; at most " +
                                                      std::to_string(max_recipients));
    NewMessage m;
    m.sender = std::move(envelope->sender);
    m.recipients = std::move(envelope->recipients);
    m.data = std::move(text);  // prepared once, by the daemon's Intake
    m.remove_bcc = true;
    m.door = "spool";
    return m;
}

std::string error_file_text(const std::string& reason) { return one_line(reason) + "\n"; }

bool ends_with(const std::string& s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool exists_nofollow(const fs::path& p)
{
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

Status write_reason(const fs::path& path, const std::string& reason)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd.get() < 0) return errno_error(ErrorKind::io, "cannot create " + path.string(), errno);
    std::string line = error_file_text(reason);
    if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
        ::fsync(fd.get()) != 0)
        return errno_error(ErrorKind::io, "cannot write " + path.string(), errno);
    return {};
}

}  // namespace

Result<SpoolDir> SpoolDir::open(const fs::path& root)
{
    std::error_code ec;
    if (root.has_parent_path()) fs::create_directories(root.parent_path(), ec);
    for (const fs::path& dir : {root, root / "tmp", root / "incoming", root / "bad"})
        if (auto s = make_dir(dir); !s) return s.error();
    return SpoolDir(root);
}

std::vector<std::string> SpoolDir::scan() const
{
    std::vector<std::pair<long long, std::string>> found;
    DIR* dir = ::opendir(incoming().c_str());
    if (!dir) return {};
    while (const dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name.empty() || name.front() == '.') continue;
        struct stat st {};
        // Links and other odd entries are listed too, so read() refuses them
        // and they are quarantined instead of lingering unseen.
        if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
            continue;
        long long mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
        found.emplace_back(mtime_ns, std::move(name));
    }
    ::closedir(dir);
    std::sort(found.begin(), found.end());
    std::vector<std::string> names;
    for (auto& f : found) names.push_back(std::move(f.second));
    return names;
}

Result<NewMessage> SpoolDir::read(const std::string& name, std::uint64_t max_size,
                                  const std::string& hostname) const
{
    if (!valid_name(name)) return name_error(name);
    auto fd_result = open_incoming(incoming() / name);
    if (!fd_result) return fd_result.error();
    UniqueFd fd(*fd_result);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error(ErrorKind::io, "cannot stat " + name, errno);
    if (auto s = check_file(st, max_size); !s) return s.error();
    auto raw = read_bounded(fd.get(), static_cast<std::uint64_t>(st.st_size), max_size);
    if (!raw) return raw.error();

    auto message = message_from(*raw, hostname);
    if (!message) return message.error();
    message->submitter = owner_name(st.st_uid);
    if (message->sender.empty() && !hostname.empty())
        message->sender = message->submitter + "@" + hostname;  // no From: or Sender:
    message->spool_key = spool_key(name, st);
    return message;
}

Status SpoolDir::remove(const std::string& name) const
{
    if (!valid_name(name)) return name_error(name);
    fs::path path = incoming() / name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return errno_error(ErrorKind::io, "cannot remove " + path.string(), errno);
    return {};
}

Status SpoolDir::quarantine(const std::string& name, const std::string& reason) const
{
    if (!valid_name(name)) return name_error(name);
    fs::path from = incoming() / name;
    fs::path bad = root_ / "bad";
    // bad/T and bad/T.reason must both be free, and T must not itself look
    // like a reason file.
    for (int n = 0; n < 1000; ++n) {
        std::string target = n == 0 ? name : name + "." + std::to_string(n);
        if (ends_with(target, ".reason") || exists_nofollow(bad / (target + ".reason"))) continue;
        if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, (bad / target).c_str(), RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST) continue;
            if (errno == ENOENT) return make_error(ErrorKind::not_found, from.string() + " vanished");
            return errno_error(ErrorKind::io, "cannot move " + from.string() + " to bad/", errno);
        }
        if (auto s = write_reason(bad / (target + ".reason"), reason); !s) return s;
        if (auto s = fsync_dir(bad); !s) return s;
        return fsync_dir(incoming());
    }
    return make_error(ErrorKind::io, "no free name in bad/ for " + name);
}

}  // namespace mailqd
